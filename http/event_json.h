// Request bodies to engine values: strict JSON parsing with a depth limit,
// the events of POST /v1/events (one object, an array of them, or NDJSON),
// and RFC 3339 timestamps.
//
// An event object: {"event_id": "optional", "user": "u1", "item": "i9",
// "type": "view", "value": 4.5, "ts": 1700000000000 or "2023-11-14T22:13:20Z"}.
// user, item and type are required strings; value a number (ratings); ts
// integer epoch milliseconds or an RFC 3339 string (default: now). null
// counts as absent for the optional fields. Unknown fields and wrong JSON
// types are refused naming the field and the event (the 1-based line, for
// NDJSON); a client ts outside the bounds of EventParseOptions is refused
// naming the bound. The engine's own rules (ids, known type, rating range) are left
// to LiveStore::Validate.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
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
  // The arrival time: the ts of events that carry none (ts_assigned), and
  // what the bounds below measure a client's ts against.
  int64_t now_ms = 0;
  // A client ts later than now_ms + this is refused (a clock that is off, or
  // a made-up time: one far-future event would outweigh every real one in
  // the time-decayed popularity, for good). < 0: no bound.
  int64_t max_future_skew_ms = 300'000;
  // A client ts earlier than now_ms - this is refused; 0: no bound. A ts
  // before the Unix epoch (negative) is always refused.
  int64_t max_past_age_ms = 0;
  // Longest user and item id, bytes ([limits] max_id_length; the engine's
  // own bound, 256, applies as well).
  size_t max_id_length = 256;
};

// The body's events, in order. InvalidArgument for anything malformed or an
// empty batch; ResourceExhausted (HTTP 413, not 429) for more than
// max_events. `lines` (optional) gets each event's 1-based line for NDJSON,
// nothing for JSON.
StatusOr<std::vector<storage::StoredEvent>> ParseEvents(std::string_view body, EventFormat format,
                                                        const EventParseOptions& options,
                                                        std::vector<size_t>* lines = nullptr);

// A store's message about a batch names events by index ("event 3: ...");
// for NDJSON (`lines` from ParseEvents, non-empty) it becomes "line 5: ...".
// Other messages are returned as they are.
std::string NameLines(std::string_view message, std::span<const size_t> lines);

// "2023-11-14T22:13:20Z", "2023-11-14t22:13:20.123+01:00", "... 22:13:20Z"
// to milliseconds since the Unix epoch (fractions beyond ms truncated).
// nullopt if malformed or out of range.
std::optional<int64_t> ParseRfc3339Ms(std::string_view s);
// A time as clients send it (an event's ts, an item's created): integer
// epoch milliseconds or an RFC 3339 string, into *ms. InvalidArgument
// naming `field`, after `context` ("event 3: " or ""), otherwise.
Status ParseTimeField(const boost::json::value& v, std::string_view context, std::string_view field,
                      int64_t* ms);
// The inverse for years 0001-9999: "2023-11-14T22:13:20.000Z"; outside
// them, the number of milliseconds.
std::string FormatTimeMs(int64_t ms);

// "object", "array", "string", "number", "bool", "null".
std::string_view JsonKindName(const boost::json::value& v);

}  // namespace streamrec::http
