// Recommender::Rows: a page of named lists for one user (recommender.h).
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "engine/live/recommender.h"

namespace streamrec::engine {

std::string_view RowKindName(RowKind k) {
  switch (k) {
    case RowKind::kTopPicks:
      return "top_picks";
    case RowKind::kBecause:
      return "because";
    case RowKind::kTrending:
      return "trending";
    case RowKind::kCategory:
      return "category";
  }
  return "top_picks";
}

std::vector<Row> Recommender::Rows(std::string_view user, const RowsRequest& req) const {
  std::vector<Row> rows;
  if (req.rows == 0 || req.n == 0) return rows;
  std::vector<std::string> used = req.exclude;  // items in a row so far, and the excluded
  auto add = [&](RowKind kind, std::string title, std::string key, std::vector<NamedScore> items) {
    if (items.empty() || rows.size() >= req.rows) return;
    for (const NamedScore& s : items) used.push_back(s.item);
    rows.push_back({kind, std::move(title), std::move(key), std::move(items)});
  };
  RecommendRequest base;
  base.n = req.n;
  base.categories = req.categories;
  base.exclude_categories = req.exclude_categories;
  base.rules = req.rules;
  // Top picks.
  RecommendRequest top = base;
  top.exclude = used;
  const Recommendations picks = RecommendForUser(user, top);
  add(RowKind::kTopPicks, "Top picks for you", "", picks.items);
  // Because you watched X.
  const std::optional<uint32_t> u = users_.Find(user);
  std::set<std::string> explained;
  for (const std::string& item : req.recent) {
    if (explained.size() >= req.because || rows.size() >= req.rows) break;
    if (!items_.Find(item) || !explained.insert(item).second) continue;
    SimilarRequest similar;
    similar.n = req.n;
    similar.user = u ? std::string(user) : std::string();
    similar.exclude = used;
    similar.categories = req.categories;
    similar.exclude_categories = req.exclude_categories;
    similar.rules = req.rules;
    StatusOr<std::vector<NamedScore>> like = SimilarItems(item, similar);
    if (like.ok()) add(RowKind::kBecause, fmt::format("Because you watched {}", item), item, *like);
  }
  // Trending now: popular items the user has not seen.
  if (rows.size() < req.rows) {
    std::vector<uint32_t> skip = ResolveSorted(used);
    if (u) {
      const std::span<const uint32_t> seen = Seen(*u);
      skip.insert(skip.end(), seen.begin(), seen.end());
      std::sort(skip.begin(), skip.end());
    }
    std::vector<uint8_t> mask;
    const uint8_t* allowed = AllowedMask("", req.categories, req.exclude_categories, &mask);
    std::vector<NamedScore> trending;
    if (req.rules.active()) {
      // A pool as the other rows re-rank (rules.cc), then the rules.
      const size_t pool = std::max(20 * req.n, req.n + 200);
      trending = Rerank(Name(popularity_.Top(pool, skip, allowed)), req.rules, req.n);
    } else {
      trending = Name(popularity_.Top(req.n, skip, allowed));
    }
    add(RowKind::kTrending, "Trending now", "", std::move(trending));
  }
  // One row per category: the top picks' categories first, then by size.
  std::vector<std::string> order;
  std::set<std::string> listed;
  for (const NamedScore& s : picks.items) {
    if (const ItemMeta* meta = catalog_.Find(s.item)) {
      for (const std::string& c : meta->categories) {
        if (listed.insert(c).second) order.push_back(c);
      }
    }
  }
  for (const auto& [c, count] : catalog_.CategorySizes()) {
    if (listed.insert(c).second) order.push_back(c);
  }
  for (const std::string& c : order) {
    if (rows.size() >= req.rows) break;
    if (std::find(req.exclude_categories.begin(), req.exclude_categories.end(), c) !=
        req.exclude_categories.end()) {
      continue;
    }
    if (!req.categories.empty() &&
        std::find(req.categories.begin(), req.categories.end(), c) == req.categories.end()) {
      continue;
    }
    RecommendRequest in = base;
    in.category = c;
    in.exclude = used;
    add(RowKind::kCategory, c, c, RecommendForUser(user, in).items);
  }
  return rows;
}

}  // namespace streamrec::engine
