#include "engine/model/bpr_step.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <vector>

namespace streamrec::engine {

double BprStep(MFModel* model, uint32_t u, uint32_t i, uint32_t j, float lr, float reg,
               float bias_reg) {
  const int k = model->rank();
  Eigen::Map<Eigen::VectorXf> p(model->user_factors(u), k);
  Eigen::Map<Eigen::VectorXf> qi(model->item_factors(i), k);
  Eigen::Map<Eigen::VectorXf> qj(model->item_factors(j), k);
  float& bi = model->item_bias(i);
  float& bj = model->item_bias(j);
  const float x = p.dot(qi - qj) + bi - bj;
  // g = σ(−x) = ∂ ln σ(x) / ∂x, computed without overflow for large |x|.
  const float g = x >= 0 ? std::exp(-x) / (1.0f + std::exp(-x)) : 1.0f / (1.0f + std::exp(x));
  const double loss = x >= 0 ? std::log1p(std::exp(-double{x})) : -x + std::log1p(std::exp(x));
  // Both item updates use the old p: a copy on the stack up to kMaxStack
  // dimensions, on the heap beyond (any rank the model holds).
  auto update = [&](const auto& op) {
    p += lr * (g * (qi - qj) - reg * p);
    qi += lr * (g * op - reg * qi);
    qj += lr * (-g * op - reg * qj);
  };
  constexpr int kMaxStack = 512;
  if (k <= kMaxStack) {
    alignas(64) float old_p[kMaxStack];
    Eigen::Map<Eigen::VectorXf> op(old_p, k);
    op = p;
    update(op);
  } else {
    const Eigen::VectorXf op = p;
    update(op);
  }
  bi += lr * (g - bias_reg * bi);
  bj += lr * (-g - bias_reg * bj);
  return loss;
}

uint32_t BprNegative(std::span<const uint32_t> seen, uint32_t num_items, SplitMix64* rng) {
  if (seen.size() >= num_items) return UINT32_MAX;
  // Rejection sampling: cheap while the user has a small share of the
  // catalog; a user with most of it falls back to a scan from a random start.
  for (int attempt = 0; attempt < 32; ++attempt) {
    const auto j = static_cast<uint32_t>(rng->Uniform(num_items));
    if (!std::binary_search(seen.begin(), seen.end(), j)) return j;
  }
  const auto start = static_cast<uint32_t>(rng->Uniform(num_items));
  for (uint32_t n = 0; n < num_items; ++n) {
    const uint32_t j = (start + n) % num_items;
    if (!std::binary_search(seen.begin(), seen.end(), j)) return j;
  }
  return UINT32_MAX;
}

}  // namespace streamrec::engine
