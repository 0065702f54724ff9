// One step of BPR (Rendle et al., UAI 2009) on a sampled triple, and the
// uniform negative draw: the update rule shared by the batch trainer
// (engine/train/bpr_trainer.h) and the live model's per-event BPR steps
// (engine/online/bpr_online.h), so "one BPR step" means the same in both.
//
// Thread-safety: pure functions on a model the caller owns.
#pragma once

#include <cstdint>
#include <span>

#include "engine/core/random.h"
#include "engine/model/mf_model.h"

namespace streamrec::engine {

// λ on p_u, q_i, q_j and λ_b on the item biases, tuned on ml-100k for the
// batch trainer (bpr_trainer.h) and shared by the online steps so that both
// optimise one objective.
inline constexpr float kBprRegularization = 0.015f;
inline constexpr float kBprBiasRegularization = 0.001f;

// One SGD step of BPR on the triple (u, i, j), i preferred to j: moves p_u,
// q_i, q_j, b_i and b_j with step `lr` and L2 `reg` / `bias_reg`; returns
// −ln σ(x̂_ui − x̂_uj) before the step. The model must hold the rows; any
// rank (a copy of p_u on the stack up to rank 512, on the heap past it).
double BprStep(MFModel* model, uint32_t u, uint32_t i, uint32_t j, float lr, float reg,
               float bias_reg);

// A uniformly drawn item < num_items that is not in `seen` (sorted
// ascending), or UINT32_MAX if there is none.
uint32_t BprNegative(std::span<const uint32_t> seen, uint32_t num_items, SplitMix64* rng);

}  // namespace streamrec::engine
