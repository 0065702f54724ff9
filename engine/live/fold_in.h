// The implicit objective's ridge system for one user row, from item vectors
// and the row's cells: what an exact iALS half-step solves, and what
// explanations (explain.cc) and anonymous sessions (session.cc) are built
// on; and FoldInRow, a user row from their events against fixed item
// vectors for every objective (sessions; the prequential replay's
// "retrained+fold-in"). Internal to engine (live and eval).
#pragma once

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "engine/live/recommender.h"
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

// How FoldInRow folds a row in: the objective and its weights.
struct FoldInSettings {
  Objective objective = Objective::kRating;
  float alpha = 0.0f;                // kImplicit: confidence 1 + alpha * strength
  ImplicitObjective implicit;        // kImplicit: λ and its exponent
  float regularization = 0.0f;       // kRating: ridge on the factors
  float bias_regularization = 0.0f;  // kRating: ridge on the user bias
};

// A user's row from their events against `model`'s fixed item vectors:
//  - kImplicit: the iALS ridge solve over cells c = 1 + alpha * strength
//    (`gramian` = QᵀQ over every item of `model`);
//  - kRating: [p; b_u] minimising Σ (r − μ − b_i − b_u − p·q_i)² +
//    λ‖p‖² + λ_b b_u² over the mean rating per item;
//  - kBpr: the strength-weighted mean of the items' vectors.
// `strength` is the summed event strength per item (kImplicit, kBpr),
// `ratings` the (sum, count) of ratings per item (kRating); items must be
// below model.num_items(). *offset is what ranking scores (b_i + p·q) lack
// for a predicted rating (μ + b_u under kRating, else 0). False when there
// is nothing to fold in.
inline bool FoldInRow(const MFModel& model, const Eigen::MatrixXf* gramian, const FoldInSettings& s,
                      const std::map<uint32_t, float>& strength,
                      const std::map<uint32_t, std::pair<double, int>>& ratings, Eigen::VectorXf* p,
                      float* offset) {
  const int k = model.rank();
  *p = Eigen::VectorXf::Zero(k);
  *offset = 0.0f;
  switch (s.objective) {
    case Objective::kImplicit: {
      if (strength.empty() || gramian == nullptr || gramian->rows() != k) return false;
      std::vector<std::pair<uint32_t, float>> cells;
      for (const auto& [i, w] : strength) cells.emplace_back(i, 1.0f + s.alpha * w);
      Eigen::MatrixXd a;
      Eigen::VectorXd b;
      ImplicitRowSystem(model, *gramian, cells, s.implicit, &a, &b);
      *p = a.ldlt().solve(b).cast<float>();
      return true;
    }
    case Objective::kRating: {
      if (ratings.empty()) return false;
      Eigen::MatrixXd a = Eigen::MatrixXd::Zero(k + 1, k + 1);
      Eigen::VectorXd b = Eigen::VectorXd::Zero(k + 1);
      for (const auto& [i, sum] : ratings) {
        Eigen::VectorXd x(k + 1);
        x.head(k) = Eigen::Map<const Eigen::VectorXf>(model.item_factors(i), k).cast<double>();
        x(k) = 1.0;
        const double target = sum.first / sum.second - model.global_mean() - model.item_bias(i);
        a.selfadjointView<Eigen::Lower>().rankUpdate(x, 1.0);
        b += target * x;
      }
      a = a.selfadjointView<Eigen::Lower>();
      a.diagonal().head(k).array() += s.regularization;
      a(k, k) += s.bias_regularization;
      const Eigen::VectorXd solved = a.ldlt().solve(b);
      *p = solved.head(k).cast<float>();
      *offset = model.global_mean() + static_cast<float>(solved(k));
      return true;
    }
    case Objective::kBpr: {
      double total = 0.0;
      Eigen::VectorXd sum = Eigen::VectorXd::Zero(k);
      for (const auto& [i, w] : strength) {
        sum += w * Eigen::Map<const Eigen::VectorXf>(model.item_factors(i), k).cast<double>();
        total += w;
      }
      if (total <= 0.0) return false;
      *p = (sum / total).cast<float>();
      return true;
    }
  }
  return false;
}

}  // namespace streamrec::engine
