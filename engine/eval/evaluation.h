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

#include "engine/core/status.h"
#include "engine/eval/metrics.h"
#include "engine/model/mf_model.h"
#include "engine/model/training_example.h"
#include "engine/train/train.h"

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

// What evaluation needs beyond training (train.h): the TrainOptions it fits
// the model with, the list length and what counts as relevant. A
// TrainOptions by inheritance, so the flags and config that fill one fill
// both, and a retrain takes the training part alone.
struct EvalOptions : TrainOptions {
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

StatusOr<EvalResult> EvaluateSplit(const EvalSplit& split, const EvalOptions& options,
                                   const ProgressFn& progress = nullptr);

// Full-catalog top-K ranking quality of `model` on split.test, each user's
// split.train items excluded, relevance as options.relevance_threshold
// says: the ranking half of EvaluateSplit, for a model trained elsewhere
// (e.g. updated online). The model must cover split.num_users/num_items.
RankingMetrics EvaluateRanking(const EvalSplit& split, const MFModel& model,
                               const EvalOptions& options);

// TrainModel (train.h) on the split's training half.
inline StatusOr<MFModel> TrainModel(const EvalSplit& split, const TrainOptions& options,
                                    std::vector<double>* epoch_rmse,
                                    const ProgressFn& progress = nullptr) {
  return TrainModel(TrainData{split.train, split.num_users, split.num_items}, options, epoch_rmse,
                    progress);
}

}  // namespace streamrec::engine
