// Offline evaluation of a model on a train/test split: fit on train, then
// rating error on test (rating models only) and full-catalog top-K ranking
// quality with each user's training items excluded. Pure computation over
// dense indices; the tools map files and ids to an EvalSplit.
//
// Thread-safety: EvaluateSplit owns everything it builds; call it from any
// thread.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "engine/batch_trainer.h"
#include "engine/bpmf_trainer.h"
#include "engine/bpr_trainer.h"
#include "engine/event_types.h"
#include "engine/ials_trainer.h"
#include "engine/metrics.h"
#include "engine/mf_model.h"
#include "engine/online_learner.h"
#include "engine/status.h"

namespace streamrec::engine {

struct EvalSplit {
  // Training examples, in the order the online learner should see them
  // (time order for a log).
  std::vector<TrainingExample> train;
  // Held-out examples. Users/items never seen in train have indices >=
  // num_users / num_items: they are predicted from what is known (μ and
  // any known bias) and count as relevant-but-unrecommendable in ranking.
  std::vector<TrainingExample> test;
  uint32_t num_users = 0;  // users in train
  uint32_t num_items = 0;  // items in train: the catalog that is ranked
};

// Rating models (sgd, als, online, bpmf) fit r̂ = μ + b_u + b_i + p·q to
// the targets; implicit models (ials, bpr) fit interaction vs none and only
// rank; popular (training interactions per item) and random (a seeded
// random vector per user and item, so each user gets their own random
// order) are the baselines every model must beat.
enum class Algorithm { kSgd, kAls, kOnline, kBpmf, kIals, kBpr, kPopular, kRandom };
std::string_view AlgorithmName(Algorithm a);
StatusOr<Algorithm> ParseAlgorithm(std::string_view name);
// Every algorithm, in declaration order.
std::span<const Algorithm> AllAlgorithms();
// False for models whose scores are not ratings: RMSE/MAE mean nothing there.
bool PredictsRatings(Algorithm a);
// True for ials and bpr: they learn from every interaction (ImplicitTarget),
// not only from events with a rating or implied rating.
bool LearnsFromInteractions(Algorithm a);

struct EvalOptions {
  Algorithm algorithm = Algorithm::kAls;
  ModelOptions model;
  SgdTrainOptions sgd;
  AlsTrainOptions als;
  BpmfTrainOptions bpmf;
  IalsTrainOptions ials;
  BprTrainOptions bpr;
  // The online learner sees the training stream this many times, in order
  // (1 = what a live server would have learned).
  int online_passes = 1;
  LearnerOptions online;
  // Predictions are clipped to the training targets' [min, max]: a rating
  // can never be outside the scale, so clipping only removes error.
  bool clip_predictions = true;
  // Ranking list length K.
  size_t k = 10;
  // A test item is relevant for ranking if its target >= this (0: every
  // held-out interaction counts, as in the usual full-catalog protocol).
  float relevance_threshold = 0.0f;
};

struct EvalResult {
  // Meaningful only where has_rating_metrics (rating models); count 0 else.
  RatingMetrics rating;
  bool has_rating_metrics = true;
  RankingMetrics ranking;
  // One per epoch/iteration/pass: the training RMSE for rating models; for
  // ials and bpr their objective (see epoch_metric); empty for baselines.
  std::vector<double> epoch_train_rmse;
  // What epoch_train_rmse holds, for labels: "train RMSE", "iALS objective
  // per observed cell" or "BPR loss".
  std::string_view epoch_metric = "train RMSE";
  double train_seconds = 0.0;
  double eval_seconds = 0.0;
};

// progress(done, total) is called during training and ranking (may be null).
using ProgressFn = std::function<void(size_t done, size_t total)>;

StatusOr<EvalResult> EvaluateSplit(const EvalSplit& split, const EvalOptions& options,
                                   const ProgressFn& progress = nullptr);

// Full-catalog top-K ranking quality of `model` on split.test, each user's
// split.train items excluded, relevance as options.relevance_threshold
// says: the ranking half of EvaluateSplit, for a model trained elsewhere
// (e.g. updated online). The model must cover split.num_users/num_items.
RankingMetrics EvaluateRanking(const EvalSplit& split, const MFModel& model,
                               const EvalOptions& options);

// The target of the TrainingExample an event of `type` gives
// options.algorithm: for ials and bpr every event's ImplicitTarget (under
// that algorithm's signal), for the others the rating or implied rating
// (nullopt for a type with neither: the event does not train them).
std::optional<float> TrainingTarget(const EventTypes& types, EventTypeId type, float value,
                                    const EvalOptions& options);

// Trains a model on `train` with the configured algorithm (exposed for the
// tools' demo and retrain paths). epoch_rmse (optional) collects the
// per-epoch training RMSE (the objective for ials and bpr). Implicit models
// come back with zero user biases and global mean, so their Predict() is a
// ranking score, not a rating.
StatusOr<MFModel> TrainModel(const EvalSplit& split, const EvalOptions& options,
                             std::vector<double>* epoch_rmse, const ProgressFn& progress = nullptr);

}  // namespace streamrec::engine
