// TrainingExample: one (user, item) observation in dense indices, the unit
// every batch trainer, the implicit-signal builder and the evaluation split
// consume.
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>

namespace streamrec::engine {

// One training example: the rating target and its weight (event-type
// confidence; 1 for plain ratings).
struct TrainingExample {
  uint32_t user = 0;
  uint32_t item = 0;
  float target = 0.0f;
  float weight = 1.0f;
};

}  // namespace streamrec::engine
