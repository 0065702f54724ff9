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

#include "engine/batch_trainer.h"
#include "engine/implicit_data.h"
#include "engine/mf_model.h"
#include "engine/random.h"
#include "engine/status.h"

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
  float regularization = 0.015f;
  // λ_b on the item biases (the popularity part of the ranking).
  float bias_regularization = 0.001f;
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

// One SGD step of BPR on the triple (u, i, j), i preferred to j: moves p_u,
// q_i, q_j, b_i and b_j with step `lr` and L2 `reg` / `bias_reg`; returns
// −ln σ(x̂_ui − x̂_uj) before the step. The model must hold the rows and
// have rank <= 1024.
double BprStep(MFModel* model, uint32_t u, uint32_t i, uint32_t j, float lr, float reg,
               float bias_reg);

// A uniformly drawn item < num_items that is not in `seen` (sorted
// ascending), or UINT32_MAX if there is none.
uint32_t BprNegative(std::span<const uint32_t> seen, uint32_t num_items, SplitMix64* rng);

// The live model's per-event update under the BPR objective: each event
// (u, i) takes `negatives` steps (u, i, j) with j drawn from the items u
// has not interacted with. λ and λ_b are the batch trainer's, so online
// steps and retrains agree on the objective.
struct BprOnlineOptions {
  float learning_rate = 0.05f;
  float regularization = BprTrainOptions{}.regularization;
  float bias_regularization = BprTrainOptions{}.bias_regularization;
  // Steps (negatives drawn) per event. Prequential HR@10 on ml-100k in
  // time order (rank 64) by learning rate / negatives: 0.05/4 0.125,
  // 0.1/8 0.136, 0.05/16 0.139, 0.05/32 0.144, 0.03/64 0.148 (popularity
  // 0.078); the cost grows with the count (one O(k) step each).
  uint32_t negatives = 16;
  // Seed of the negative draws (mixed with the event's position, so replay
  // is deterministic without sampler state).
  uint64_t seed = 13;

  Status Validate() const;
};

}  // namespace streamrec::engine
