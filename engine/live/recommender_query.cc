// Recommender's queries: items for users (one at a time or batched into
// one scan), items like an item, popular items. The state they read is
// maintained by recommender.cc.
#include <fmt/format.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <tuple>

#include "engine/live/recommender.h"

namespace streamrec::engine {

const uint8_t* Recommender::AllowedMask(std::string_view category,
                                        std::vector<uint8_t>* mask) const {
  if (category.empty() && !catalog_.any_hidden()) return nullptr;
  catalog_.Mask(category, items_.size(), mask);
  return mask->data();
}

const uint8_t* Recommender::AllowedMask(std::string_view category,
                                        std::span<const std::string> any_of,
                                        std::span<const std::string> none_of,
                                        std::vector<uint8_t>* mask) const {
  if (any_of.empty() && none_of.empty()) return AllowedMask(category, mask);
  const uint32_t n = static_cast<uint32_t>(items_.size());
  catalog_.Mask(category, n, mask);
  std::vector<uint8_t> one;
  if (!any_of.empty()) {
    std::vector<uint8_t> any(n, 0);
    for (const std::string& c : any_of) {
      catalog_.Mask(c, n, &one);
      for (uint32_t i = 0; i < n; ++i) any[i] |= one[i];
    }
    for (uint32_t i = 0; i < n; ++i) (*mask)[i] &= any[i];
  }
  for (const std::string& c : none_of) {
    catalog_.Mask(c, n, &one);
    for (uint32_t i = 0; i < n; ++i) (*mask)[i] &= static_cast<uint8_t>(one[i] == 0);
  }
  return mask->data();
}

std::vector<uint32_t> Recommender::ResolveSorted(const std::vector<std::string>& ids) const {
  std::vector<uint32_t> out;
  out.reserve(ids.size());
  for (const auto& id : ids) {
    if (auto i = items_.Find(id)) out.push_back(*i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<NamedScore> Recommender::Name(const std::vector<ScoredItem>& v) const {
  std::vector<NamedScore> out;
  out.reserve(v.size());
  for (const auto& s : v) out.push_back({std::string(items_.Name(s.item)), s.score});
  return out;
}

void Recommender::Scan(std::span<const ScanQuery> queries, size_t n, const ScanOptions& options,
                       std::vector<std::vector<ScoredItem>>* results) const {
  const TopNMethod active = ActiveTopN();
  if (active == TopNMethod::kInt8) {
    QuantizedTopNScan(quantized_, model_.item_rows(), model_.num_items(), model_.rank(), queries,
                      n, options, options_.topn.int8, results);
  } else if (active == TopNMethod::kIvf && ivf_.size() == model_.num_items()) {
    IvfTopNScan(ivf_, model_.item_rows(), model_.num_items(), model_.rank(), queries, n, options,
                options_.topn.ivf, options_.topn.int8, results);
  } else {
    TopNScan(model_.item_rows(), model_.num_items(), model_.rank(), queries, n, options,
             results);
  }
}

Recommendations Recommender::RecommendForUser(std::string_view user,
                                              const RecommendRequest& req) const {
  const UserQuery q{user, &req};
  return std::move(RecommendForUsers(std::span(&q, 1))[0]);
}

// A batch query that the model answers, prepared for the scan.
struct Recommender::ModelQuery {
  size_t index = 0;  // in the batch
  uint32_t user = 0;
  std::vector<uint32_t> exclude;
  std::span<const uint32_t> seen;
  Eigen::VectorXf folded;  // kRating: a young user's fold-in (else empty)
  float offset = 0.0f;     // kRating: μ + b_u, so scores are ratings
};

std::vector<Recommendations> Recommender::RecommendForUsers(
    std::span<const UserQuery> queries) const {
  std::vector<Recommendations> out(queries.size());
  std::vector<ModelQuery> model;
  model.reserve(queries.size());
  for (size_t j = 0; j < queries.size(); ++j) {
    const RecommendRequest& req = *queries[j].request;
    if (req.rules.active()) {
      out[j] = RecommendWithRules(queries[j].user, req);
      continue;
    }
    const std::optional<uint32_t> u = users_.Find(queries[j].user);
    ModelQuery m{j, u.value_or(0), ResolveSorted(req.exclude), {}, {}, 0.0f};
    if (u && !req.include_seen) m.seen = Seen(*u);
    if (!u || Seen(*u).size() < options_.cold_start_min_items) {
      // Popular minus seen minus excluded: merge the two exclusion lists.
      std::vector<uint32_t> skip(m.seen.begin(), m.seen.end());
      skip.insert(skip.end(), m.exclude.begin(), m.exclude.end());
      std::sort(skip.begin(), skip.end());
      std::vector<uint8_t> mask;
      out[j].items = Name(popularity_.Top(
          req.n, skip, AllowedMask(req.category, req.categories, req.exclude_categories, &mask)));
      out[j].source = RecommendationSource::kPopular;
      continue;
    }
    if (options_.objective == Objective::kRating) {
      // A young user is scored with their exact fold-in (LearnerOptions).
      m.folded.resize(model_.rank());
      float user_bias = model_.user_bias(*u);
      if (!learner_.FoldIn(*u, m.folded.data(), &user_bias)) m.folded.resize(0);
      // The scan ranks by b_i + p·q, which differs from r̂ by μ + b_u.
      m.offset = model_.global_mean() + user_bias;
    }
    model.push_back(std::move(m));
  }
  // One scan per set of filters (the eligibility mask differs between
  // them).
  auto filters = [&](const ModelQuery& m) {
    const RecommendRequest& r = *queries[m.index].request;
    return std::tie(r.category, r.categories, r.exclude_categories);
  };
  std::stable_sort(model.begin(), model.end(), [&](const ModelQuery& a, const ModelQuery& b) {
    return filters(a) < filters(b);
  });
  for (size_t begin = 0, end = 0; begin < model.size(); begin = end) {
    end = begin;
    while (end < model.size() && filters(model[end]) == filters(model[begin])) ++end;
    ScanModelQueries(std::span(model).subspan(begin, end - begin), queries, &out);
  }
  if (options_.exploration.share > 0.0f) {
    for (size_t j = 0; j < queries.size(); ++j) {
      const RecommendRequest& req = *queries[j].request;
      if (req.explore && !req.rules.active()) Explore(queries[j], &out[j]);
    }
  }
  return out;
}

namespace {

// Whether an item described by `meta` passes a request's category filters
// (the mask AllowedMask builds, for an item that has no index yet).
bool PassesFilters(const ItemMeta& meta, const RecommendRequest& req) {
  auto has = [&](std::string_view c) {
    return std::binary_search(meta.categories.begin(), meta.categories.end(), c);
  };
  if (!req.category.empty() && !has(req.category)) return false;
  if (!req.categories.empty() && std::none_of(req.categories.begin(), req.categories.end(), has)) {
    return false;
  }
  return std::none_of(req.exclude_categories.begin(), req.exclude_categories.end(), has);
}

// A stable spread of users over unseen items (FNV-1a).
uint64_t UserTurn(std::string_view user) {
  uint64_t h = 1469598103934665603ull;
  for (const char c : user) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

}  // namespace

void Recommender::Explore(const UserQuery& q, Recommendations* answer) const {
  const RecommendRequest& req = *q.request;
  const ExplorationOptions& x = options_.exploration;
  const size_t slots = std::min(
      req.n, std::max<size_t>(1, static_cast<size_t>(x.share * static_cast<float>(req.n) + 0.5f)));
  const std::vector<uint32_t> excluded = ResolveSorted(req.exclude);
  auto is_excluded_id = [&](std::string_view item) {
    return std::find(req.exclude.begin(), req.exclude.end(), item) != req.exclude.end();
  };
  // Items no event has named: no vector, shown in turn (newest first).
  std::vector<const std::string*> unseen;
  const auto& described = catalog_.unseen();
  for (auto it = described.rbegin(); it != described.rend() && unseen.size() < x.newest_items;
       ++it) {
    const ItemMeta* meta = catalog_.Find(it->second);
    if (meta != nullptr && PassesFilters(*meta, req) && !is_excluded_id(it->second)) {
      unseen.push_back(&it->second);
    }
  }
  // Items with vectors: created recently, or among the newest to appear.
  const uint32_t n_items =
      static_cast<uint32_t>(std::min<size_t>(items_.size(), model_.num_items()));
  std::vector<uint32_t> fresh;
  const int64_t now_ms = req.now_ms != 0 ? req.now_ms : WallClockMs();
  const int64_t recent_ms = now_ms - int64_t{x.new_days} * 86'400'000;
  const auto& created = catalog_.created();
  for (auto it = created.rbegin();
       it != created.rend() && it->first >= recent_ms && fresh.size() < x.newest_items; ++it) {
    if (it->second < n_items) fresh.push_back(it->second);
  }
  const uint32_t first_new = n_items > x.newest_items ? n_items - x.newest_items : 0;
  for (uint32_t i = n_items; i > first_new; --i) {
    const ItemMeta* meta = catalog_.Find(items_.Name(i - 1));
    if (meta == nullptr || meta->created_ms == 0) fresh.push_back(i - 1);  // else created decides
  }
  if (unseen.empty() && fresh.empty()) return;
  // The places kept for the model's own list, then the new items not in it.
  const size_t keep = std::min(answer->items.size(), req.n - slots);
  std::vector<uint32_t> skip = excluded;
  for (size_t k = 0; k < keep; ++k) {
    if (const std::optional<uint32_t> i = items_.Find(answer->items[k].item)) skip.push_back(*i);
  }
  const std::optional<uint32_t> u = users_.Find(q.user);
  if (u && !req.include_seen) {
    const std::span<const uint32_t> seen = Seen(*u);
    skip.insert(skip.end(), seen.begin(), seen.end());
  }
  std::sort(skip.begin(), skip.end());
  std::vector<uint8_t> mask;
  const uint8_t* allowed = AllowedMask(req.category, req.categories, req.exclude_categories, &mask);
  const bool personal =
      u && *u < model_.num_users() && answer->source == RecommendationSource::kModel;
  const int k = model_.rank();
  std::vector<ScoredItem> candidates;
  for (size_t pos = 0; pos < fresh.size(); ++pos) {
    const uint32_t i = fresh[pos];
    if ((allowed != nullptr && allowed[i] == 0) ||
        std::binary_search(skip.begin(), skip.end(), i)) {
      continue;
    }
    // Without a user vector: newest first (the order `fresh` was built in).
    float score = -static_cast<float>(pos);
    if (personal) {
      score = Eigen::Map<const Eigen::VectorXf>(model_.user_factors(*u), k)
                  .dot(Eigen::Map<const Eigen::VectorXf>(model_.item_factors(i), k));
      if (options_.objective != Objective::kImplicit) score += model_.item_bias(i);
    }
    candidates.push_back({i, score});
  }
  // Unseen items take up to half the places (all when nothing else is new).
  size_t take_unseen = std::min(unseen.size(), candidates.empty() ? slots : (slots + 1) / 2);
  const size_t take = std::min(slots - take_unseen, candidates.size());
  take_unseen = std::min(unseen.size(), slots - take);
  if (take + take_unseen == 0) return;
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(take),
                    candidates.end(), [](const ScoredItem& a, const ScoredItem& b) {
                      return a.score > b.score || (a.score == b.score && a.item > b.item);
                    });
  candidates.resize(take);
  if (!personal) {
    // Shown with their popularity, as the rest of a cold user's list.
    for (ScoredItem& c : candidates) c.score = static_cast<float>(popularity_.Score(c.item));
  }
  answer->items.resize(std::min(answer->items.size(), req.n - take - take_unseen));
  for (NamedScore& s : Name(candidates)) answer->items.push_back(std::move(s));
  // No evidence for them yet: score 0. Each user starts at their own turn.
  const size_t turn = take_unseen == 0 ? 0 : static_cast<size_t>(UserTurn(q.user) % unseen.size());
  for (size_t j = 0; j < take_unseen; ++j) {
    answer->items.push_back({*unseen[(turn + j) % unseen.size()], 0.0f});
  }
}

void Recommender::ScanModelQueries(std::span<ModelQuery> model, std::span<const UserQuery> queries,
                                   std::vector<Recommendations>* out) const {
  std::vector<uint8_t> mask;
  ScanOptions opt;
  const RecommendRequest& first = *queries[model[0].index].request;
  opt.allowed = AllowedMask(first.category, first.categories, first.exclude_categories, &mask);
  // Preference p·q (+ b_i for BPR and the rating model's b_i + p·q).
  if (options_.objective != Objective::kImplicit) opt.item_bias = model_.item_biases();
  std::vector<ScanQuery> scan(model.size());
  size_t n = 0;
  for (size_t t = 0; t < model.size(); ++t) {
    const ModelQuery& m = model[t];
    scan[t].vector = m.folded.size() > 0 ? m.folded.data() : model_.user_factors(m.user);
    scan[t].exclude_a = m.seen;
    scan[t].exclude_b = m.exclude;
    scan[t].n = queries[m.index].request->n;
    n = std::max(n, scan[t].n);
  }
  std::vector<std::vector<ScoredItem>> top;
  Scan(scan, n, opt, &top);
  for (size_t t = 0; t < model.size(); ++t) {
    std::vector<ScoredItem>& items = top[t];
    // The best n' of the best n are the best n' (the order is total).
    items.resize(std::min(items.size(), queries[model[t].index].request->n));
    for (ScoredItem& s : items) s.score += model[t].offset;
    Recommendations& r = (*out)[model[t].index];
    r.items = Name(items);
    r.source = RecommendationSource::kModel;
  }
}

StatusOr<std::vector<NamedScore>> Recommender::SimilarItems(std::string_view item, size_t n,
                                                            std::string_view for_user) const {
  SimilarRequest req;
  req.n = n;
  req.user = std::string(for_user);
  return SimilarItems(item, req);
}

StatusOr<std::vector<NamedScore>> Recommender::SimilarItems(std::string_view item,
                                                            const SimilarRequest& req) const {
  const std::optional<uint32_t> i = items_.Find(item);
  if (!i) return Status::NotFound(fmt::format("unknown item '{}'", item));
  if (req.rules.active()) return SimilarWithRules(item, req);
  const int k = model_.rank();
  Eigen::VectorXf q = Eigen::Map<const Eigen::VectorXf>(model_.item_factors(*i), k);
  const float norm = q.norm();
  if (norm > 0.0f) q /= norm;
  // The item itself joins the request's exclusions.
  std::vector<uint32_t> exclude = ResolveSorted(req.exclude);
  exclude.insert(std::upper_bound(exclude.begin(), exclude.end(), *i), *i);
  ScanQuery query;
  query.vector = q.data();
  query.exclude_a = exclude;
  if (!req.user.empty()) {
    if (auto u = users_.Find(req.user)) query.exclude_b = Seen(*u);
  }
  std::vector<uint8_t> mask;
  ScanOptions opt;
  opt.cosine = true;
  opt.allowed = AllowedMask(req.category, req.categories, req.exclude_categories, &mask);
  std::vector<std::vector<ScoredItem>> top;
  Scan(std::span(&query, 1), req.n, opt, &top);
  return Name(top[0]);
}

std::vector<NamedScore> Recommender::Popular(size_t n, std::string_view category) const {
  std::vector<uint8_t> mask;
  return Name(popularity_.Top(n, {}, AllowedMask(category, &mask)));
}

}  // namespace streamrec::engine
