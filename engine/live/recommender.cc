#include "engine/live/recommender.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "engine/core/id_text.h"
#include "engine/model/sgd_step.h"

namespace streamrec::engine {
namespace {

Status ValidateId(std::string_view what, std::string_view id, size_t max_len) {
  if (id.empty()) return Status::InvalidArgument(fmt::format("{} id is empty", what));
  if (id.size() > max_len) {
    return Status::InvalidArgument(
        fmt::format("{} id is {} bytes long; the limit is {}", what, id.size(), max_len));
  }
  return CheckIdText(fmt::format("{} id", what), id);
}

}  // namespace

std::string_view SourceName(RecommendationSource s) {
  return s == RecommendationSource::kModel ? "model" : "popular";
}

std::string_view ObjectiveName(Objective o) {
  switch (o) {
    case Objective::kImplicit:
      return "implicit";
    case Objective::kBpr:
      return "bpr";
    case Objective::kRating:
      break;
  }
  return "rating";
}

StatusOr<Objective> ParseObjective(std::string_view name) {
  if (name == "rating") return Objective::kRating;
  if (name == "implicit") return Objective::kImplicit;
  if (name == "bpr") return Objective::kBpr;
  return Status::InvalidArgument(
      fmt::format("unknown model objective '{}' (known: rating, implicit, bpr)", name));
}

std::string_view TopNMethodName(TopNMethod m) {
  switch (m) {
    case TopNMethod::kExact:
      return "exact";
    case TopNMethod::kInt8:
      return "int8";
    case TopNMethod::kIvf:
      return "ivf";
    case TopNMethod::kAuto:
      break;
  }
  return "auto";
}

StatusOr<TopNMethod> ParseTopNMethod(std::string_view name) {
  if (name == "auto") return TopNMethod::kAuto;
  if (name == "exact") return TopNMethod::kExact;
  if (name == "int8") return TopNMethod::kInt8;
  if (name == "ivf") return TopNMethod::kIvf;
  return Status::InvalidArgument(
      fmt::format("unknown top-N method '{}' (known: auto, exact, int8, ivf)", name));
}

Status Recommender::ValidateOptions(const RecommenderOptions& o) {
  STREAMREC_RETURN_IF_ERROR(ValidateModelOptions(o.model));
  const SgdParams& s = o.learner.sgd;
  if (!(s.learning_rate > 0) || !std::isfinite(s.learning_rate) || !(s.regularization >= 0) ||
      !(s.bias_learning_rate >= 0) || !(s.bias_regularization >= 0) ||
      !std::isfinite(s.regularization) || !std::isfinite(s.bias_learning_rate) ||
      !std::isfinite(s.bias_regularization)) {
    return Status::InvalidArgument(
        "learner learning_rate must be positive, the bias rate and regularisation >= 0, all "
        "finite");
  }
  if (!(o.learner.fold_in_regularization > 0) || !(o.learner.fold_in_bias_regularization > 0)) {
    return Status::InvalidArgument("learner fold-in regularisation must be positive");
  }
  if (!(o.popularity.half_life_ms > 0)) {
    return Status::InvalidArgument("popularity half-life must be positive");
  }
  if (o.max_id_length < 1 || o.max_id_length > IdMap::kMaxIdBytes) {
    return Status::InvalidArgument(fmt::format("max_id_length must be in [1, {}], got {}",
                                               IdMap::kMaxIdBytes, o.max_id_length));
  }
  if (!(o.exploration.share >= 0.0f && o.exploration.share <= 0.5f) ||
      o.exploration.newest_items < 1 || o.exploration.new_days > 36500) {
    return Status::InvalidArgument(
        "exploration share must be from 0 to 0.5, exploration newest items at least 1 and "
        "exploration new days at most 36500");
  }
  if (o.topn.int8.candidate_factor < 1 || o.topn.int8.candidate_factor > 1000 ||
      o.topn.int8.min_candidates > 100000) {
    return Status::InvalidArgument(
        "int8 candidate factor must be in [1, 1000] and min candidates at most 100000");
  }
  if (o.topn.ivf.lists > (1u << 20) || o.topn.ivf.probe > (1u << 20)) {
    return Status::InvalidArgument("ivf lists and probe must be at most 1048576");
  }
  if (!(o.topn.ivf.target_recall >= 0.0f && o.topn.ivf.target_recall <= 1.0f)) {
    return Status::InvalidArgument(
        fmt::format("ivf target recall must be in [0, 1], got {}", o.topn.ivf.target_recall));
  }
  if (o.topn.ivf.kmeans_iterations < 1 || o.topn.ivf.kmeans_iterations > 100 ||
      o.topn.ivf.kmeans_points_per_list < 1) {
    return Status::InvalidArgument(
        "ivf k-means iterations must be in [1, 100] and points per list at least 1");
  }
  if (o.objective == Objective::kImplicit) {
    STREAMREC_RETURN_IF_ERROR(ImplicitOnlineUpdater::Validate(o.implicit));
  }
  if (o.objective == Objective::kBpr) STREAMREC_RETURN_IF_ERROR(o.bpr.Validate());
  return Status::OK();
}

StatusOr<std::unique_ptr<Recommender>> Recommender::Create(const RecommenderOptions& options,
                                                           EventTypes types) {
  STREAMREC_RETURN_IF_ERROR(ValidateOptions(options));
  return std::make_unique<Recommender>(options, std::move(types));
}

Recommender::Recommender(const RecommenderOptions& options, EventTypes types)
    : options_(options),
      types_(std::move(types)),
      model_(options.model),
      learner_(&model_, &types_, options.learner),
      popularity_(options.popularity),
      quantized_(options.model.rank),
      ivf_(options.model.rank) {
  if (options_.objective == Objective::kImplicit) {
    implicit_ = std::make_shared<ImplicitOnlineUpdater>(options_.implicit, model_);
  }
}

Status Recommender::Validate(const Event& e) const {
  STREAMREC_RETURN_IF_ERROR(ValidateId("user", e.user, options_.max_id_length));
  STREAMREC_RETURN_IF_ERROR(ValidateId("item", e.item, options_.max_id_length));
  if (e.type >= types_.size()) {
    return Status::InvalidArgument(fmt::format("unknown event type index {}", e.type));
  }
  const EventTypeSpec& spec = types_.spec(e.type);
  // Any type: an infinite or NaN value is stored and echoed as such.
  if (!std::isfinite(e.value)) {
    return Status::InvalidArgument(fmt::format("{} value {} is not finite", spec.name, e.value));
  }
  if (spec.explicit_rating &&
      (!std::isfinite(e.value) || e.value < spec.min_value || e.value > spec.max_value)) {
    return Status::InvalidArgument(fmt::format("{} value {} is outside [{}, {}]", spec.name,
                                               e.value, spec.min_value, spec.max_value));
  }
  return Status::OK();
}

IndexedEvent Recommender::Index(const Event& e) {
  IndexedEvent x;
  x.user = users_.GetOrAdd(e.user);
  bool new_item = false;
  x.item = items_.GetOrAdd(e.item, &new_item);
  if (new_item) catalog_.OnNewItem(x.item, items_);
  x.type = e.type;
  x.value = e.value;
  x.ts_ms = e.ts_ms;
  // Seen first: BPR's negatives are drawn from the items not seen.
  seen_.Insert(x.user, x.item);
  return x;
}

void Recommender::Count(const IndexedEvent& x, const Recommender* leader, float moved) {
  // A leader's upkeep ends its Learn; a follower, which takes the step
  // instead of taking it (ApplyFollowing), has its here, on the same rows.
  if (leader != nullptr) IndexUpkeep(events_applied_, leader);
  Requantize(x.item, leader, moved);
  popularity_.Add(x.item, types_.spec(x.type).weight, x.ts_ms);
  ++events_applied_;
}

Status Recommender::Apply(const Event& e) {
  STREAMREC_RETURN_IF_ERROR(Validate(e));
  Step(IndexLeading(e));
  return Status::OK();
}

IndexedEvent Recommender::IndexLeading(const Event& e) {
  const IndexedEvent x = Index(e);
  if (implicit_ && implicit_.use_count() > 1) led_.push_back(x);  // for the follower
  return x;
}

void Recommender::Step(const IndexedEvent& x) {
  const float moved = Learn(x, events_applied_);
  Count(x, nullptr, moved);
}

bool Recommender::IndexWantsMove(uint32_t i) const {
  return !index_deferred_ && i < model_.num_items() && ActiveTopN() == TopNMethod::kIvf &&
         ivf_.lists() > 0;
}

float Recommender::Learn(const IndexedEvent& x, uint64_t ordinal) {
  // The item's row before the step, where the IVF index will want to
  // know how far it moved.
  const int k = model_.rank();
  const bool track = IndexWantsMove(x.item);
  const MFModel& rows = model_;  // reads (a non-const item_factors(i) takes the page)
  if (track) item_before_.assign(rows.item_factors(x.item), rows.item_factors(x.item) + k);
  if (options_.objective == Objective::kRating) {
    (void)learner_.Apply(x);  // the error value is for evaluation only
  } else {
    model_.EnsureUsers(x.user + 1);
    model_.EnsureItems(x.item + 1);
    // A type or rating that counts for nothing (strength 0) is still seen.
    const float w = EventStrength(types_, x.type, x.value, options_.signal);
    if (w > 0.0f && implicit_) (void)implicit_->Apply(&model_, x.user, x.item, w);
    if (w > 0.0f && options_.objective == Objective::kBpr) {
      BprLearn(x.user, x.item, w, events_applied_);
    }
  }
  IndexUpkeep(ordinal, nullptr);
  return track ? IvfIndex::Distance(rows.item_factors(x.item), item_before_.data(), k)
               : IvfIndex::kUnknownMove;
}

void Recommender::PrefetchLearn(const IndexedEvent& x, int stage) const {
  if (implicit_) implicit_->Prefetch(model_, x.user, x.item, stage);
}

void Recommender::CompactMemory() {
  seen_.Compact();
  if (implicit_) implicit_->Compact();
}

void Recommender::BprLearn(uint32_t u, uint32_t i, float w, uint64_t salt) {
  BprSteps(&model_, u, i, w, salt, /*upkeep=*/true);
}

void Recommender::BprSteps(MFModel* model, uint32_t u, uint32_t i, float w, uint64_t salt,
                           bool upkeep) {
  const BprOnlineOptions& o = options_.bpr;
  SplitMix64 rng(o.seed ^ ((salt + 1) * 0x9E3779B97F4A7C15ull));
  const float lr = o.learning_rate * std::min(w, 1.0f);
  for (uint32_t n = 0; n < o.negatives; ++n) {
    const uint32_t j = BprNegative(Seen(u), model->num_items(), &rng);
    if (j == UINT32_MAX) return;  // the user has every item
    (void)BprStep(model, u, i, j, lr, o.regularization, o.bias_regularization);
    if (!upkeep) continue;
    // A negative's small step away from u is re-coded in its IVF cell but
    // not re-filed (16 GEMVs over the centroids an event cost BPR 3x its
    // throughput at 100k items); it is re-filed when it is next a positive
    // item or at the next training. Both copies apply alike, so they agree.
    if (ActiveTopN() == TopNMethod::kIvf && j < ivf_.size() && ivf_.lists() > 0) {
      ivf_.Recode(j, model_.item_rows());
    } else {
      Requantize(j);
    }
  }
}

void Recommender::Reset() {
  led_.clear();
  trained_led_.clear();
  followed_ = 0;
  users_ = IdMap();
  items_ = IdMap();
  model_ = MFModel(options_.model);
  // The learner points at model_, whose address has not changed.
  learner_ = OnlineLearner(&model_, &types_, options_.learner);
  if (implicit_) implicit_ = std::make_shared<ImplicitOnlineUpdater>(options_.implicit, model_);
  popularity_ = Popularity(options_.popularity);
  seen_.Reset();
  events_applied_ = 0;
  catalog_.Clear();
  quantized_ = QuantizedItems(options_.model.rank);
  ivf_ = IvfIndex(options_.model.rank);
  DropRetraining();
}

std::vector<MemoryPart> Recommender::MemoryUsage() const {
  const size_t k = static_cast<size_t>(model_.rank());
  const size_t page = size_t{MFModel::kUserPageRows} * k * sizeof(float);
  const size_t own_pages = model_.OwnUserPages();
  const size_t own_item_pages = model_.OwnItemPages();
  std::vector<MemoryPart> parts = {
      {"all biases", (size_t{model_.num_items()} + model_.num_users()) * sizeof(float)},
      // Pages this copy holds alone, and those it shares (with the other
      // Left-Right copy, or a retrain's fork).
      {"user factors, own pages", own_pages * page + model_.UserPageTableBytes()},
      // Freed pages kept for the next copies, by both Left-Right copies.
      {"user and item factors, page pool", model_.PagePoolBytes(), true},
      {"user factors, shared pages", (model_.UserPages() - own_pages) * page, true},
      {"item factors, own pages", own_item_pages * page + model_.ItemPageTableBytes()},
      {"item factors, shared pages", (model_.ItemPages() - own_item_pages) * page, true},
      {"int8 item mirror", quantized_.MemoryBytes()},
      {"ivf index", ivf_.MemoryBytes()},
      // Both copies hold the same retraining (IndexUpkeep).
      {"ivf index, retraining", ivf_next_ ? ivf_next_->MemoryBytes() : 0, true},
      {"id maps, own pages", users_.MemoryBytes(false) + items_.MemoryBytes(false)},
      {"id maps, shared pages", users_.MemoryBytes(true) + items_.MemoryBytes(true), true},
      {"seen-item lists, own pages", seen_.MemoryBytes(false)},
      {"seen-item lists, shared pages", seen_.MemoryBytes(true), true},
      {"popularity", popularity_.raw_scores().capacity() * sizeof(double)},
  };
  if (implicit_) {
    const bool shared = implicit_.use_count() > 1;
    parts.push_back({"implicit history: cell index", implicit_->IndexBytes(), shared});
    parts.push_back({"implicit history: row lists", implicit_->RowBytes(), shared});
  }
  return parts;
}

Status Recommender::InstallModel(MFModel trained) { return InstallModel(std::move(trained), {}); }

Status Recommender::InstallModel(MFModel trained, std::span<const Event> since) {
  StatusOr<PendingInstall> pending = BeginInstall(std::move(trained));
  STREAMREC_RETURN_IF_ERROR(pending.status());
  CatchUp(&*pending, since);
  return FinishInstall(std::move(pending).value(), /*applied_since=*/false);
}

StatusOr<Recommender::PendingInstall> Recommender::BeginInstall(MFModel trained) const {
  if (trained.rank() != model_.rank()) {
    return Status::FailedPrecondition(fmt::format("trained model has rank {}, the serving model {}",
                                                  trained.rank(), model_.rank()));
  }
  if (trained.num_users() > users_.size() || trained.num_items() > items_.size()) {
    return Status::FailedPrecondition("trained model has rows for unknown users or items");
  }
  const uint32_t users = trained.num_users(), items = trained.num_items();
  PendingInstall p{std::move(trained), users, items, users, items, {}, 0};
  TakeOnlineRows(&p, /*all=*/true);
  if (implicit_) p.gramians = ImplicitOnlineUpdater::GramiansOf(p.model);
  return p;
}

void Recommender::TakeOnlineRows(PendingInstall* p, bool all) const {
  // Rows first seen after the training snapshot keep their online state.
  MFModel& m = p->model;
  m.EnsureUsers(model_.num_users());
  m.EnsureItems(model_.num_items());
  const MFModel& live = model_;  // reads (a non-const user_factors(u) takes the page)
  for (uint32_t u = all ? p->trained_users : p->users_taken; u < model_.num_users(); ++u) {
    std::copy_n(live.user_factors(u), model_.rank(), m.user_factors(u));
    m.user_bias(u) = model_.user_bias(u);
  }
  for (uint32_t i = all ? p->trained_items : p->items_taken; i < model_.num_items(); ++i) {
    std::copy_n(live.item_factors(i), model_.rank(), m.item_factors(i));
    m.item_bias(i) = model_.item_bias(i);
  }
  p->users_taken = model_.num_users();
  p->items_taken = model_.num_items();
  if (!all) return;
  // A user forgotten while the model trained must not come back with it.
  for (uint32_t u = 0; u < p->trained_users; ++u) {
    if (users_.Name(u).empty()) {
      std::fill_n(m.user_factors(u), m.rank(), 0.0f);
      m.user_bias(u) = 0.0f;
    }
  }
}

void Recommender::CatchUp(PendingInstall* p, std::span<const Event> events) {
  // Rows the serving model added since the last call: the history the
  // steps read names them.
  TakeOnlineRows(p, /*all=*/false);
  // The steps read and patch the pending model's Gramians, not the
  // serving model's (the history is the same for both).
  if (implicit_) implicit_->SwapGramians(&p->gramians);
  for (const Event& e : events) {
    const uint64_t n = p->events++;
    const std::optional<uint32_t> u = users_.Find(e.user), i = items_.Find(e.item);
    if (!u || !i || *u >= p->trained_users || *i >= p->trained_items || e.type >= types_.size()) {
      continue;
    }
    if (options_.objective == Objective::kBpr) {
      const float w = EventStrength(types_, e.type, e.value, options_.signal);
      // A salt no live event has (those count up from 0).
      if (w > 0.0f) BprSteps(&p->model, *u, *i, w, ~uint64_t{0} - n, /*upkeep=*/false);
    } else if (implicit_) {
      // Fails only for a cell with no strength: nothing to step.
      (void)implicit_->Step(&p->model, *u, *i);
    } else if (const std::optional<float> target = types_.Target(e.type, e.value)) {
      (void)SgdStep(&p->model, *u, *i, *target, types_.spec(e.type).weight, learner_.options().sgd);
    }
  }
  if (implicit_) implicit_->SwapGramians(&p->gramians);
}

Status Recommender::FinishInstall(PendingInstall p, bool applied_since) {
  if (p.model.rank() != model_.rank() || p.model.num_users() > users_.size() ||
      p.model.num_items() > items_.size()) {
    return Status::FailedPrecondition("the pending model does not fit this recommender");
  }
  // The serving model's rows past the training's moved (and more came)
  // since BeginInstall: taken again, and the Gramians recomputed with them.
  if (applied_since) TakeOnlineRows(&p, /*all=*/true);
  model_ = std::move(p.model);
  if (implicit_) {
    implicit_->SwapGramians(&p.gramians);
    if (applied_since) implicit_->Resync(model_);
  }
  RequantizeAll();
  return Status::OK();
}

Status Recommender::ValidateItemMeta(std::string_view item, const ItemMeta& meta) const {
  STREAMREC_RETURN_IF_ERROR(ValidateId("item", item, options_.max_id_length));
  return Catalog::Validate(meta);
}

Status Recommender::SetItemMeta(std::string_view item, ItemMeta meta) {
  STREAMREC_RETURN_IF_ERROR(ValidateItemMeta(item, meta));
  catalog_.Put(item, std::move(meta), items_);
  return Status::OK();
}

bool Recommender::RemoveItemMeta(std::string_view item) { return catalog_.Remove(item, items_); }

bool Recommender::ForgetUser(std::string_view user, std::span<const Event> events) {
  return Forget(user, events, nullptr);
}

bool Recommender::Forget(std::string_view user, std::span<const Event> events,
                         const Recommender* leader) {
  const std::optional<uint32_t> u = users_.Forget(user);
  if (!u) return false;
  uint64_t targets = 0;
  double target_sum = 0.0;
  for (const Event& e : events) {
    const std::optional<uint32_t> i = items_.Find(e.item);
    if (e.user != user || !i || e.type >= types_.size()) continue;
    popularity_.Remove(*i, types_.spec(e.type).weight, e.ts_ms);
    if (events_applied_ > 0) --events_applied_;
    if (options_.objective != Objective::kRating) continue;
    if (const std::optional<float> t = types_.Target(e.type, e.value)) {
      ++targets;
      target_sum += *t;
    }
  }
  learner_.RemoveFromMean(targets, target_sum);
  // The updater first: it takes the row out of its Gramian, so it must see
  // the row before it is zeroed.
  if (implicit_) {
    // The updater re-solves the items u had; a follower takes those rows
    // from the leader, whose updater step it was.
    if (leader == nullptr) implicit_->ForgetUser(&model_, *u);
    for (uint32_t i : Seen(*u)) {
      if (leader != nullptr && i < model_.num_items() && i < leader->model_.num_items()) {
        std::copy_n(leader->model_.item_factors(i), model_.rank(), model_.item_factors(i));
      }
      Requantize(i, leader);
    }
  }
  if (*u < model_.num_users()) {
    if (leader != nullptr && *u < leader->model_.num_users()) {
      model_.ShareUserPage(leader->model_, *u);  // the leader zeroed the row
    } else {
      std::fill_n(model_.user_factors(*u), model_.rank(), 0.0f);
    }
    model_.user_bias(*u) = 0.0f;
  }
  learner_.ForgetUser(*u);
  seen_.Clear(*u);
  return true;
}

std::span<const uint32_t> Recommender::Seen(uint32_t u) const { return seen_.Get(u); }

}  // namespace streamrec::engine
