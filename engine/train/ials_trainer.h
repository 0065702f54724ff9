// iALS: weighted matrix factorisation for implicit feedback (Hu, Koren &
// Volinsky, ICDM 2008), trained by alternating least squares.
//
// Every (user, item) cell is a target: p_ui = 1 where the user interacted
// with the item, 0 elsewhere, with confidence c_ui = 1 + α·w_ui (w: the
// summed strength of the user's events on the item, implicit_data.h) and 1
// for the unobserved cells. Minimises
//   Σ_ui c_ui (p_ui − x_u·y_i)² + Σ_u λ_u ‖x_u‖² + Σ_i λ_i ‖y_i‖²
// with λ_r = λ · n_r^ν (n_r: the row's observed cells; ν = 0 is the
// classic uniform ridge, ν > 0 the frequency scaling of Rendle et al.,
// "Revisiting the performance of iALS", RecSys 2022).
// Each half-step solves every row exactly with the Gramian trick:
//   (YᵀY + Yᵀ(C_u − I)Y + λ_u I) x_u = Yᵀ C_u p_u,
// YᵀY computed once per half-step, so a row costs O(n_u k² + k³) rather
// than O(|items| k²). Item biases are unused (zero): scores are x_u·y_i.
//
// Deterministic for any thread count: rows of a half-step are independent.
//
// Thread-safety: a training call owns the model it is given.
#pragma once

#include <Eigen/Core>
#include <span>

#include "engine/core/status.h"
#include "engine/model/implicit_data.h"
#include "engine/model/implicit_objective.h"
#include "engine/model/mf_model.h"
#include "engine/train/batch_trainer.h"

namespace streamrec::engine {

// Defaults tuned on ml-100k, seeded 75/25 random split, rank 64,
// full-catalog ranking with training items excluded, every held-out rating
// relevant (`streamrec eval --data ../shared/data/ml-100k --split 75/25
// --seed 42 --algo ials`): P@10 0.428, NDCG@10 0.489 at seed 42 (seeds 1,
// 2, 3: 0.430/0.493, 0.421/0.482, 0.430/0.491), from a grid over α
// {1..30}, λ {0.5..400}, ν {0, 0.5, 1}, the rating exponent {0..2}, rank
// {32..128} and iterations {5..40}. Without the frequency scaling the best
// was α 10, λ 50: 0.408/0.466.
struct IalsTrainOptions {
  // Full alternations (users, then items). Converged by 5 on MovieLens
  // (10 vs 40: the same metrics to ±0.002); each costs O(nnz k² + (users +
  // items) k³).
  int iterations = 10;
  // Confidence slope α in c = 1 + α·w. Large trusts observed cells far more
  // than the unobserved zeros (sharper, more popularity-driven lists);
  // small treats the matrix almost as dense 0/1 regression.
  float alpha = ImplicitObjective{}.alpha;
  // Ridge λ (times n^ν). Needs to grow with α: the observed terms scale
  // with it. Sensitive: ±25% costs ~0.01-0.02 of P@10 on ml-100k.
  float regularization = ImplicitObjective{}.regularization;
  // ν in λ_r = λ · n_r^ν. 0: the same λ for every row. 0.5 lets heavy users
  // and popular items carry more ridge than rare ones, which stops the
  // popular items from dominating every list (+0.02 P@10 on ml-100k).
  float regularization_exponent = ImplicitObjective{}.regularization_exponent;
  // How events and ratings become w. Weighting by (rating / 5) — a 1-star
  // rating counts 0.2, a 5-star 1 — gains ~0.01 P@10 on ml-100k over
  // plain interactions even though every held-out rating is relevant.
  ImplicitSignalOptions signal = kRatingWeightedSignal;
  // Worker threads for the per-row solves (the result does not depend on it).
  int threads = 2;

  // α, λ and ν: what the online updater must share (FromTraining).
  ImplicitObjective objective() const { return {alpha, regularization, regularization_exponent}; }
};

// Trains `model` from its current factors (call Reinitialize() for a fresh
// start); the model must already hold every user and item in `data`. Sets
// the biases and global mean to zero. The callback gets each iteration's
// objective divided by the number of observed cells (IalsObjective).
// InvalidArgument for bad options or data.
Status TrainIals(std::span<const TrainingExample> data, const IalsTrainOptions& options,
                 MFModel* model, const EpochCallback& on_iteration = nullptr);

// The objective above, divided by the number of observed cells, for the
// model's current factors. `by_user`: users x items (BuildImplicitMatrix).
double IalsObjective(const ImplicitMatrix& by_user, const IalsTrainOptions& options,
                     const MFModel& model);
// The same for factors held as blocks of rows: users x rank and items x rank.
double IalsObjective(const ImplicitMatrix& by_user, const IalsTrainOptions& options,
                     const RowMatrixXf& users, const RowMatrixXf& items);

// Checks the options (also used by the online updater and the tools).
Status ValidateIalsOptions(const IalsTrainOptions& options);

// One exact row solve, the building block of both the trainer and the
// online fold-in:
//   x = (gramian + Σ_j α w_j y_j y_jᵀ + λ I)⁻¹ Σ_j (1 + α w_j) y_j
// other: the other side's factors, row-major, rank k; ids/strengths: the
// row's observed cells. gramian: k x k, Σ over all rows of `other` of y yᵀ.
// out: size k.
void SolveImplicitRow(const Eigen::MatrixXf& gramian, const float* other, int k,
                      std::span<const uint32_t> ids, std::span<const float> strengths, float alpha,
                      float lambda, float* out);

}  // namespace streamrec::engine
