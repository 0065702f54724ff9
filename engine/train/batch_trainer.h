// Batch training of an MFModel over a whole data set: epochs of shuffled SGD
// (the same step the online learner takes) or alternating least squares
// (closed-form ridge solve per row, Eigen). Used by `retrain`, by `eval`,
// and to compare against the online model.
//
// Both are deterministic: SGD for a given seed, ALS for any thread count
// (its rows are independent).
//
// Thread-safety: a training call owns the model it is given.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "engine/core/status.h"
#include "engine/model/mf_model.h"
#include "engine/model/sgd_step.h"
#include "engine/model/training_example.h"

namespace streamrec::engine {

struct SgdTrainOptions {
  int epochs = 60;
  // Tuned on ml-100k u1..u5 (mean RMSE 0.920 at rank 64).
  SgdParams params{.learning_rate = 0.01f,
                   .regularization = 0.1f,
                   .bias_learning_rate = 0.01f,
                   .bias_regularization = 0.005f};
  // Learning rates are multiplied by this after each epoch: large steps
  // early, fine ones at the end (converges without a tuned schedule).
  float decay = 0.96f;
  // Seed of the per-epoch shuffles.
  uint64_t seed = 7;
};

struct AlsTrainOptions {
  int iterations = 15;
  // Ridge strength per observation (ALS-WR: λ·n_u for a user with n_u
  // ratings), so heavy and light users are regularised alike.
  // Defaults tuned on ml-100k u1..u5 (mean RMSE 0.912 at rank 64).
  float regularization = 0.12f;
  float bias_regularization = 1.0f;  // absolute λ on each bias
  // Worker threads for the per-row solves (rows are independent, so the
  // result does not depend on this).
  int threads = 2;
};

// Called after each epoch/iteration with its 1-based number and the
// weighted training RMSE at that point. Returning false stops training.
using EpochCallback = std::function<bool(int epoch, double train_rmse)>;

// Trains `model` from its current state (call Reinitialize() for a fresh
// start). The model must already hold every user and item in `data`. The
// global mean is set to the weighted mean of the targets.
Status TrainSgd(std::span<const TrainingExample> data, const SgdTrainOptions& options,
                MFModel* model, const EpochCallback& on_epoch = nullptr);
Status TrainAls(std::span<const TrainingExample> data, const AlsTrainOptions& options,
                MFModel* model, const EpochCallback& on_epoch = nullptr);

// Weighted RMSE of the model on `data`.
double TrainingRmse(std::span<const TrainingExample> data, const MFModel& model);

}  // namespace streamrec::engine
