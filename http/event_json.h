// Request bodies to engine values: strict JSON parsing with a depth limit,
// the events of POST /v1/events (one object, an array of them, or NDJSON),
// and RFC 3339 timestamps.
//
// An event object: {"event_id": "optional", "user": "u1", "item": "i9",
// "type": "view", "value": 4.5, "ts": 1700000000000 or "2023-11-14T22:13:20Z"}.
// user, item and type are required strings; value a number (ratings); ts
// integer epoch milliseconds or an RFC 3339 string (default: now). null
// counts as absent for the optional fields. Unknown fields and wrong JSON
// types are refused naming the field and the event (and the line, for
// NDJSON); the engine's own rules (ids, known type, rating range) are left
// to LiveStore::Validate.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/status.h"
#include "storage/event_log.h"

namespace streamrec::http {

// Parses one complete JSON text. InvalidArgument naming the problem (and
// the byte offset of a syntax error), or nesting deeper than max_depth.
StatusOr<boost::json::value> ParseJson(std::string_view text, int max_depth);

enum class EventFormat { kJson, kNdjson };

// application/json -> kJson, application/x-ndjson -> kNdjson (parameters
// such as charset ignored, case-insensitive); nullopt otherwise.
std::optional<EventFormat> EventFormatFor(std::string_view content_type);

struct EventParseOptions {
  size_t max_events = 10000;
  int max_json_depth = 16;
  int64_t now_ms = 0;  // ts of events that carry none
};

// The body's events, in order. InvalidArgument for anything malformed or an
// empty batch; ResourceExhausted (HTTP 413, not 429) for more than
// max_events.
StatusOr<std::vector<storage::NewEvent>> ParseEvents(std::string_view body, EventFormat format,
                                                     const EventParseOptions& options);

// "2023-11-14T22:13:20Z", "2023-11-14t22:13:20.123+01:00", "... 22:13:20Z"
// to milliseconds since the Unix epoch (fractions beyond ms truncated).
// nullopt if malformed or out of range.
std::optional<int64_t> ParseRfc3339Ms(std::string_view s);

// "object", "array", "string", "number", "bool", "null".
std::string_view JsonKindName(const boost::json::value& v);

}  // namespace streamrec::http
