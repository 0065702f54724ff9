// One entry point for batch training: TrainModel fits a fresh MFModel to a
// set of examples with the algorithm TrainOptions names. Used by the live
// server's background retrain (storage/), by `eval` and `replay` (through
// engine/eval/), and by the tools' demo.
//
// Rating models (sgd, als, online, bpmf) fit r̂ = μ + b_u + b_i + p·q to
// the targets; implicit models (ials, bpr) fit interaction vs none and only
// rank; popular (training interactions per item) and random (a seeded
// random vector per user and item, so each user gets their own random
// order) are the baselines every model must beat.
//
// Thread-safety: TrainModel owns everything it builds; call it from any
// thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "engine/core/event_types.h"
#include "engine/core/status.h"
#include "engine/model/mf_model.h"
#include "engine/model/training_example.h"
#include "engine/online/online_learner.h"
#include "engine/train/batch_trainer.h"
#include "engine/train/bpmf_trainer.h"
#include "engine/train/bpr_trainer.h"
#include "engine/train/ials_trainer.h"

namespace streamrec::engine {

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

struct TrainOptions {
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
};

// The examples to fit, in the order the online learner should see them
// (time order for a log), and the model's size: every example's user and
// item must be below num_users / num_items.
struct TrainData {
  std::span<const TrainingExample> examples;
  uint32_t num_users = 0;
  uint32_t num_items = 0;
};

// progress(done, total) is called during training (and, in evaluation,
// ranking); may be null.
using ProgressFn = std::function<void(size_t done, size_t total)>;

// The target of the TrainingExample an event of `type` gives
// options.algorithm: for ials and bpr every event's ImplicitTarget (under
// that algorithm's signal), for the others the rating or implied rating
// (nullopt for a type with neither: the event does not train them).
std::optional<float> TrainingTarget(const EventTypes& types, EventTypeId type, float value,
                                    const TrainOptions& options);

// Trains a model on `data` with the configured algorithm. epoch_rmse
// (optional) collects the per-epoch training RMSE (the objective for ials
// and bpr). Implicit models come back with zero user biases and global
// mean, so their Predict() is a ranking score, not a rating.
// InvalidArgument for bad options or an example outside the model's size.
StatusOr<MFModel> TrainModel(const TrainData& data, const TrainOptions& options,
                             std::vector<double>* epoch_rmse, const ProgressFn& progress = nullptr);

}  // namespace streamrec::engine
