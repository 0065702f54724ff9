// The implicit objective's ridge system for one user row, from item vectors
// and the row's cells: what an exact iALS half-step solves, and what
// explanations (explain.cc) and anonymous sessions (session.cc) are built
// on. Internal to engine/live.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <utility>

#include "engine/model/implicit_objective.h"
#include "engine/model/mf_model.h"

namespace streamrec::engine {

// A x = b with A = G + Σ_j (c_j − 1) q_j q_jᵀ + λ_n I and b = Σ_j c_j q_j,
// over `cells` (item, confidence c_j = 1 + α w_j); G = QᵀQ over every item
// (the implicit updater keeps it), λ_n = objective.RowLambda(n). In double:
// explanations add its terms up to a float score.
inline void ImplicitRowSystem(const MFModel& model, const Eigen::MatrixXf& gramian,
                              std::span<const std::pair<uint32_t, float>> cells,
                              const ImplicitObjective& objective, Eigen::MatrixXd* a,
                              Eigen::VectorXd* b) {
  const int k = model.rank();
  *a = gramian.cast<double>();
  *b = Eigen::VectorXd::Zero(k);
  Eigen::MatrixXd lower = Eigen::MatrixXd::Zero(k, k);
  for (const auto& [item, c] : cells) {
    const Eigen::VectorXd y =
        Eigen::Map<const Eigen::VectorXf>(model.item_factors(item), k).cast<double>();
    lower.selfadjointView<Eigen::Lower>().rankUpdate(y, c - 1.0);
    *b += c * y;
  }
  *a += Eigen::MatrixXd(lower.selfadjointView<Eigen::Lower>());
  a->diagonal().array() += objective.RowLambda(cells.size());
}

}  // namespace streamrec::engine
