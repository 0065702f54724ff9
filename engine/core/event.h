// The two shapes of one event inside the engine:
//   Event         as the application names it: string user and item ids
//                 (views into the caller's storage), what the Recommender's
//                 Apply takes;
//   IndexedEvent  the same event resolved to dense row indices by IdMap,
//                 the unit the per-event learners consume.
// storage/ keeps its own owning record (storage::StoredEvent, with the
// event id and log sequence) and hands the engine an Event view of it.
//
// Thread-safety: value types.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace streamrec::engine {

// Index of an event type in the EventTypes registry (see event_types.h).
using EventTypeId = uint16_t;

// An event as the application names it.
struct Event {
  std::string_view user;
  std::string_view item;
  EventTypeId type = 0;
  float value = 0.0f;  // the rating for explicit types; ignored otherwise
  int64_t ts_ms = 0;   // event time, milliseconds since the Unix epoch
};

// An event resolved to dense indices.
struct IndexedEvent {
  uint32_t user = 0;
  uint32_t item = 0;
  EventTypeId type = 0;
  float value = 0.0f;  // the rating for explicit types; ignored otherwise
  int64_t ts_ms = 0;   // event time, milliseconds since the Unix epoch
};

// Now on the wall clock, in the unit of ts_ms: milliseconds since the Unix
// epoch (what an event without a time gets, and what "recent" is judged
// against).
inline int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace streamrec::engine
