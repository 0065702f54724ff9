#include "engine/eval/prequential.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>

#include "engine/live/fold_in.h"
#include "engine/model/topn.h"

namespace streamrec::engine {
namespace {

constexpr PrequentialMethod kAllMethods[] = {
    PrequentialMethod::kOnline,          PrequentialMethod::kRetrained,
    PrequentialMethod::kOnlineRetrained, PrequentialMethod::kPopularity,
    PrequentialMethod::kRandom,          PrequentialMethod::kRetrainedFoldIn};

// 1-based position of `item` in `list` (first k entries), 0 if absent.
size_t PositionOf(const std::vector<ScoredItem>& list, uint32_t item) {
  for (size_t r = 0; r < list.size(); ++r) {
    if (list[r].item == item) return r + 1;
  }
  return 0;
}

bool Contains(std::span<const uint32_t> sorted, uint32_t x) {
  return std::binary_search(sorted.begin(), sorted.end(), x);
}

}  // namespace

std::string_view PrequentialMethodName(PrequentialMethod m) {
  switch (m) {
    case PrequentialMethod::kOnline:
      return "online";
    case PrequentialMethod::kRetrained:
      return "retrained";
    case PrequentialMethod::kOnlineRetrained:
      return "online+retrain";
    case PrequentialMethod::kPopularity:
      return "popularity";
    case PrequentialMethod::kRandom:
      return "random";
    case PrequentialMethod::kRetrainedFoldIn:
      return "retrained+fold-in";
  }
  return "?";
}

StatusOr<PrequentialMethod> ParsePrequentialMethod(std::string_view name) {
  for (PrequentialMethod m : kAllMethods) {
    if (PrequentialMethodName(m) == name) return m;
  }
  return Status::InvalidArgument(fmt::format(
      "unknown method '{}' (known: online, retrained, retrained+fold-in, online+retrain, "
      "popularity, random)",
      name));
}

// Running sums of one method, overall and in the current window.
struct PrequentialEvaluator::Accumulator {
  uint64_t scored = 0;
  double hits = 0.0, ndcg = 0.0, rr = 0.0;
  uint64_t window_scored = 0;
  double window_hits = 0.0;
  std::vector<double> hr_by_window;
  double seconds = 0.0;
  uint64_t popular = 0;

  void Add(size_t rank, bool popular_answer) {
    ++scored;
    popular += popular_answer;
    ++window_scored;
    if (rank == 0) return;
    hits += 1.0;
    window_hits += 1.0;
    ndcg += 1.0 / std::log2(static_cast<double>(rank) + 1.0);
    rr += 1.0 / static_cast<double>(rank);
  }
};

StatusOr<std::unique_ptr<PrequentialEvaluator>> PrequentialEvaluator::Create(
    const RecommenderOptions& recommender, EventTypes types, const PrequentialOptions& options) {
  if (options.k == 0) return Status::InvalidArgument("k must be >= 1");
  if (options.sample_every == 0) return Status::InvalidArgument("sample_every must be >= 1");
  if (options.methods.empty()) return Status::InvalidArgument("no method to evaluate");
  for (PrequentialMethod m : options.methods) {
    const bool batch = m == PrequentialMethod::kRetrained ||
                       m == PrequentialMethod::kOnlineRetrained ||
                       m == PrequentialMethod::kRetrainedFoldIn;
    if (batch && options.retrain_every == 0) {
      return Status::InvalidArgument(fmt::format(
          "method '{}' needs a retrain interval (retrain_every > 0)", PrequentialMethodName(m)));
    }
  }
  return std::unique_ptr<PrequentialEvaluator>(
      new PrequentialEvaluator(recommender, std::move(types), options));
}

PrequentialEvaluator::PrequentialEvaluator(const RecommenderOptions& recommender, EventTypes types,
                                           const PrequentialOptions& options)
    : options_(options), rng_(options.seed) {
  options_.retrain.model = recommender.model;
  online_ = std::make_unique<Recommender>(recommender, types);
  for (PrequentialMethod m : options_.methods) {
    if (m == PrequentialMethod::kOnlineRetrained && !hybrid_) {
      hybrid_ = std::make_unique<Recommender>(recommender, types);
    }
    if (m == PrequentialMethod::kRetrained || m == PrequentialMethod::kOnlineRetrained ||
        m == PrequentialMethod::kRetrainedFoldIn) {
      needs_batch_ = true;
    }
    if (m == PrequentialMethod::kRetrainedFoldIn) keeps_user_events_ = true;
  }
  acc_.resize(options_.methods.size());
  counts_.k = options_.k;
}

PrequentialEvaluator::~PrequentialEvaluator() = default;

Status PrequentialEvaluator::Observe(const Event& e) {
  STREAMREC_RETURN_IF_ERROR(online_->Validate(e));
  const std::optional<uint32_t> user = online_->users().Find(e.user);
  const std::optional<uint32_t> item = online_->items().Find(e.item);
  const EventTypeSpec& spec = online_->types().spec(e.type);
  // Only a rating model predicts ratings.
  if (spec.explicit_rating && online_->options().objective == Objective::kRating) {
    const float p =
        online_->learner().Predict(user.value_or(UINT32_MAX), item.value_or(UINT32_MAX));
    rating_.Add(std::clamp(p, spec.min_value, spec.max_value), e.value);
  }
  const bool repeat = user && item && Contains(online_->Seen(*user), *item);
  if (repeat) ++counts_.repeats;
  if (!item) {
    ++counts_.cold_items;
  } else if (!repeat || !options_.skip_repeats) {
    if (counts_.eligible++ % options_.sample_every == 0) {
      ++counts_.scored;
      if (!user) ++counts_.cold_users;
      for (size_t m = 0; m < options_.methods.size(); ++m) {
        const auto t0 = std::chrono::steady_clock::now();
        bool popular = false;
        const size_t rank = RankOf(options_.methods[m], e, user, *item, &popular);
        acc_[m].Add(rank, popular);
        acc_[m].seconds +=
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
    }
  }
  // Learn: every method after every method has been judged.
  STREAMREC_RETURN_IF_ERROR(online_->Apply(e));
  if (keeps_user_events_) {
    const uint32_t u = *online_->users().Find(e.user);
    if (u >= user_events_.size()) user_events_.resize(u + 1);
    user_events_[u].push_back({*online_->items().Find(e.item), e.type, e.value});
  }
  if (hybrid_) STREAMREC_RETURN_IF_ERROR(hybrid_->Apply(e));
  ++counts_.events;
  if (needs_batch_) {
    if (const auto target = TrainingTarget(online_->types(), e.type, e.value, options_.retrain)) {
      history_.push_back(
          {*online_->users().Find(e.user), *online_->items().Find(e.item), *target, spec.weight});
    }
    if (counts_.events % options_.retrain_every == 0) STREAMREC_RETURN_IF_ERROR(Retrain());
  }
  if (options_.window > 0 && counts_.events % options_.window == 0) CloseWindow();
  return Status::OK();
}

size_t PrequentialEvaluator::RankOf(PrequentialMethod m, const Event& e,
                                    std::optional<uint32_t> user, uint32_t item, bool* popular) {
  switch (m) {
    case PrequentialMethod::kOnline:
    case PrequentialMethod::kOnlineRetrained: {
      const Recommender& rec = m == PrequentialMethod::kOnline ? *online_ : *hybrid_;
      RecommendRequest req;
      req.n = options_.k;
      req.now_ms = e.ts_ms;  // "recently created" as of the event
      req.rules = options_.online_rules;
      const Recommendations r = rec.RecommendForUser(e.user, req);
      *popular = r.source == RecommendationSource::kPopular;
      std::vector<uint8_t>& shown = shown_[m];
      for (const NamedScore& s : r.items) {
        if (const std::optional<uint32_t> i = rec.items().Find(s.item)) {
          if (*i >= shown.size()) shown.resize(*i + 1, 0);
          shown[*i] = 1;
        }
      }
      for (size_t i = 0; i < r.items.size(); ++i) {
        if (r.items[i].item == e.item) return i + 1;
      }
      return 0;
    }
    case PrequentialMethod::kRetrained:
      return RankRetrained(user, item, /*fold_in=*/false, popular);
    case PrequentialMethod::kRetrainedFoldIn:
      return RankRetrained(user, item, /*fold_in=*/true, popular);
    case PrequentialMethod::kPopularity:
      *popular = true;
      return RankPopular(user, item);
    case PrequentialMethod::kRandom:
      return RankRandom(user, item);
  }
  return 0;
}

size_t PrequentialEvaluator::RankPopular(std::optional<uint32_t> user, uint32_t item) const {
  const std::span<const uint32_t> seen = user ? online_->Seen(*user) : std::span<const uint32_t>();
  return PositionOf(online_->popularity().Top(options_.k, seen), item);
}

size_t PrequentialEvaluator::RankRetrained(std::optional<uint32_t> user, uint32_t item,
                                           bool fold_in, bool* popular) const {
  const bool modelled = batch_ && user && *user < batch_user_items_.size() &&
                        batch_user_items_[*user] >= online_->options().cold_start_min_items;
  Eigen::VectorXf folded;
  if (!modelled && fold_in && batch_ && user && *user < user_events_.size()) {
    // The user's events so far on items the batch model knows.
    const EventTypes& types = online_->types();
    const RecommenderOptions& ro = online_->options();
    std::map<uint32_t, float> strength;
    std::map<uint32_t, std::pair<double, int>> ratings;
    for (const UserEvent& ev : user_events_[*user]) {
      if (ev.item >= batch_->num_items()) continue;
      strength[ev.item] += EventStrength(types, ev.type, ev.value, ro.signal);
      if (const std::optional<float> r = types.Target(ev.type, ev.value)) {
        ratings[ev.item].first += *r;
        ++ratings[ev.item].second;
      }
    }
    FoldInSettings s;
    s.objective = ro.objective;
    s.alpha = ro.implicit.alpha;
    s.implicit = ro.implicit.objective();
    s.regularization = ro.learner.fold_in_regularization;
    s.bias_regularization = ro.learner.fold_in_bias_regularization;
    float offset = 0.0f;
    if (!FoldInRow(*batch_, &batch_gramian_, s, strength, ratings, &folded, &offset)) {
      folded.resize(0);
    }
  }
  *popular = !modelled && folded.size() == 0;
  if (*popular) return RankPopular(user, item);
  ScanQuery q;
  q.vector = modelled ? batch_->user_factors(*user) : folded.data();
  q.exclude_a = online_->Seen(*user);
  ScanOptions opt;
  opt.item_bias = batch_->item_biases();
  const std::vector<ScoredItem> top =
      TopN(batch_->item_rows(), batch_->num_items(), batch_->rank(), q, options_.k, opt);
  return PositionOf(top, item);
}

// K distinct items drawn uniformly from the known items the user has not
// seen; the rank is the draw's position.
size_t PrequentialEvaluator::RankRandom(std::optional<uint32_t> user, uint32_t item) {
  const uint32_t n = online_->items().size();
  const std::span<const uint32_t> seen = user ? online_->Seen(*user) : std::span<const uint32_t>();
  const size_t candidates = n - seen.size();
  scratch_.clear();
  if (candidates <= options_.k) {  // the whole remaining catalog, shuffled
    for (uint32_t i = 0; i < n; ++i) {
      if (!Contains(seen, i)) scratch_.push_back(i);
    }
    for (size_t i = scratch_.size(); i > 1; --i)
      std::swap(scratch_[i - 1], scratch_[rng_.Uniform(i)]);
  } else {
    while (scratch_.size() < options_.k) {
      const auto i = static_cast<uint32_t>(rng_.Uniform(n));
      if (Contains(seen, i) || std::find(scratch_.begin(), scratch_.end(), i) != scratch_.end()) {
        continue;
      }
      scratch_.push_back(i);
    }
  }
  const auto it = std::find(scratch_.begin(), scratch_.end(), item);
  return it == scratch_.end() ? 0 : static_cast<size_t>(it - scratch_.begin()) + 1;
}

Status PrequentialEvaluator::Retrain() {
  const auto t0 = std::chrono::steady_clock::now();
  EvalSplit all;
  all.train = history_;
  all.num_users = online_->users().size();
  all.num_items = online_->items().size();
  StatusOr<MFModel> trained = TrainModel(all, options_.retrain, nullptr);
  if (!trained.ok()) return trained.status();
  batch_user_items_.resize(all.num_users);
  for (uint32_t u = 0; u < all.num_users; ++u) {
    batch_user_items_[u] = static_cast<uint32_t>(online_->Seen(u).size());
  }
  if (hybrid_) STREAMREC_RETURN_IF_ERROR(hybrid_->InstallModel(trained->Clone()));
  if (keeps_user_events_ && online_->options().objective == Objective::kImplicit) {
    const RowMatrixXf items = trained->ItemRows();
    const Eigen::Map<const Eigen::MatrixXf> q(items.data(), trained->rank(), trained->num_items());
    batch_gramian_ = q * q.transpose();
  }
  batch_.emplace(std::move(trained).value());
  ++counts_.retrains;
  counts_.retrain_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return Status::OK();
}

void PrequentialEvaluator::CloseWindow() {
  counts_.window_end.push_back(counts_.events);
  for (Accumulator& a : acc_) {
    a.hr_by_window.push_back(a.window_scored ? a.window_hits / a.window_scored
                                             : std::numeric_limits<double>::quiet_NaN());
    a.window_scored = 0;
    a.window_hits = 0.0;
  }
}

PrequentialResult PrequentialEvaluator::Result() const {
  PrequentialResult r = counts_;
  r.rating = rating_.Result();
  const bool partial = options_.window > 0 && counts_.events % options_.window != 0;
  if (partial) r.window_end.push_back(counts_.events);
  for (size_t m = 0; m < acc_.size(); ++m) {
    const Accumulator& a = acc_[m];
    PrequentialMethodResult mr;
    mr.method = options_.methods[m];
    mr.name = std::string(PrequentialMethodName(mr.method));
    mr.scored = a.scored;
    mr.popular_answers = a.popular;
    if (a.scored > 0) {
      mr.hit_rate = a.hits / a.scored;
      mr.ndcg = a.ndcg / a.scored;
      mr.mrr = a.rr / a.scored;
    }
    mr.hr_by_window = a.hr_by_window;
    if (partial) {
      mr.hr_by_window.push_back(a.window_scored ? a.window_hits / a.window_scored
                                                : std::numeric_limits<double>::quiet_NaN());
    }
    mr.seconds = a.seconds;
    mr.coverage = std::numeric_limits<double>::quiet_NaN();
    if (mr.method == PrequentialMethod::kOnline ||
        mr.method == PrequentialMethod::kOnlineRetrained) {
      const auto it = shown_.find(mr.method);
      const size_t items = online_->items().size();
      const size_t n = it == shown_.end() ? 0 : std::count(it->second.begin(), it->second.end(), 1);
      mr.coverage = items > 0 ? static_cast<double>(n) / static_cast<double>(items) : 0.0;
    }
    r.methods.push_back(std::move(mr));
  }
  return r;
}

}  // namespace streamrec::engine
