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

#include "engine/core/event.h"
#include "engine/core/event_types.h"
#include "engine/core/status.h"
#include "engine/model/mf_model.h"
#include "engine/model/sgd_step.h"

namespace streamrec::engine {

struct LearnerOptions {
  // Online steps are smaller than a batch epoch's first steps: each event is
  // seen once, but a large rate makes the newest event dominate a user.
  SgdParams sgd{.learning_rate = 0.01f,
                .regularization = 0.05f,
                .bias_learning_rate = 0.01f,
                .bias_regularization = 0.01f};
  // A user with at most this many rating-model events is "young": queries
  // score them with p_u and b_u solved exactly (ridge least squares against
  // the current item vectors, one ALS half-step over their events) rather
  // than the SGD-stepped vector. SGD from a random start needs dozens of
  // events per user to move; the solve personalises from the first few,
  // when freshness matters most. The solve runs at query time (O(n k^2 +
  // k^3), ~30 us at k=64), so the write path keeps SGD speed; when a user
  // outgrows it the solution is written into the model once and the
  // history freed. 0 disables it.
  uint32_t fold_in_max_events = 32;
  // Ridge strength of the fold-in per unit of event weight (ALS-WR style).
  float fold_in_regularization = 0.12f;
  float fold_in_bias_regularization = 1.0f;
};

class OnlineLearner {
 public:
  // One event of a young user, as the fold-in solves over it.
  struct HistoryEntry {
    uint32_t item;
    float target;
    float weight;
  };

  // `model` and `types` must outlive the learner.
  OnlineLearner(MFModel* model, const EventTypes* types, const LearnerOptions& options);

  // Grows the model for x.user/x.item if needed and takes one step. Returns
  // the error before the step, or nullopt if x's type does not train the
  // rating model (the caller still records it as seen/popular).
  std::optional<float> Apply(const IndexedEvent& x);
  // The step itself, for a resolved target and weight (u and i must exist).
  float ApplyExample(uint32_t u, uint32_t i, float target, float weight);

  // For a young user (see fold_in_max_events): the exact solution of their
  // vector (p: size rank()) and bias. False for other users (use the model).
  bool FoldIn(uint32_t u, float* p, float* bias) const;
  // r̂(u, i) as queries see it: with the fold-in for young users.
  float Predict(uint32_t u, uint32_t i) const;
  // Writes every young user's fold-in into the model (before a batch
  // evaluation or a snapshot of the plain model).
  void MaterializeFoldIns();

  // Drops user u's per-user state (event count, fold-in history); the
  // caller resets the model row.
  void ForgetUser(uint32_t u);
  // Takes `count` targets summing to `sum` (a forgotten user's rating-model
  // events) out of the running global mean: the mean of the others, up to
  // rounding.
  void RemoveFromMean(uint64_t count, double sum);

  // Number of targets folded into the running global mean; part of the
  // learner's state (snapshots store it).
  uint64_t mean_count() const { return mean_count_; }
  void set_mean_count(uint64_t n) { mean_count_ = n; }
  const LearnerOptions& options() const { return options_; }
  // Rating-model events seen per user (snapshots store it with the young
  // users' histories).
  uint32_t user_event_count(uint32_t u) const {
    return u < user_events_.size() ? user_events_[u] : 0;
  }
  // The rest of the snapshot state, indexed by user (equal lengths): event
  // counts and young users' histories (empty once a user graduates).
  const std::vector<uint32_t>& user_event_counts() const { return user_events_; }
  const std::vector<std::vector<HistoryEntry>>& young_histories() const { return young_history_; }
  // Replaces that state. InvalidArgument, leaving the learner unchanged, if
  // the lengths differ or a history does not match its count under this
  // learner's fold_in_max_events (every event while young, none after):
  // otherwise a user could stay young forever or graduate from a partial
  // history. Item indices are the caller's to check against the model.
  Status Restore(uint64_t mean_count, std::vector<uint32_t> user_events,
                 std::vector<std::vector<HistoryEntry>> young_history);

 private:
  MFModel* model_;
  const EventTypes* types_;
  LearnerOptions options_;
  uint64_t mean_count_ = 0;
  std::vector<uint32_t> user_events_;
  // Events of users still within fold_in_max_events; emptied after.
  std::vector<std::vector<HistoryEntry>> young_history_;
};

}  // namespace streamrec::engine
