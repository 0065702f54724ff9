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
#include <vector>

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
  // A user with at most this many rating-model events has p_u and b_u
  // re-solved exactly on each event (ridge least squares against the
  // current item vectors, as one ALS half-step) instead of one SGD step.
  // SGD from a random start needs dozens of events per user to move; the
  // solve personalises from the first few, which is when freshness matters
  // most. Cost O(n k^2 + k^3) per event, so it stops after this many and
  // the user's history is freed. 0 disables it.
  uint32_t fold_in_max_events = 32;
  // Ridge strength of the fold-in per unit of event weight (ALS-WR style).
  float fold_in_regularization = 0.12f;
  float fold_in_bias_regularization = 1.0f;
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

  // Rating-model events seen per user (drives the fold-in; snapshots store
  // it together with the young users' histories).
  uint32_t user_event_count(uint32_t u) const {
    return u < user_events_.size() ? user_events_[u] : 0;
  }

 private:
  struct HistoryEntry {
    uint32_t item;
    float target;
    float weight;
  };
  void FoldInUser(uint32_t u);

  MFModel* model_;
  const EventTypes* types_;
  LearnerOptions options_;
  uint64_t mean_count_ = 0;
  std::vector<uint32_t> user_events_;
  // Events of users still within fold_in_max_events; emptied after.
  std::vector<std::vector<HistoryEntry>> young_history_;
};

}  // namespace streamrec::engine
