// Prequential ("test, then train") ranking evaluation over an event log:
// for each event in log order, every method is first asked for the user's
// top-K (full catalog, the user's seen items excluded) and scores a hit if
// the event's item is in it; only then does each method learn the event.
// This is what users would have seen in production, event by event.
//
// Methods, all on the same stream:
//   online      a Recommender applying events one by one, as configured (rating
//               objective: SGD steps and fold-in of young users; implicit:
//               eALS-style updates), popular items for cold users: the live
//               model.
//   retrained   the same model trained in batch (TrainModel over every event
//               so far) every `retrain_every` events and frozen in between;
//               users it was not trained on (or with fewer than the cold-start
//               minimum of events then) get popular items, and items newer
//               than the last retrain cannot be recommended. A nightly batch
//               job with a live trending fallback.
//   online+retrain  optional: the online model with the batch model installed
//               every `retrain_every` events (Recommender::InstallModel), what
//               `serve` does with a background retrain.
//   popularity  time-decayed popularity (the online Recommender's counts).
//   random      K distinct unseen items drawn uniformly (seeded).
//
// Which events are scored: only events whose item was seen before in the
// stream (no method can recommend an item it has never heard of; the others
// count as cold-item events). With skip_repeats (the default), events whose
// item the user already has are skipped too: seen items are excluded from
// every list, so they could only be misses (count_repeats scores them as
// such). New users are scored: they get the cold-start answer. With
// sample_every = n only every n-th eligible event is scored (all events are
// still learned); it makes a full-catalog scan per event affordable.
//
// Metrics (one target per scored event, rank r 1-based, 0 if not in top-K):
//   HR@K = mean [r > 0]   NDCG@K = mean 1/log2(r+1)   MRR@K = mean 1/r
//
// Thread-safety: not synchronised; one thread drives an evaluator. Pure
// computation, no I/O.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/event_types.h"
#include "engine/core/random.h"
#include "engine/core/status.h"
#include "engine/eval/evaluation.h"
#include "engine/eval/metrics.h"
#include "engine/live/recommender.h"

namespace streamrec::engine {

// kRetrained answers users the last batch did not model (new since, or
// with fewer than cold_start_min_items then) with popular items;
// kRetrainedFoldIn folds them in against the frozen batch item vectors
// from their events so far, as the server does for a session (FoldInRow).
enum class PrequentialMethod {
  kOnline,
  kRetrained,
  kOnlineRetrained,
  kPopularity,
  kRandom,
  kRetrainedFoldIn
};
std::string_view PrequentialMethodName(PrequentialMethod m);
// "online", "retrained", "online+retrain", "popularity", "random",
// "retrained+fold-in".
StatusOr<PrequentialMethod> ParsePrequentialMethod(std::string_view name);

struct PrequentialOptions {
  // List length judged.
  size_t k = 10;
  // Methods compared, in report order. The retrained ones need
  // retrain_every > 0.
  std::vector<PrequentialMethod> methods = {
      PrequentialMethod::kOnline, PrequentialMethod::kRetrained, PrequentialMethod::kPopularity,
      PrequentialMethod::kRandom};
  // Batch retrain after every this many events (0: never). Small: fresher
  // batch models but each retrain costs a full TrainModel over the history.
  uint64_t retrain_every = 10000;
  // Batch training for the retrained methods (algorithm, iterations...).
  // Its `model` is replaced by the recommender's so ranks match.
  EvalOptions retrain;
  // Score every n-th eligible event (1: all). Larger is faster and noisier;
  // learning still sees every event.
  uint32_t sample_every = 1;
  // Events of the log per point of the over-time series (0: no series).
  uint64_t window = 5000;
  // Skip (true) or score as misses (false) events whose item the user has
  // already interacted with.
  bool skip_repeats = true;
  // Seed of the random baseline.
  uint64_t seed = 1;
  // Re-ranking of the online methods' lists (diversity, caps: RankRules),
  // to measure what it costs in hits and gains in coverage.
  RankRules online_rules;
};

struct PrequentialMethodResult {
  PrequentialMethod method = PrequentialMethod::kOnline;
  std::string name;
  uint64_t scored = 0;  // events judged
  double hit_rate = 0.0;
  double ndcg = 0.0;
  double mrr = 0.0;
  // Scored events this method answered with popular items (cold-start
  // users, users the batch model was not trained on; all for popularity).
  uint64_t popular_answers = 0;
  // Per window of `window` log events: HR@K of the events scored in it
  // (NaN where none was). Same length as PrequentialResult::window_end.
  std::vector<double> hr_by_window;
  double seconds = 0.0;  // time spent ranking for this method
  // Share of the items known at the end that were in at least one of the
  // method's scored lists; NaN for methods that rank without listing
  // (retrained, popularity, random).
  double coverage = 0.0;
};

struct PrequentialResult {
  size_t k = 0;
  uint64_t events = 0;      // events observed (all learned)
  uint64_t eligible = 0;    // known item, not a skipped repeat
  uint64_t scored = 0;      // eligible and sampled
  uint64_t cold_items = 0;  // item never seen before: not scored
  uint64_t repeats = 0;     // user already had the item (skipped or scored)
  uint64_t cold_users = 0;  // scored events of users never seen before
  uint64_t retrains = 0;
  double retrain_seconds = 0.0;
  // Rating error of the online model (rating objective only), predicting
  // each explicit rating before learning it (clamped to the type's range).
  RatingMetrics rating;
  // Log position (events observed) at the end of each window.
  std::vector<uint64_t> window_end;
  std::vector<PrequentialMethodResult> methods;
};

class PrequentialEvaluator {
 public:
  // Fails on a method that needs retraining when retrain_every is 0, k = 0
  // or sample_every = 0.
  static StatusOr<std::unique_ptr<PrequentialEvaluator>> Create(
      const RecommenderOptions& recommender, EventTypes types, const PrequentialOptions& options);
  ~PrequentialEvaluator();
  PrequentialEvaluator(const PrequentialEvaluator&) = delete;
  PrequentialEvaluator& operator=(const PrequentialEvaluator&) = delete;

  // Scores e with every method, then learns it. An event the recommender
  // rejects (Validate) changes nothing and returns its Status.
  Status Observe(const Event& e);
  // The results so far (a partial last window included).
  PrequentialResult Result() const;

  // The online model (ids, seen items, popularity), for callers that want
  // to inspect it after the replay.
  const Recommender& online() const { return *online_; }

 private:
  struct Accumulator;
  PrequentialEvaluator(const RecommenderOptions& recommender, EventTypes types,
                       const PrequentialOptions& options);

  // Rank (1-based) of `item` in the method's top-K for `user` (nullopt:
  // unknown user), 0 if absent. *popular: the answer was popular items.
  size_t RankOf(PrequentialMethod m, const Event& e, std::optional<uint32_t> user, uint32_t item,
                bool* popular);
  size_t RankRetrained(std::optional<uint32_t> user, uint32_t item, bool fold_in,
                       bool* popular) const;
  size_t RankPopular(std::optional<uint32_t> user, uint32_t item) const;
  size_t RankRandom(std::optional<uint32_t> user, uint32_t item);
  Status Retrain();
  void CloseWindow();

  PrequentialOptions options_;
  std::unique_ptr<Recommender> online_;
  std::unique_ptr<Recommender> hybrid_;     // online+retrain, if requested
  std::optional<MFModel> batch_;            // the frozen retrained model
  std::vector<uint32_t> batch_user_items_;  // per user: distinct items at the retrain
  std::vector<TrainingExample> history_;    // every training example so far
  // kRetrainedFoldIn: each user's events (by online_ user index) and the
  // batch model's item Gramian QᵀQ (kImplicit).
  struct UserEvent {
    uint32_t item;
    EventTypeId type;
    float value;
  };
  bool keeps_user_events_ = false;
  std::vector<std::vector<UserEvent>> user_events_;
  Eigen::MatrixXf batch_gramian_;
  bool needs_batch_ = false;
  SplitMix64 rng_;
  std::vector<uint32_t> scratch_;
  RatingAccumulator rating_;
  std::vector<Accumulator> acc_;  // one per options_.methods
  // Per method (by enum value): whether each item was in one of its lists.
  std::map<PrequentialMethod, std::vector<uint8_t>> shown_;
  PrequentialResult counts_;  // the counters; methods filled by Result()
};

}  // namespace streamrec::engine
