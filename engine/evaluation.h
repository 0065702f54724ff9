// Offline evaluation of a rating model on a train/test split: fit on train,
// then rating error on test and full-catalog top-K ranking quality with each
// user's training items excluded. Pure computation over dense indices; the
// tools map files and ids to an EvalSplit.
//
// Thread-safety: EvaluateSplit owns everything it builds; call it from any
// thread.
#pragma once

#include <functional>
#include <string_view>
#include <vector>

#include "engine/batch_trainer.h"
#include "engine/bpmf_trainer.h"
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

enum class Algorithm { kSgd, kAls, kOnline, kBpmf };
std::string_view AlgorithmName(Algorithm a);
StatusOr<Algorithm> ParseAlgorithm(std::string_view name);

struct EvalOptions {
  Algorithm algorithm = Algorithm::kAls;
  ModelOptions model;
  SgdTrainOptions sgd;
  AlsTrainOptions als;
  BpmfTrainOptions bpmf;
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
  RatingMetrics rating;
  RankingMetrics ranking;
  std::vector<double> epoch_train_rmse;  // one per epoch/iteration/pass
  double train_seconds = 0.0;
  double eval_seconds = 0.0;
};

// progress(done, total) is called during training and ranking (may be null).
using ProgressFn = std::function<void(size_t done, size_t total)>;

StatusOr<EvalResult> EvaluateSplit(const EvalSplit& split, const EvalOptions& options,
                                   const ProgressFn& progress = nullptr);

// Trains a model on `train` with the configured algorithm (exposed for the
// tools' demo and retrain paths). epoch_rmse (optional) collects the
// per-epoch training RMSE.
StatusOr<MFModel> TrainModel(const EvalSplit& split, const EvalOptions& options,
                             std::vector<double>* epoch_rmse, const ProgressFn& progress = nullptr);

}  // namespace streamrec::engine
