// Recommender: the engine's front door. It resolves the application's
// string ids, validates events against the event-type registry, applies them
// to the online model, the popularity counts and each user's seen items, and
// answers the three questions streamrec serves: items for a user, items like
// an item, and what is popular.
//
// Thread-safety: not synchronised. One writer calls Apply(); queries are
// const and may run concurrently with each other but not with Apply().
// (The server publishes immutable copies for its readers.)
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/catalog.h"
#include "engine/event.h"
#include "engine/event_types.h"
#include "engine/id_map.h"
#include "engine/mf_model.h"
#include "engine/online_learner.h"
#include "engine/popularity.h"
#include "engine/status.h"
#include "engine/topn.h"

namespace streamrec::engine {

struct RecommenderOptions {
  ModelOptions model;
  LearnerOptions learner;
  PopularityOptions popularity;
  // A user with fewer distinct items than this gets popular items: a model
  // vector fitted to one or two events is mostly its random start.
  uint32_t cold_start_min_items = 3;
  // Longest id accepted for users and items, in bytes.
  size_t max_id_length = 256;
};

// An event as the application names it.
struct Event {
  std::string_view user;
  std::string_view item;
  EventTypeId type = 0;
  float value = 0.0f;
  int64_t ts_ms = 0;
};

struct NamedScore {
  std::string item;
  float score = 0.0f;
};

enum class RecommendationSource { kModel, kPopular };
std::string_view SourceName(RecommendationSource s);

struct Recommendations {
  std::vector<NamedScore> items;
  RecommendationSource source = RecommendationSource::kPopular;
};

struct RecommendRequest {
  size_t n = 10;
  std::vector<std::string> exclude;  // item ids never to return
  bool include_seen = false;         // return items the user already has
  std::string category;              // only items of this category ("" = any)
};

struct SimilarRequest {
  size_t n = 10;
  std::string user;                  // exclude this user's seen items ("" = none)
  std::vector<std::string> exclude;  // item ids never to return
  std::string category;              // only items of this category ("" = any)
};

class Recommender {
 public:
  Recommender(const RecommenderOptions& options, EventTypes types);
  Recommender(const Recommender&) = delete;
  Recommender& operator=(const Recommender&) = delete;

  // Checks an event without applying it: ids non-empty, short, free of
  // control characters; ratings finite and in range; weight known.
  Status Validate(const Event& e) const;
  // Validates and applies one event.
  Status Apply(const Event& e);

  // Replaces the model with one trained in batch over this recommender's
  // users and items (rows beyond the trained ones keep their online
  // vectors). FailedPrecondition if the rank differs or the new model has
  // more rows than ids are known.
  Status InstallModel(MFModel trained);
  // InstallModel, then one online SGD step per event of `since` (events
  // this recommender applied after the trained model's data was taken,
  // in order) on the rows the trained model covers, so a retrain does not
  // undo what users did while it ran. Only the factor and bias steps are
  // replayed: seen items, popularity and counts already hold the events.
  // Events of ids unknown now (forgotten) or types that do not train are
  // skipped.
  Status InstallModel(MFModel trained, std::span<const Event> since);

  Recommendations RecommendForUser(std::string_view user, const RecommendRequest& req) const;
  // Items most like `item` by cosine of their vectors. NotFound for an
  // unknown item. `for_user` (optional) excludes that user's seen items.
  StatusOr<std::vector<NamedScore>> SimilarItems(std::string_view item, size_t n,
                                                 std::string_view for_user = {}) const;
  StatusOr<std::vector<NamedScore>> SimilarItems(std::string_view item,
                                                 const SimilarRequest& req) const;
  // The n most popular visible items, of `category` if non-empty.
  std::vector<NamedScore> Popular(size_t n, std::string_view category = {}) const;

  // Item metadata (categories, hidden). Hidden items are never returned by
  // the three queries above; a category filter keeps only its items.
  // InvalidArgument for a bad id or metadata (Catalog::Validate).
  Status SetItemMeta(std::string_view item, ItemMeta meta);
  // The checks SetItemMeta makes, without changing anything.
  Status ValidateItemMeta(std::string_view item, const ItemMeta& meta) const;
  // False if the item had no metadata.
  bool RemoveItemMeta(std::string_view item);
  const Catalog& catalog() const { return catalog_; }

  const EventTypes& types() const { return types_; }
  const RecommenderOptions& options() const { return options_; }
  const IdMap& users() const { return users_; }
  const IdMap& items() const { return items_; }
  const MFModel& model() const { return model_; }
  const Popularity& popularity() const { return popularity_; }
  const OnlineLearner& learner() const { return learner_; }
  // Items user u has interacted with, sorted ascending.
  std::span<const uint32_t> Seen(uint32_t u) const;
  uint64_t events_applied() const { return events_applied_; }

  // Forgets a user (right to be forgotten): their id, vector, bias, seen
  // items and learner state. What their events taught the item vectors and
  // popularity counts stays until the next batch retrain over a log that no
  // longer holds them. Returns false for an unknown user.
  bool ForgetUser(std::string_view user);

  // Back to the freshly constructed state (same options and types): no
  // ids, rows, counts, seen items or item metadata.
  void Reset();

 private:
  // engine/snapshot.h: reads and replaces the whole state.
  friend struct SnapshotCodec;

  std::vector<uint32_t> ResolveSorted(const std::vector<std::string>& ids) const;
  std::vector<NamedScore> Name(const std::vector<ScoredItem>& v) const;
  // The eligibility mask for TopN/Popularity (visible items, of `category`
  // if non-empty) built in *mask, or null when every item is eligible.
  const uint8_t* AllowedMask(std::string_view category, std::vector<uint8_t>* mask) const;

  RecommenderOptions options_;
  EventTypes types_;
  IdMap users_;
  IdMap items_;
  MFModel model_;
  OnlineLearner learner_;
  Popularity popularity_;
  std::vector<std::vector<uint32_t>> seen_;  // per user, sorted
  // Not part of snapshots: storage keeps it in its own column family.
  Catalog catalog_;
  uint64_t events_applied_ = 0;
};

}  // namespace streamrec::engine
