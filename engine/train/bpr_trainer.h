// BPR: Bayesian personalised ranking (Rendle et al., UAI 2009) by SGD over
// sampled (user u, positive i, negative j) triples, maximising
//   Σ ln σ(x̂_ui − x̂_uj) − λ (‖p_u‖² + ‖q_i‖² + ‖q_j‖²) − λ_b (b_i² + b_j²)
// with x̂_ui = p_u·q_i + b_i. A positive is a (user, item) pair with any
// interaction, drawn with probability proportional to its summed strength
// (implicit_data.h: purchases are drawn more often than views); the
// negative is uniform over the items the user has not interacted with.
//
// Deterministic for a seed: one thread, our own generator.
//
// Thread-safety: a training call owns the model it is given.
#pragma once

#include <cstdint>
#include <span>

#include "engine/core/random.h"
#include "engine/core/status.h"
#include "engine/model/bpr_step.h"
#include "engine/model/implicit_data.h"
#include "engine/model/mf_model.h"
#include "engine/train/batch_trainer.h"

namespace streamrec::engine {

// Defaults tuned on ml-100k, seeded 75/25 random split, rank 64
// (`streamrec eval --data ../shared/data/ml-100k --split 75/25 --seed 42
// --algo bpr`): P@10 0.404, NDCG@10 0.460 (seeds 1, 2: 0.408/0.466,
// 0.402/0.459), from a grid over the learning rate {0.02..0.2}, λ
// {0.001..0.08} and epochs {60..200}. Weighting by the rating value did not
// help BPR (-0.002).
struct BprTrainOptions {
  // One epoch draws as many triples as there are positive pairs. 60 epochs:
  // 0.396/0.451; 200: no better than 100.
  int epochs = 100;
  // SGD step on the factors and biases. BPR's gradient is at most 1 per
  // triple, so rates far larger than rating SGD's are stable.
  float learning_rate = 0.1f;
  // λ on p_u, q_i, q_j per step. The metric is sensitive to it: 0.005
  // overfits (0.357 P@10), 0.03 underfits (0.374).
  float regularization = kBprRegularization;
  // λ_b on the item biases (the popularity part of the ranking).
  float bias_regularization = kBprBiasRegularization;
  // The learning rate is multiplied by this after each epoch.
  float decay = 0.97f;
  // How events and ratings become pair strengths.
  ImplicitSignalOptions signal;
  // Seed of the triple sampler.
  uint64_t seed = 13;
};

// Trains `model` from its current factors; the model must hold every user
// and item in `data`. Zeroes the user biases and the global mean (they
// cancel in x̂_ui − x̂_uj) and trains the item biases. The callback gets
// each epoch's mean −ln σ(x̂_ui − x̂_uj) over its triples, before each step.
Status TrainBpr(std::span<const TrainingExample> data, const BprTrainOptions& options,
                MFModel* model, const EpochCallback& on_epoch = nullptr);

Status ValidateBprOptions(const BprTrainOptions& options);

}  // namespace streamrec::engine
