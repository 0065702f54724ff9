// Per-request re-ranking (RankRules in recommender.h): boosts and burials
// by category, caps per category and maximal-marginal-relevance
// diversity, over a growing pool of the model's best candidates.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

#include "engine/live/recommender.h"

namespace streamrec::engine {
namespace {

// The candidate pool for an answer of n: big enough that boosts and caps
// rarely need a second pass, and for diversity wide enough to hold more
// than the nearest neighbours of the top item.
size_t PoolSize(size_t n, const RankRules& rules) {
  return rules.diversity > 0.0f ? std::max(20 * n, n + 200) : std::max(5 * n, n + 50);
}

// Fetches pools of growing size until the re-ranked answer has n items or
// the pool holds every eligible item.
template <typename Fetch, typename Rerank>
auto Grow(size_t n, const RankRules& rules, size_t catalog, Fetch fetch, Rerank rerank) {
  for (size_t pool = PoolSize(n, rules);; pool *= 4) {
    auto got = fetch(pool);
    const size_t fetched = got.items.size();
    got.items = rerank(std::move(got.items));
    if (got.items.size() >= n || fetched < pool || pool >= catalog) return got;
  }
}

}  // namespace

std::vector<NamedScore> Recommender::Rerank(std::vector<NamedScore> candidates,
                                            const RankRules& rules, size_t n) const {
  static const std::vector<std::string> kNone;
  const size_t m = candidates.size();
  std::vector<const std::vector<std::string>*> cats(m, &kNone);
  for (size_t j = 0; j < m; ++j) {
    if (const ItemMeta* meta = catalog_.Find(candidates[j].item)) cats[j] = &meta->categories;
  }
  // Boosts (a product over the item's categories).
  if (!rules.boosts.empty()) {
    for (size_t j = 0; j < m; ++j) {
      float factor = 1.0f;
      for (const auto& [category, f] : rules.boosts) {
        if (std::find(cats[j]->begin(), cats[j]->end(), category) != cats[j]->end()) factor *= f;
      }
      float& s = candidates[j].score;
      s = s >= 0.0f ? s * factor : s / factor;
    }
  }
  std::vector<size_t> order(m);
  for (size_t j = 0; j < m; ++j) order[j] = j;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return candidates[a].score > candidates[b].score;
  });
  std::map<std::string_view, size_t> used;  // items chosen per category
  auto fits = [&](size_t j) {
    if (rules.max_per_category == 0) return true;
    for (const std::string& c : *cats[j]) {
      auto it = used.find(c);
      if (it != used.end() && it->second >= rules.max_per_category) return false;
    }
    return true;
  };
  auto take = [&](size_t j, std::vector<NamedScore>* out) {
    for (const std::string& c : *cats[j]) ++used[c];
    out->push_back(candidates[j]);
  };
  std::vector<NamedScore> out;
  if (rules.diversity <= 0.0f) {
    for (size_t j : order) {
      if (out.size() >= n) break;
      if (fits(j)) take(j, &out);
    }
    return out;
  }
  // Maximal marginal relevance over unit item vectors.
  const int k = model_.rank();
  Eigen::MatrixXf unit(k, static_cast<Eigen::Index>(m));
  for (size_t j = 0; j < m; ++j) {
    const std::optional<uint32_t> i = items_.Find(candidates[j].item);
    Eigen::VectorXf v = Eigen::VectorXf::Zero(k);
    if (i && *i < model_.num_items()) v = Eigen::Map<const Eigen::VectorXf>(model_.item_factors(*i), k);
    const float norm = v.norm();
    unit.col(static_cast<Eigen::Index>(j)) = norm > 0.0f ? Eigen::VectorXf(v / norm) : v;
  }
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (const NamedScore& c : candidates) {
    lo = std::min(lo, c.score);
    hi = std::max(hi, c.score);
  }
  auto relevance = [&](size_t j) {
    return hi > lo ? (candidates[j].score - lo) / (hi - lo) : 1.0f;
  };
  const float d = std::min(rules.diversity, 1.0f);
  std::vector<float> nearest(m, 0.0f);  // largest cosine to a chosen item
  std::vector<bool> chosen(m, false);
  while (out.size() < n) {
    size_t best = m;
    float best_value = -std::numeric_limits<float>::infinity();
    for (size_t j : order) {  // best relevance first: ties keep the model's order
      if (chosen[j] || !fits(j)) continue;
      const float value = (1.0f - d) * relevance(j) - d * (out.empty() ? 0.0f : nearest[j]);
      if (value > best_value) {
        best_value = value;
        best = j;
      }
    }
    if (best == m) break;
    chosen[best] = true;
    take(best, &out);
    for (size_t j = 0; j < m; ++j) {
      if (!chosen[j]) {
        nearest[j] = std::max(
            nearest[j], unit.col(static_cast<Eigen::Index>(j)).dot(unit.col(static_cast<Eigen::Index>(best))));
      }
    }
  }
  return out;
}

Recommendations Recommender::RecommendWithRules(std::string_view user,
                                                const RecommendRequest& req) const {
  RecommendRequest plain = req;
  plain.rules = RankRules();
  plain.explore = false;
  return Grow(
      req.n, req.rules, items_.size(),
      [&](size_t pool) {
        plain.n = pool;
        return RecommendForUser(user, plain);
      },
      [&](std::vector<NamedScore> items) { return Rerank(std::move(items), req.rules, req.n); });
}

StatusOr<std::vector<NamedScore>> Recommender::SimilarWithRules(std::string_view item,
                                                                const SimilarRequest& req) const {
  SimilarRequest plain = req;
  plain.rules = RankRules();
  struct Pool {
    Status status;
    std::vector<NamedScore> items;
  };
  Pool got = Grow(
      req.n, req.rules, items_.size(),
      [&](size_t pool) {
        plain.n = pool;
        StatusOr<std::vector<NamedScore>> s = SimilarItems(item, plain);
        return s.ok() ? Pool{Status::OK(), std::move(s).value()} : Pool{s.status(), {}};
      },
      [&](std::vector<NamedScore> items) { return Rerank(std::move(items), req.rules, req.n); });
  if (!got.status.ok()) return got.status;
  return got.items;
}

StatusOr<Recommendations> Recommender::SessionWithRules(std::span<const HistoryEvent> history,
                                                        const RecommendRequest& req,
                                                        SessionInfo* info) const {
  RecommendRequest plain = req;
  plain.rules = RankRules();
  struct Pool {
    StatusOr<Recommendations> answer;
    std::vector<NamedScore> items;
  };
  Pool got = Grow(
      req.n, req.rules, items_.size(),
      [&](size_t pool) {
        plain.n = pool;
        StatusOr<Recommendations> a = RecommendForHistory(history, plain, info);
        std::vector<NamedScore> items = a.ok() ? a->items : std::vector<NamedScore>();
        return Pool{std::move(a), std::move(items)};
      },
      [&](std::vector<NamedScore> items) { return Rerank(std::move(items), req.rules, req.n); });
  if (!got.answer.ok()) return got.answer;
  got.answer->items = std::move(got.items);
  return got.answer;
}

}  // namespace streamrec::engine
