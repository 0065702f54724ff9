// Bayesian probabilistic matrix factorisation (Salakhutdinov & Mnih, ICML
// 2008) trained by Gibbs sampling: user and item vectors get Gaussian priors
// whose mean and precision have Normal-Wishart hyperpriors, so the amount of
// regularisation is learned from the data rather than tuned. The model kept
// is the posterior mean of the factors over the samples after burn-in.
//
// Why it is here: with no learning rate or λ to tune it is the most accurate
// rating model in the engine on MovieLens-sized data, and a good reference
// for the online learner.
//
// Deterministic for a seed, for any thread count: every row draws from its
// own generator keyed by (seed, sweep, side, row).
//
// Thread-safety: a training call owns the model it is given.
#pragma once

#include <span>
#include <vector>

#include "engine/core/status.h"
#include "engine/model/mf_model.h"
#include "engine/train/batch_trainer.h"

namespace streamrec::engine {

struct BpmfTrainOptions {
  // Gibbs sweeps in all; the first `burn_in` are discarded.
  int sweeps = 200;
  int burn_in = 30;
  // Precision α of an observed rating around p_u·q_i: 1/α is the noise
  // variance (MovieLens ratings are noisy to about ±0.75: α=1.75 is best on ml-100k).
  float observation_precision = 1.75f;
  // Hyperprior: μ0 = 0, W0 = I, ν0 = rank, β0 as given.
  float beta0 = 2.0f;
  uint64_t seed = 11;
  int threads = 2;
  // Optional: pairs whose Monte-Carlo predictive mean (the average of
  // p_u·q_i over kept samples, plus μ) is written to probe_predictions.
  std::span<const TrainingExample> probe;
  std::vector<float>* probe_predictions = nullptr;
};

// Trains from scratch (the model's rows are resampled; biases are zeroed and
// the global mean set to the weighted mean of the targets). The callback
// gets each sweep's training RMSE of the running posterior mean.
Status TrainBpmf(std::span<const TrainingExample> data, const BpmfTrainOptions& options,
                 MFModel* model, const EpochCallback& on_sweep = nullptr);

}  // namespace streamrec::engine
