// OnlineLearner: applies interactions one at a time, in log order, to an
// MFModel (one SGD step each) and keeps the global mean as a running mean of
// the targets. New users and items grow the model on first sight.
//
// Deterministic: the same interactions in the same order from the same model
// give a bit-identical model.
//
// Thread-safety: not synchronised; the single writer thread owns it.
#pragma once

#include <cstdint>
#include <optional>

#include "engine/event.h"
#include "engine/event_types.h"
#include "engine/mf_model.h"
#include "engine/sgd_step.h"

namespace streamrec::engine {

struct LearnerOptions {
  // Online steps are smaller than a batch epoch's first steps: each event is
  // seen once, but a large rate makes the newest event dominate a user.
  SgdParams sgd{.learning_rate = 0.01f,
                .regularization = 0.05f,
                .bias_learning_rate = 0.01f,
                .bias_regularization = 0.01f};
};

class OnlineLearner {
 public:
  // `model` and `types` must outlive the learner.
  OnlineLearner(MFModel* model, const EventTypes* types, const LearnerOptions& options);

  // Grows the model for x.user/x.item if needed and takes one step. Returns
  // the error before the step, or nullopt if x's type does not train the
  // rating model (the caller still records it as seen/popular).
  std::optional<float> Apply(const Interaction& x);

  // Number of targets folded into the running global mean; part of the
  // learner's state (snapshots store it).
  uint64_t mean_count() const { return mean_count_; }
  void set_mean_count(uint64_t n) { mean_count_ = n; }

  const LearnerOptions& options() const { return options_; }

 private:
  MFModel* model_;
  const EventTypes* types_;
  LearnerOptions options_;
  uint64_t mean_count_ = 0;
};

}  // namespace streamrec::engine
