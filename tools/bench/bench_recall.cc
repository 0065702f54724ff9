#include "tools/bench/bench_recall.h"

#include <Eigen/Core>
#include <algorithm>
#include <optional>
#include <string_view>

#include "engine/core/random.h"
#include "engine/live/recommender.h"
#include "engine/model/topn.h"

namespace streamrec::tools {
namespace {

// The exact top-n for user u, scored as RecommendForUser scores a user with
// model recommendations (its objective's query vector and item bias), the
// user's seen items excluded, by a full scan. No eligibility mask: a
// synthetic stream hides no items and names no categories.
std::vector<engine::ScoredItem> ExactTopN(const engine::Recommender& rec, uint32_t u, size_t n) {
  const engine::MFModel& m = rec.model();
  engine::ScanQuery q;
  q.vector = m.user_factors(u);
  q.exclude_a = rec.Seen(u);
  engine::ScanOptions opt;
  std::vector<float> folded(m.rank());
  float bias = 0.0f;
  switch (rec.options().objective) {
    case engine::Objective::kImplicit:
      break;
    case engine::Objective::kBpr:
      opt.item_bias = m.item_biases();
      break;
    case engine::Objective::kRating:
      // A young user is scored with their fold-in (LearnerOptions).
      if (rec.learner().FoldIn(u, folded.data(), &bias)) q.vector = folded.data();
      opt.item_bias = m.item_biases();
      break;
  }
  return engine::TopN(m.item_rows(), m.num_items(), m.rank(), q, n, opt);
}

// Whether the served list `got` holds the item named `name`.
bool Holds(const std::vector<engine::NamedScore>& got, std::string_view name) {
  return std::any_of(got.begin(), got.end(), [&](const auto& g) { return g.item == name; });
}

// Items of `exact` that `got` holds too.
size_t Hits(const engine::Recommender& rec, const std::vector<engine::NamedScore>& got,
            const std::vector<engine::ScoredItem>& exact) {
  size_t hits = 0;
  for (const engine::ScoredItem& e : exact) {
    hits += static_cast<size_t>(Holds(got, rec.items().Name(e.item)));
  }
  return hits;
}

}  // namespace

// Recall of recommendations against ExactTopN over random users with model
// recommendations (cold-start users, who get popular items, are skipped),
// then of similar items: the served cosine scan against the exact one over
// as many random items (the item itself excluded, as served).
ServedRecall MeasureServedRecall(const storage::LiveStore& store,
                                 const std::vector<std::string>& users,
                                 const std::vector<std::string>& items, size_t samples,
                                 uint64_t seed, size_t n) {
  ServedRecall out;
  const size_t target = std::min(samples, users.size());
  engine::SplitMix64 rng(seed);
  size_t hits = 0, total = 0;
  for (size_t tries = 0; out.users < target && tries < 20 * target; ++tries) {
    const std::string& user = users[rng.Uniform(users.size())];
    store.Read([&](const storage::Replica& r) {
      const engine::Recommender& rec = *r.rec;
      engine::RecommendRequest req;
      req.n = n;
      const engine::Recommendations got = rec.RecommendForUser(user, req);
      if (got.source != engine::RecommendationSource::kModel) return;
      const std::vector<engine::ScoredItem> exact = ExactTopN(rec, *rec.users().Find(user), n);
      hits += Hits(rec, got.items, exact);
      total += exact.size();
      ++out.users;
    });
  }
  out.recall = total > 0 ? static_cast<double>(hits) / static_cast<double>(total) : 0.0;
  hits = total = 0;
  const size_t item_samples = std::min(samples, items.size());
  for (size_t k = 0; k < item_samples; ++k) {
    const std::string& item = items[rng.Uniform(items.size())];
    store.Read([&](const storage::Replica& r) {
      const engine::Recommender& rec = *r.rec;
      const auto got = rec.SimilarItems(item, n);
      const std::optional<uint32_t> i = rec.items().Find(item);
      if (!got.ok() || !i) return;
      const engine::MFModel& m = rec.model();
      Eigen::VectorXf q = Eigen::Map<const Eigen::VectorXf>(m.item_factors(*i), m.rank());
      if (q.norm() > 0.0f) q /= q.norm();
      engine::ScanQuery query;
      query.vector = q.data();
      const uint32_t self[] = {*i};
      query.exclude_a = self;
      engine::ScanOptions opt;
      opt.cosine = true;
      const std::vector<engine::ScoredItem> exact =
          engine::TopN(m.item_rows(), m.num_items(), m.rank(), query, n, opt);
      hits += Hits(rec, *got, exact);
      total += exact.size();
      ++out.items;
    });
  }
  out.similar_recall = total > 0 ? static_cast<double>(hits) / static_cast<double>(total) : 0.0;
  store.Read([&](const storage::Replica& r) {
    const engine::Recommender& rec = *r.rec;
    const engine::TopNMethod active = rec.ActiveTopN();
    out.topn = std::string(engine::TopNMethodName(active));
    const engine::IvfIndex& ivf = rec.ivf_index();
    if (active != engine::TopNMethod::kIvf || ivf.lists() == 0) return;
    out.ivf_lists = ivf.lists();
    for (const bool cosine : {false, true}) {
      out.ivf_measured_recall[cosine] = ivf.measured_recall(cosine);
      out.ivf_probe[cosine] = engine::QueryProbe(ivf, rec.options().topn.ivf, cosine);
    }
  });
  return out;
}

HoldoutHitRate MeasureHoldoutHitRate(
    const storage::LiveStore& store,
    const std::vector<std::pair<std::string, std::vector<std::string>>>& holdout, size_t n) {
  HoldoutHitRate out;
  size_t served_hits = 0, popular_hits = 0;
  for (const auto& entry : holdout) {
    // Named, not a structured binding: clang 14 cannot capture those.
    const std::string& user = entry.first;
    const std::vector<std::string>& items = entry.second;
    store.Read([&](const storage::Replica& r) {
      const engine::Recommender& rec = *r.rec;
      const std::optional<uint32_t> u = rec.users().Find(user);
      if (!u) return;
      const std::span<const uint32_t> seen = rec.Seen(*u);
      std::vector<uint32_t> scored;
      for (const std::string& item : items) {
        const std::optional<uint32_t> i = rec.items().Find(item);
        if (!i || std::binary_search(seen.begin(), seen.end(), *i) ||
            std::find(scored.begin(), scored.end(), *i) != scored.end()) {
          continue;
        }
        scored.push_back(*i);
      }
      if (scored.empty()) return;
      engine::RecommendRequest req;
      req.n = n;
      const engine::Recommendations got = rec.RecommendForUser(user, req);
      // The popular list less what the user has had, as RecommendForUser
      // answers a cold user (`popular` views the names `ranked` holds).
      const std::vector<engine::NamedScore> ranked = rec.Popular(n + seen.size());
      std::vector<std::string_view> popular;
      for (const engine::NamedScore& p : ranked) {
        const std::optional<uint32_t> i = rec.items().Find(p.item);
        if (popular.size() < n && i && !std::binary_search(seen.begin(), seen.end(), *i)) {
          popular.push_back(p.item);
        }
      }
      for (const uint32_t i : scored) {
        const std::string_view name = rec.items().Name(i);
        served_hits += static_cast<size_t>(Holds(got.items, name));
        popular_hits +=
            static_cast<size_t>(std::find(popular.begin(), popular.end(), name) != popular.end());
      }
      out.scored += scored.size();
      ++out.users;
      out.model_users += static_cast<size_t>(got.source == engine::RecommendationSource::kModel);
    });
  }
  if (out.scored > 0) {
    out.served = static_cast<double>(served_hits) / static_cast<double>(out.scored);
    out.popular = static_cast<double>(popular_hits) / static_cast<double>(out.scored);
  }
  return out;
}

}  // namespace streamrec::tools
