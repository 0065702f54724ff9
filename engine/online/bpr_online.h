// The live model's per-event update under the BPR objective: each event
// (u, i) takes `negatives` steps (u, i, j) of engine/model/bpr_step.h with
// j drawn from the items u has not interacted with. λ and λ_b are the batch
// trainer's, so online steps and retrains agree on the objective. The
// Recommender (engine/live/recommender.h) runs the steps.
//
// Thread-safety: a value type.
#pragma once

#include <cstdint>

#include "engine/core/status.h"
#include "engine/model/bpr_step.h"

namespace streamrec::engine {

struct BprOnlineOptions {
  float learning_rate = 0.05f;
  float regularization = kBprRegularization;
  float bias_regularization = kBprBiasRegularization;
  // Steps (negatives drawn) per event. Prequential HR@10 on ml-100k in
  // time order (rank 64) by learning rate / negatives: 0.05/4 0.125,
  // 0.1/8 0.136, 0.05/16 0.139, 0.05/32 0.144, 0.03/64 0.148 (popularity
  // 0.078); the cost grows with the count (one O(k) step each).
  uint32_t negatives = 16;
  // Seed of the negative draws (mixed with the event's position, so replay
  // is deterministic without sampler state).
  uint64_t seed = 13;

  Status Validate() const;
};

}  // namespace streamrec::engine
