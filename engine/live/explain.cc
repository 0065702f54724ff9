// Recommender::Explain: which of a user's history items a recommendation
// comes from (recommender.h, ExplanationMethod).
#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <cmath>

#include "engine/live/fold_in.h"
#include "engine/live/recommender.h"

namespace streamrec::engine {
namespace {

// The `top` largest values, with their shares of Σ |value|.
std::vector<Contribution> Top(std::vector<std::pair<uint32_t, double>> values, size_t top,
                              const IdMap& items) {
  double total = 0.0;
  for (const auto& [j, v] : values) total += std::abs(v);
  const size_t n = std::min(top, values.size());
  std::partial_sort(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(n), values.end(),
                    [](const auto& a, const auto& b) {
                      return a.second > b.second || (a.second == b.second && a.first < b.first);
                    });
  std::vector<Contribution> out;
  out.reserve(n);
  for (size_t k = 0; k < n; ++k) {
    const auto& [j, v] = values[k];
    out.push_back({std::string(items.Name(j)), static_cast<float>(v),
                   total > 0.0 ? static_cast<float>(v / total) : 0.0f});
  }
  return out;
}

}  // namespace

std::string_view ExplanationMethodName(ExplanationMethod m) {
  switch (m) {
    case ExplanationMethod::kExact:
      return "exact";
    case ExplanationMethod::kSimilarity:
      return "similarity";
    case ExplanationMethod::kPopular:
      return "popular";
  }
  return "popular";
}

Explanation Recommender::Explain(std::string_view user, const Recommendations& answer,
                                 size_t top) const {
  Explanation out;
  for (const NamedScore& s : answer.items) out.items.push_back({s.item, s.score, {}, 0.0f});
  const std::optional<uint32_t> u = users_.Find(user);
  if (answer.source == RecommendationSource::kPopular || !u || *u >= model_.num_users()) {
    return out;
  }
  const int k = model_.rank();
  using Vec = Eigen::VectorXd;
  auto item_vec = [&](uint32_t i) {
    return Eigen::Map<const Eigen::VectorXf>(model_.item_factors(i), k).cast<double>().eval();
  };
  const Eigen::MatrixXf* gramian = ItemGramianForReads();
  if (options_.objective == Objective::kImplicit && gramian != nullptr && gramian->rows() == k) {
    out.method = ExplanationMethod::kExact;
    std::vector<std::pair<uint32_t, float>> history;  // (item, confidence c_j)
    const float alpha = implicit_->options().alpha;
    for (const ImplicitOnlineUpdater::UserCell& cell : implicit_->UserCells(*u)) {
      if (cell.id < model_.num_items()) {
        history.emplace_back(cell.id, 1.0f + alpha * implicit_->StrengthOf(cell));
      }
    }
    std::sort(history.begin(), history.end());
    Eigen::MatrixXd a;
    Vec b;
    ImplicitRowSystem(model_, *gramian, history, implicit_->options().objective(), &a, &b);
    Eigen::MatrixXd q(k, static_cast<Eigen::Index>(history.size()));
    for (size_t n = 0; n < history.size(); ++n) {
      q.col(static_cast<Eigen::Index>(n)) = item_vec(history[n].first);
    }
    const Eigen::LDLT<Eigen::MatrixXd> solve(a);
    const Vec p = Eigen::Map<const Eigen::VectorXf>(model_.user_factors(*u), k).cast<double>();
    const Vec r = a * p - b;  // 0 for the exact ridge solve
    for (ItemExplanation& e : out.items) {
      const std::optional<uint32_t> i = items_.Find(e.item);
      if (!i || *i >= model_.num_items()) continue;
      const Vec v = solve.solve(item_vec(*i));  // A⁻¹ q_i
      const Vec terms = q.transpose() * v;      // q_jᵀ A⁻¹ q_i
      std::vector<std::pair<uint32_t, double>> values;
      values.reserve(history.size());
      for (size_t n = 0; n < history.size(); ++n) {
        values.emplace_back(history[n].first,
                            history[n].second * terms(static_cast<Eigen::Index>(n)));
      }
      e.unexplained = static_cast<float>(v.dot(r));
      e.because = Top(std::move(values), top, items_);
    }
    return out;
  }
  out.method = ExplanationMethod::kSimilarity;
  const std::span<const uint32_t> seen = Seen(*u);
  std::vector<Vec> history;
  std::vector<uint32_t> ids;
  for (uint32_t j : seen) {
    if (j >= model_.num_items()) continue;
    Vec y = item_vec(j);
    const double norm = y.norm();
    if (norm == 0.0) continue;
    history.push_back(y / norm);
    ids.push_back(j);
  }
  for (ItemExplanation& e : out.items) {
    const std::optional<uint32_t> i = items_.Find(e.item);
    if (!i || *i >= model_.num_items()) continue;
    Vec y = item_vec(*i);
    const double norm = y.norm();
    if (norm == 0.0) continue;
    y /= norm;
    std::vector<std::pair<uint32_t, double>> values;
    values.reserve(ids.size());
    for (size_t n = 0; n < ids.size(); ++n) values.emplace_back(ids[n], history[n].dot(y));
    e.because = Top(std::move(values), top, items_);
  }
  return out;
}

}  // namespace streamrec::engine
