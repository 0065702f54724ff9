// Helpers shared by the line-oriented text readers in tools/ (the event file
// and the rating importers): escaping offending bytes for messages,
// "file:line: ..." errors, id checks, line-end stripping and opening an
// input file with a precise error. Private to tools/ (tools_text).
//
// Thread-safety: free functions; no shared state.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <fstream>
#include <string>
#include <string_view>
#include <utility>

#include "engine/core/status.h"

namespace streamrec::tools::text {

// Longest user or item id, in bytes, any file format accepts.
inline constexpr size_t kMaxIdBytes = 256;

// Offending bytes are echoed into messages that end up on terminals, so
// escape anything that is not printable ASCII and cap the length.
std::string Shown(std::string_view s);

// An InvalidArgument "<name>:<line>: <formatted message>".
template <typename... Args>
Status LineError(const std::string& name, size_t line, fmt::format_string<Args...> f,
                 Args&&... args) {
  return Status::InvalidArgument(
      fmt::format("{}:{}: {}", name, line, fmt::format(f, std::forward<Args>(args)...)));
}

// Returns what is wrong with a user/item id or type name `s` (described as
// `what` in the message), or "" if it is acceptable: non-empty, at most
// `max_bytes` long, no control characters. Readers and the writer share it
// so that every file we write or import can be read back.
std::string FieldProblem(std::string_view what, std::string_view s, size_t max_bytes);

// `line` without one trailing '\r' (files written on Windows).
std::string_view StripCr(std::string_view line);

// Opens `path` for binary reading into `in`. NotFound if it does not exist,
// IOError if it is a directory ("'p' is a directory, not a <kind>") or
// cannot be opened.
Status OpenInput(const std::string& path, std::string_view kind, std::ifstream* in);

}  // namespace streamrec::tools::text
