// Interaction: one event resolved to dense indices, the unit the learners
// consume. String ids are resolved by IdMap before an event reaches here.
#pragma once

#include <cstdint>

namespace streamrec::engine {

// Index of an event type in the EventTypes registry (see event_types.h).
using EventTypeId = uint16_t;

struct Interaction {
  uint32_t user = 0;
  uint32_t item = 0;
  EventTypeId type = 0;
  float value = 0.0f;  // the rating for explicit types; ignored otherwise
  int64_t ts_ms = 0;   // event time, milliseconds since the Unix epoch
};

}  // namespace streamrec::engine
