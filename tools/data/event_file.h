// The streamrec event file: the project's own interchange format for event
// streams (what `streamrec import` writes and `eval`/`bench`/`replay` read).
//
// Text, one event per line, UTF-8, tab-separated, '\n' line ends:
//
//   #streamrec-events v1
//   <ts_ms>\t<user>\t<item>\t<type>\t<value>
//
// - The first line is the exact header above (the version lets the format
//   change without misreading old files).
// - ts_ms: event time, integer milliseconds since the Unix epoch (may be
//   negative, must fit int64).
// - user, item: the application's ids, 1..256 bytes, no tab, CR, LF or other
//   control characters.
// - type: an event type name (view, click, cart, purchase, rating, or one
//   configured); not checked against a registry here.
// - value: a decimal number (the rating for rating events; 0 otherwise).
// - Other lines starting with '#' are comments; empty lines are not allowed.
//
// Thread-safety: free functions; no shared state.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace streamrec::tools {

inline constexpr const char* kEventFileHeader = "#streamrec-events v1";

struct EventRecord {
  int64_t ts_ms = 0;
  std::string user;
  std::string item;
  std::string type;
  float value = 0.0f;
  bool operator==(const EventRecord&) const = default;
};

// Writes the header and the records. IOError if the stream fails.
Status WriteEventFile(const std::vector<EventRecord>& events, std::ostream& out);
Status WriteEventFile(const std::vector<EventRecord>& events, const std::string& path);

// Reads a whole event file. A malformed line is an InvalidArgument naming
// `name` (the path, for messages) and the 1-based line number.
StatusOr<std::vector<EventRecord>> ReadEventFile(std::istream& in, const std::string& name);
StatusOr<std::vector<EventRecord>> ReadEventFile(const std::string& path);

}  // namespace streamrec::tools
