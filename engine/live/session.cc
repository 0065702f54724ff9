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
  Eigen::VectorXf p;
  float offset = 0.0f;
  FoldInSettings fold;
  fold.objective = options_.objective;
  if (implicit_ != nullptr) {
    fold.alpha = implicit_->options().alpha;
    fold.implicit = implicit_->options().objective();
  }
  fold.regularization = options_.learner.fold_in_regularization;
  fold.bias_regularization = options_.learner.fold_in_bias_regularization;
  const bool folded =
      FoldInRow(model_, ItemGramianForReads(), fold, strength, ratings, &p, &offset);
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
