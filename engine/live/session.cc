// Recommender::RecommendForHistory: recommendations for an anonymous
// visitor, folded in from their session's events at query time
// (recommender.h says how, per objective).
#include <fmt/format.h>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <algorithm>
#include <map>
#include <set>

#include "engine/live/fold_in.h"
#include "engine/live/recommender.h"

namespace streamrec::engine {

StatusOr<Recommendations> Recommender::RecommendForHistory(std::span<const HistoryEvent> history,
                                                           const RecommendRequest& req,
                                                           SessionInfo* info) const {
  if (req.rules.active()) return SessionWithRules(history, req, info);
  *info = SessionInfo();
  // Per known item: summed strength (implicit, bpr) or its ratings.
  std::map<uint32_t, float> strength;
  std::map<uint32_t, std::pair<double, int>> ratings;  // sum, count
  std::set<std::string> unknown_seen;
  for (size_t n = 0; n < history.size(); ++n) {
    const HistoryEvent& h = history[n];
    if (Status st = Validate(Event{"session", h.item, h.type, h.value, 0}); !st.ok()) {
      return Status::InvalidArgument(fmt::format("history[{}]: {}", n, st.message()));
    }
    const std::optional<uint32_t> i = items_.Find(h.item);
    if (!i || *i >= model_.num_items()) {
      if (unknown_seen.insert(h.item).second) info->unknown.push_back(h.item);
      continue;
    }
    ++info->used;
    strength[*i] += EventStrength(types_, h.type, h.value, options_.signal);
    if (const std::optional<float> r = types_.Target(h.type, h.value)) {
      ratings[*i].first += *r;
      ++ratings[*i].second;
    }
  }
  std::vector<uint32_t> skip;  // the history's items, then the exclusions
  if (!req.include_seen) {
    for (const auto& [i, w] : strength) skip.push_back(i);
  }
  const std::vector<uint32_t> excluded = ResolveSorted(req.exclude);
  Recommendations out;
  std::vector<uint8_t> mask;
  const int k = model_.rank();
  Eigen::VectorXf p = Eigen::VectorXf::Zero(k);
  float offset = 0.0f;
  bool folded = false;
  switch (options_.objective) {
    case Objective::kImplicit: {
      if (strength.empty() || implicit_ == nullptr || implicit_->item_gramian().rows() != k) break;
      std::vector<std::pair<uint32_t, float>> cells;
      for (const auto& [i, w] : strength) {
        cells.emplace_back(i, 1.0f + implicit_->options().alpha * w);
      }
      Eigen::MatrixXd a;
      Eigen::VectorXd b;
      ImplicitRowSystem(model_, implicit_->item_gramian(), cells,
                        implicit_->options().objective(), &a, &b);
      p = a.ldlt().solve(b).cast<float>();
      folded = true;
      break;
    }
    case Objective::kRating: {
      if (ratings.empty()) break;
      // [p; b_u] minimising Σ (r − μ − b_i − b_u − p·q_i)² + λ‖p‖² + λ_b b_u².
      Eigen::MatrixXd a = Eigen::MatrixXd::Zero(k + 1, k + 1);
      Eigen::VectorXd b = Eigen::VectorXd::Zero(k + 1);
      for (const auto& [i, sum] : ratings) {
        Eigen::VectorXd x(k + 1);
        x.head(k) = Eigen::Map<const Eigen::VectorXf>(model_.item_factors(i), k).cast<double>();
        x(k) = 1.0;
        const double target = sum.first / sum.second - model_.global_mean() - model_.item_bias(i);
        a.selfadjointView<Eigen::Lower>().rankUpdate(x, 1.0);
        b += target * x;
      }
      a = a.selfadjointView<Eigen::Lower>();
      a.diagonal().head(k).array() += options_.learner.fold_in_regularization;
      a(k, k) += options_.learner.fold_in_bias_regularization;
      const Eigen::VectorXd solved = a.ldlt().solve(b);
      p = solved.head(k).cast<float>();
      offset = model_.global_mean() + static_cast<float>(solved(k));
      folded = true;
      break;
    }
    case Objective::kBpr: {
      double total = 0.0;
      Eigen::VectorXd sum = Eigen::VectorXd::Zero(k);
      for (const auto& [i, w] : strength) {
        sum += w * Eigen::Map<const Eigen::VectorXf>(model_.item_factors(i), k).cast<double>();
        total += w;
      }
      if (total <= 0.0) break;
      p = (sum / total).cast<float>();
      folded = true;
      break;
    }
  }
  if (!folded) {
    skip.insert(skip.end(), excluded.begin(), excluded.end());
    std::sort(skip.begin(), skip.end());
    out.items = Name(popularity_.Top(
        req.n, skip, AllowedMask(req.category, req.categories, req.exclude_categories, &mask)));
    out.source = RecommendationSource::kPopular;
    return out;
  }
  ScanOptions opt;
  opt.allowed = AllowedMask(req.category, req.categories, req.exclude_categories, &mask);
  if (options_.objective != Objective::kImplicit) opt.item_bias = model_.item_biases();
  ScanQuery q;
  q.vector = p.data();
  q.exclude_a = skip;
  q.exclude_b = excluded;
  q.n = req.n;
  std::vector<std::vector<ScoredItem>> top;
  Scan(std::span(&q, 1), req.n, opt, &top);
  for (ScoredItem& s : top[0]) s.score += offset;
  out.items = Name(top[0]);
  out.source = RecommendationSource::kModel;
  return out;
}

}  // namespace streamrec::engine
