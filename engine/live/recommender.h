// Recommender: the engine's front door. It resolves the application's
// string ids, validates events against the event-type registry, applies them
// to the online model, the popularity counts and each user's seen items, and
// answers the three questions streamrec serves: items for a user, items like
// an item, and what is popular.
//
// Thread-safety: not synchronised. One writer calls Apply(); queries are
// const and may run concurrently with each other but not with Apply().
// (The server keeps two copies, engine/core/left_right.h: readers use the
// published one while its single writer changes the other.)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/catalog.h"
#include "engine/core/event.h"
#include "engine/core/event_types.h"
#include "engine/core/id_map.h"
#include "engine/core/status.h"
#include "engine/live/queries.h"
#include "engine/live/seen_lists.h"
#include "engine/model/implicit_data.h"
#include "engine/model/ivf_index.h"
#include "engine/model/ivf_training.h"
#include "engine/model/mf_model.h"
#include "engine/model/popularity.h"
#include "engine/model/quantized_items.h"
#include "engine/model/topn.h"
#include "engine/online/bpr_online.h"
#include "engine/online/implicit_online.h"
#include "engine/online/online_learner.h"

namespace streamrec::engine {

// What the online model learns from events, and so what its scores mean.
//   kRating    biased MF, r̂ = μ + b_u + b_i + p·q, one SGD step per event
//              with a rating or implied rating (OnlineLearner); scores are
//              predicted ratings. Best at predicting ratings (RMSE).
//   kImplicit  weighted MF of interaction vs none (iALS's objective, no
//              biases): each event adds its strength (EventStrength) to its
//              (user, item) cell and moves p_u and q_i by the eALS-style
//              update (ImplicitOnlineUpdater); scores are preferences p·q.
//              Best at ranking (what top-N lists need); retrains with ials.
//   kBpr       Bayesian personalised ranking, x̂ = b_i + p·q: each event (u, i)
//              takes SGD steps on (u, i, j) against unseen items j drawn at
//              random (BprOnlineOptions); scores rank. Retrains with bpr.
enum class Objective : uint8_t { kRating = 0, kImplicit = 1, kBpr = 2 };
std::string_view ObjectiveName(Objective o);
// "rating", "implicit" or "bpr"; InvalidArgument otherwise.
StatusOr<Objective> ParseObjective(std::string_view name);

// How top-N queries (RecommendForUser(s), SimilarItems) read the items.
//   kExact  the float scan of every item (topn.h): the reference.
//   kInt8   an int8 first pass over every item, the best candidates
//           re-scored in float (quantized_items.h): ~4x fewer bytes per
//           query, recall@10 >= 0.99 against kExact (measured).
//   kIvf    an inverted-file index (ivf_index.h): the int8 first pass over
//           some cells only (best centroid score, and the cells of the
//           longest rows: IvfTopNScan), re-scored in float; for
//           catalogs where even kInt8 is too slow. Recall@10 >= 0.95
//           (measured).
//   kAuto   kIvf from TopNOptions::ivf_min_items items on, else kInt8 from
//           int8_min_items on, else kExact.
enum class TopNMethod : uint8_t { kAuto = 0, kExact = 1, kInt8 = 2, kIvf = 3 };
std::string_view TopNMethodName(TopNMethod m);
// "auto", "exact", "int8" or "ivf"; InvalidArgument otherwise.
StatusOr<TopNMethod> ParseTopNMethod(std::string_view name);

struct TopNOptions {
  TopNMethod method = TopNMethod::kAuto;
  // kAuto: the catalog size from which the int8 pass is used. Below it an
  // exact scan reads a few MB at most.
  uint32_t int8_min_items = 20000;
  // kInt8 and kIvf: how many first-pass candidates are re-scored exactly.
  QuantizedScanOptions int8;
  // kAuto: the catalog size from which the IVF index is used.
  uint32_t ivf_min_items = 50000;
  // kIvf: the centroids are trained again every this many times the items
  // they were trained on, in events (and whenever the catalog has doubled).
  // Every event moves an item vector, so cells drawn around the vectors of
  // long ago lose recall: at 5M events on 100k items (`bench scale`),
  // recall@10 fell to 0.67 with retraining on doubling alone. 0: only
  // when the catalog doubles.
  uint32_t ivf_retrain_factor = 4;
  // kIvf: cells and cells probed (IvfOptions).
  IvfOptions ivf;
};

// Exposure for new items (README "Item freshness"): a share of each plain
// recommendation list is given to new items, so a new product is shown
// before it has clicks. They take the last places of the list. New are:
//  - items described (catalog PUT) that no event has named yet: they have
//    no vector, so they are shown in turn, each user a different one of the
//    newest `newest_items` (by `created`, then id), up to half the places;
//  - items whose `created` time is at most `new_days` days before the
//    request;
//  - items without a `created` time among the last `newest_items` to
//    appear in the stream (item indices follow first appearance);
// the last two ranked for the user by the model (newest first for a cold
// user). Off (share 0) by default.
struct ExplorationOptions {
  float share = 0.0f;           // of the list's n, at least one place when > 0; at most 0.5
  uint32_t newest_items = 200;  // how many of the newest count as new, of each kind
  uint32_t new_days = 30;       // an item created this recently is new
};

struct RecommenderOptions {
  Objective objective = Objective::kRating;
  ModelOptions model;
  // kRating: the SGD learner and its fold-in of young users.
  LearnerOptions learner;
  // kImplicit: the online update (α, λ and ν should be the ones of the
  // iALS retrain, ImplicitOnlineOptions::FromTraining) and how much an
  // event counts.
  ImplicitOnlineOptions implicit;
  // kBpr: the online BPR steps.
  BprOnlineOptions bpr;
  // kImplicit and kBpr: how much an event counts (for kBpr it scales the
  // step size).
  ImplicitSignalOptions signal = kRatingWeightedSignal;
  PopularityOptions popularity;
  // A user with fewer distinct items than this gets popular items: a model
  // vector fitted to one or two events is mostly its random start.
  uint32_t cold_start_min_items = 3;
  // Longest id accepted for users and items, in bytes.
  size_t max_id_length = 256;
  TopNOptions topn;
  ExplorationOptions exploration;
};

class Recommender {
 public:
  // Checks every option the engine relies on (rank, learning rates, the
  // online updaters' settings, popularity half-life): InvalidArgument
  // naming the field. The one check the tools and the store use.
  static Status ValidateOptions(const RecommenderOptions& options);
  // A Recommender over validated options; the way to make one from
  // settings a user wrote.
  static StatusOr<std::unique_ptr<Recommender>> Create(const RecommenderOptions& options,
                                                       EventTypes types);
  // Options must be valid (ValidateOptions): code with fixed, known-good
  // options (tests, benchmarks) may construct directly.
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
  // vectors): a rating model (sgd, als, bpmf, online) under kRating, an
  // iALS model under kImplicit. FailedPrecondition if the rank differs or
  // the new model has more rows than ids are known.
  Status InstallModel(MFModel trained);
  // InstallModel, then one online step per event of `since` (events this
  // recommender applied after the trained model's data was taken, in
  // order) on the rows the trained model covers, so a retrain does not
  // undo what users did while it ran: an SGD step on factors and biases
  // (kRating), or the implicit update on the cell's recorded history
  // (kImplicit; ImplicitOnlineUpdater::Step). Seen items, popularity,
  // counts and cell strengths already hold the events. Events of ids
  // unknown now (forgotten) or that do not train are skipped. Under kBpr,
  // the BPR steps of each event (fresh negative draws).
  // BeginInstall, CatchUp(since), FinishInstall: bit-identical to those.
  Status InstallModel(MFModel trained, std::span<const Event> since);

  // InstallModel in steps, for a writer that keeps applying events while
  // the retrained model takes the steps of those it missed (storage's
  // model thread: a long catch-up held every write). BeginInstall checks
  // `trained` as InstallModel does and returns it as a model beside the
  // serving one: rows first seen after the training hold their online
  // vectors, users forgotten since are zeroed and (kImplicit) it has
  // Gramians of its own. CatchUp steps it with the next `events` this
  // recommender applied after the trained data was taken, in order, as
  // InstallModel does (under kImplicit on the shared history, its own
  // Gramians swapped in for the steps); each call continues where the last
  // stopped. FinishInstall swaps it in and rebuilds the int8 mirror or IVF
  // index; `applied_since`: this recommender applied events after
  // BeginInstall, so rows first seen after the training take their online
  // vectors again and the Gramians are recomputed with them. No user may
  // be forgotten between BeginInstall and FinishInstall (finish first).
  struct PendingInstall {
    MFModel model;
    uint32_t trained_users = 0, trained_items = 0;  // rows the training had
    // Rows past those: taken from the serving model up to here (each
    // CatchUp takes those it added since, which the history names).
    uint32_t users_taken = 0, items_taken = 0;
    ImplicitOnlineUpdater::Gramians gramians;  // kImplicit
    uint64_t events = 0;                       // passed to CatchUp so far
  };
  StatusOr<PendingInstall> BeginInstall(MFModel trained) const;
  void CatchUp(PendingInstall* pending, std::span<const Event> events);
  Status FinishInstall(PendingInstall pending, bool applied_since);

  Recommendations RecommendForUser(std::string_view user, const RecommendRequest& req) const;
  // Several users' recommendations from one pass over the item block (the
  // server batches concurrent requests this way): result j answers
  // queries[j], exactly as RecommendForUser would.
  std::vector<Recommendations> RecommendForUsers(std::span<const UserQuery> queries) const;
  // How top-N queries read the items now: kExact, kInt8 or kIvf (kAuto
  // resolved by the catalog's size).
  TopNMethod ActiveTopN() const;
  bool UsesInt8Scan() const { return ActiveTopN() == TopNMethod::kInt8; }
  // The int8 mirror of the item factors (kept only while UsesInt8Scan()).
  const QuantizedItems& quantized_items() const { return quantized_; }
  // The IVF index (kept only while ActiveTopN() is kIvf).
  const IvfIndex& ivf_index() const { return ivf_; }
  // Where a retraining of its centroids is under way (IndexUpkeep): the
  // ordinal of the event after which it replaces them.
  std::optional<uint64_t> ivf_retraining_at() const {
    return ivf_next_ ? std::optional<uint64_t>(ivf_next_->install_at()) : std::nullopt;
  }
  // Items most like `item` by cosine of their vectors. NotFound for an
  // unknown item. `for_user` (optional) excludes that user's seen items.
  StatusOr<std::vector<NamedScore>> SimilarItems(std::string_view item, size_t n,
                                                 std::string_view for_user = {}) const;
  StatusOr<std::vector<NamedScore>> SimilarItems(std::string_view item,
                                                 const SimilarRequest& req) const;
  // Recommendations for a visitor with no user id, from the events of
  // their session: folded in at query time into a user vector and scored
  // like a user's, storing nothing. The history's items are not returned
  // (unless req.include_seen). The fold-in, by objective:
  //   kImplicit  the exact iALS row solve (fold_in.h): the vector a user
  //              with that history would get from a retrain;
  //   kRating    the ridge regression of the events' ratings (or implied
  //              ratings) less μ and the item biases on the item vectors,
  //              with a user bias ([learner] fold_in_regularization);
  //   kBpr       the strength-weighted mean of the history's item vectors
  //              (BPR has no closed-form row solve).
  // Unknown items are skipped and listed in `info`; a history with no
  // known item gets popular items (source kPopular). InvalidArgument for
  // an event Validate would refuse (bad type or rating).
  StatusOr<Recommendations> RecommendForHistory(std::span<const HistoryEvent> history,
                                                const RecommendRequest& req,
                                                SessionInfo* info) const;

  // A page of rows for `user`, in this order, up to req.rows of them, none
  // empty and no item in two: "Top picks for you" (RecommendForUser; the
  // popular items for a cold user), "Because you watched X" for up to
  // req.because of req.recent's items the model knows (items similar to X
  // the user has not seen), "Trending now" (popular, unseen), then one row
  // per catalog category: the categories of the top picks first, then by
  // size. Every row honours the request's filters and rules.
  std::vector<Row> Rows(std::string_view user, const RowsRequest& req) const;

  // Why each of `items` (an answer of RecommendForUser for `user`, read
  // from the same state) scores as it does: the `top` history items that
  // contribute most (ExplanationMethod says how). Popular answers (source
  // kPopular) and unknown users get kPopular and no history items. Costs
  // O(k³ + n k² + |items| n k) for n history items: only on request.
  // Under kImplicit it reads the implicit history, which the writer of a
  // Left-Right pair changes for both copies at once (ShareUpdater): call
  // it where no change runs (storage: LiveStore::ReadOnWriterAsync), not
  // from a reader beside the writer.
  Explanation Explain(std::string_view user, const Recommendations& answer, size_t top) const;

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
  const SeenLists& seen_lists() const { return seen_; }
  const Popularity& popularity() const { return popularity_; }
  const OnlineLearner& learner() const { return learner_; }
  // The implicit updater (kImplicit), null under kRating.
  const ImplicitOnlineUpdater* implicit() const { return implicit_.get(); }
  // Items user u has interacted with, sorted ascending.
  std::span<const uint32_t> Seen(uint32_t u) const;
  uint64_t events_applied() const { return events_applied_; }
  // Where the memory goes, by part, estimated from the containers' sizes
  // (allocator headers not counted): `streamrec bench scale` prints it.
  std::vector<MemoryPart> MemoryUsage() const;

  // Forgets a user (right to be forgotten). `events` are the user's events
  // this recommender applied (the log's copies; others are ignored): what
  // they added is taken back. README "Privacy" has the contract:
  //   removed exactly: the id (a tombstone: indices are never reused), p_u
  //     and b_u, seen items, learner state (young history, event count),
  //     the events' popularity shares, their targets in the global mean
  //     (kRating), the event count, the implicit histories (both sides) and
  //     the user's row in the Gramian;
  //   approximated: under kImplicit each item the user had is re-solved
  //     against the remaining users (ImplicitOnlineUpdater::ForgetUser);
  //     under kRating and kBpr the SGD steps their events gave item vectors
  //     and biases stay, as does any indirect effect on other rows, until a
  //     retrain over the log (which no longer holds the events) replaces
  //     them. The popularity clock (newest event time) is not rolled back.
  // Returns false for an unknown user.
  bool ForgetUser(std::string_view user, std::span<const Event> events = {});

  // Back to the freshly constructed state (same options and types): no
  // ids, rows, counts, seen items or item metadata.
  void Reset();

  // ---- The second copy of a Left-Right pair (storage/live_store.cc) ----
  // Under kImplicit the two copies of the live model share one
  // ImplicitOnlineUpdater: its interaction history and Gramians are the
  // largest state only the writer reads (~40-50 bytes per distinct
  // (user, item) cell), and its step is most of Apply's cost. The copy a
  // change is applied to first (the leader) steps the updater; the other
  // (the follower) repeats everything cheap (ids, seen items, popularity,
  // counts) and copies the rows the step moved from the leader. Under
  // kRating and kBpr there is no updater and the follower methods are the
  // plain ones (their steps are cheap and deterministic).
  //
  // Makes this recommender use `leader`'s updater, dropping its own. The
  // two must be equal (e.g. one decoded from the other's snapshot).
  void ShareUpdater(const Recommender& leader);
  bool SharesUpdaterWith(const Recommender& other) const;
  // Apply / ForgetUser as the follower: `leader` shares the updater and
  // has applied the same change already, possibly with later ones of the
  // same run of changes. Rows are copied as the leader has them now, so the
  // two are equal (bit for bit) once the follower has applied the run too.
  Status ApplyFollowing(const Event& e, const Recommender& leader);
  bool ForgetUserFollowing(std::string_view user, std::span<const Event> events,
                           const Recommender& leader);
  // InstallModel as the follower: takes the leader's model (which already
  // holds the trained rows and the steps on them).
  void InstallModelFollowing(const Recommender& leader);
  // Ends a run of changes the follower applied after `leader` (follower
  // methods, or under kRating and kBpr the plain ones): the user factor
  // pages and seen-list pages it wrote in the run are equal to the
  // leader's and become the leader's, so the two copies hold them once
  // (MFModel::ShareWrittenUserPages, SeenLists::ShareWritten). Under
  // kImplicit the follower methods share the factor pages already.
  void FinishFollowing(const Recommender& leader);
  // Takes the item Gramian that readers of this copy fold sessions in with
  // (RecommendForHistory; Explain) from the updater, as it stands after
  // this copy's changes: call it before readers see the copy (before a
  // Left-Right Publish). The updater is shared by both copies and changed
  // by the writer while readers read the published one, so readers never
  // read its Gramian once this was called; a recommender used from one
  // thread, never calling it, reads the updater's own.
  void PrepareForReaders();
  // Returns the growth slack of rows grown one event at a time (seen
  // lists, the implicit history): after a replay, before the state is
  // shared with a second copy.
  void CompactMemory();
  // A replay of many events into a fresh recommender (storage's recovery
  // from the log alone): between these two calls the int8 mirror or IVF
  // index is not kept up per event, and EndReplay files every row once
  // (an update per event was about a tenth of the replay). The IVF
  // centroids are still trained at the events where a live copy trains
  // them (TrainIndexIfDue), so the replayed index has the same cells.
  // Nothing may be queried in between. The model and every other state
  // are the same as without.
  void BeginReplay() { index_deferred_ = true; }
  void EndReplay();

 private:
  // engine/live/snapshot.h: reads and replaces the whole state.
  friend struct SnapshotCodec;
  // engine/live/replay_pipeline.h: runs Apply's parts on two threads.
  friend class ReplayPipeline;
  // engine/live/lookahead_applier.h: Apply's parts with the fronts ahead.
  friend class LookaheadApplier;
  // engine/live/step_thread.h: the live runs' steps on a second thread.
  friend class StepThread;

  // Apply's parts: the ids, catalog and seen items of an event (validated);
  // the model's step on it (Learn: the learner and the factors, nothing
  // Index or Count writes); then popularity, counts and the int8 mirror
  // after the model moved.
  IndexedEvent Index(const Event& e);
  // Index as Apply does it (noting the indices in led_ for a follower),
  // and the rest of Apply after it (Learn, then Count).
  IndexedEvent IndexLeading(const Event& e);
  void Step(const IndexedEvent& x);
  // Index as a follower: the indices the leader noted for the same event
  // (led_), checked against the ids, with the leader's page of the user's
  // seen list instead of an insert; Index(e) for ids new to this copy or
  // once anything does not match.
  IndexedEvent IndexFollowing(const Event& e, const Recommender& leader);
  // Returns how far (L2) item x.item's row moved where IndexWantsMove
  // (else IvfIndex::kUnknownMove), for Count to pass on.
  // `ordinal`: the events applied before x (events_applied() as Apply
  // sees it), which decides where the IVF index retrains.
  float Learn(const IndexedEvent& x, uint64_t ordinal);
  // ImplicitOnlineUpdater::Prefetch for the step Learn(x) will take: a
  // caller stepping a batch hints the events ahead of the one it steps,
  // stage s for the event s + 1 ahead (stages 0 .. kLearnStages - 1).
  static constexpr int kLearnStages = ImplicitOnlineUpdater::kPrefetchStages;
  void PrefetchLearn(const IndexedEvent& x, int stage) const;
  // Whether the IVF index is kept per event and holds item i (< the model's
  // rows): then it skips most searches when told how far i's row moved.
  bool IndexWantsMove(uint32_t i) const;
  // `leader`: as in ApplyFollowing (the IVF index adopts its centroids).
  void Count(const IndexedEvent& x, const Recommender* leader = nullptr,
             float moved = IvfIndex::kUnknownMove);
  // ForgetUser, with the updater step replaced by a copy of the moved rows
  // from `leader` when it is non-null (ForgetUserFollowing).
  bool Forget(std::string_view user, std::span<const Event> events, const Recommender* leader);
  std::vector<uint32_t> ResolveSorted(const std::vector<std::string>& ids) const;
  // The top-N scan the options choose, over every item.
  void Scan(std::span<const ScanQuery> queries, size_t n, const ScanOptions& options,
            std::vector<std::vector<ScoredItem>>* results) const;
  // RecommendForUsers: a query the model answers, and one scan for those
  // of one category.
  struct ModelQuery;
  void ScanModelQueries(std::span<ModelQuery> model, std::span<const UserQuery> queries,
                        std::vector<Recommendations>* out) const;
  // The upkeep of the int8 mirror or the IVF index (whichever
  // ActiveTopN() reads): new item rows added, then row i re-coded (call
  // after item i's factors changed); or every row (the IVF index
  // retrained).
  // `leader` (a follower's, or null): see RequantizeAll.
  // `moved`: how far row i moved since the last upkeep (IvfIndex::Update).
  void Requantize(uint32_t i, const Recommender* leader = nullptr,
                  float moved = IvfIndex::kUnknownMove);
  void RequantizeAll(const Recommender* leader = nullptr);
  // Whether the IVF index is to be trained now, on the model thread:
  // ActiveTopN() is kIvf and it has no centroids (there is no index to
  // answer from while a training runs elsewhere).
  bool IndexDue() const;
  // Whether its centroids are to be retrained (off the model thread) at
  // the event after `ordinal` others, unless a retraining is under way:
  // the catalog has doubled since they were trained (the cells of a
  // catalog half its size no longer fit it), or the vectors have moved on
  // (TopNOptions::ivf_retrain_factor: every factor x trained_items events,
  // counted from the first event), or no training measured its probes (the
  // first Build's, a version-4 snapshot's; IvfOptions::target_recall). A
  // function of the event's place in the
  // stream and of state a snapshot keeps, so every copy and every replay
  // retrains at the same events.
  bool IndexRetrainDue(uint64_t ordinal) const;
  // The IVF index's upkeep at the end of an event's step, after `ordinal`
  // others: trained at once where IndexDue() (a follower adopts its
  // `leader`'s centroids: its own k-means would see other rows); then a
  // retraining under way installed if this is its event; then one started
  // where IndexRetrainDue(ordinal) (a follower shares the one its leader
  // started at this event). A leader and a replay run it at the end of
  // Learn, a follower in Count; so every copy trains, starts and installs
  // at the same events on the same rows, and a restored copy (whose
  // snapshot keeps the centroids and the retraining under way) too.
  void IndexUpkeep(uint64_t ordinal, const Recommender* leader);
  // The retraining (ivf_training.h) on the rows as they are now, to be
  // installed after the event `ordinal` + items (a catalog's worth of
  // events later: by then it has finished, unless events come faster
  // than a k-means runs, and then the install waits for it).
  void StartRetraining(uint64_t ordinal, const Recommender* leader);
  // The retraining's centroids become the index's (filed at EndReplay in a
  // replay).
  void InstallRetrained();
  // No retraining under way (a new index or model replaces the rows).
  void DropRetraining();
  // Under a shared updater: notes for the follower the training of the
  // index at the event after `ordinal` others (trained_led_).
  void LeadTraining(uint64_t ordinal, std::shared_ptr<IvfTraining> training);
  // The training the leader noted at `ordinal`, or null: with `started`,
  // one it started (StartRetraining), else the centroids of an index it
  // built (IndexUpkeep; installed at once, install_at() 0). Both may be
  // noted at one event: centroids no training measured are retrained at
  // once (IndexRetrainDue).
  static std::shared_ptr<IvfTraining> LedTraining(const Recommender& leader, uint64_t ordinal,
                                                  bool started);
  // After a snapshot's decode: the IVF index from the centroids it kept
  // (checked by the decoder) where they are this configuration's (trained
  // with its options, not due), every row filed under them; else
  // RequantizeAll. `next` (no lists: none): the centroids of the
  // retraining that was under way, to install after event `next_at`, kept
  // where the index's centroids were.
  void RestoreIndex(IvfIndex trained, IvfIndex next, uint64_t next_at);
  // Every row filed under the IVF centroids held where ActiveTopN() is kIvf
  // and they are not due for retraining (EndReplay, RestoreIndex); else
  // RequantizeAll.
  void RefileOrRequantizeAll();
  // kBpr: the steps of one event (u, i) of strength w; `salt` (distinct per
  // step sequence) seeds the negative draws.
  void BprLearn(uint32_t u, uint32_t i, float w, uint64_t salt);
  // BprLearn's steps on `model`, keeping the int8 mirror or IVF index up
  // if `upkeep` (not for a pending install's model: FinishInstall rebuilds
  // them).
  void BprSteps(MFModel* model, uint32_t u, uint32_t i, float w, uint64_t salt, bool upkeep);
  // A PendingInstall's rows past the training's: the serving model's now
  // (`all`; else only those added since the last call), and if `all`,
  // users forgotten since the ids were read zeroed.
  void TakeOnlineRows(PendingInstall* pending, bool all) const;
  // The item Gramian readers use (PrepareForReaders); null without an
  // implicit updater.
  const Eigen::MatrixXf* ItemGramianForReads() const;
  std::vector<NamedScore> Name(const std::vector<ScoredItem>& v) const;
  // The eligibility mask for TopN/Popularity (visible items, of `category`
  // if non-empty, of one of `any_of` if non-empty, of none of `none_of`)
  // built in *mask, or null when every item is eligible.
  const uint8_t* AllowedMask(std::string_view category, std::vector<uint8_t>* mask) const;
  const uint8_t* AllowedMask(std::string_view category, std::span<const std::string> any_of,
                             std::span<const std::string> none_of,
                             std::vector<uint8_t>* mask) const;
  // rules.cc: a request with active RankRules: the plain request for a
  // growing candidate pool, re-ranked.
  Recommendations RecommendWithRules(std::string_view user, const RecommendRequest& req) const;
  StatusOr<std::vector<NamedScore>> SimilarWithRules(std::string_view item,
                                                     const SimilarRequest& req) const;
  StatusOr<Recommendations> SessionWithRules(std::span<const HistoryEvent> history,
                                             const RecommendRequest& req, SessionInfo* info) const;
  // ExplorationOptions: gives the last places of `answer` (for the query
  // `q`, not yet cut below its n) to the best new items.
  void Explore(const UserQuery& q, Recommendations* answer) const;
  // The first n of `candidates` (best first) under `rules`.
  std::vector<NamedScore> Rerank(std::vector<NamedScore> candidates, const RankRules& rules,
                                 size_t n) const;

  RecommenderOptions options_;
  EventTypes types_;
  IdMap users_;
  IdMap items_;
  MFModel model_;
  OnlineLearner learner_;                            // kRating
  std::shared_ptr<ImplicitOnlineUpdater> implicit_;  // kImplicit (ShareUpdater)
  // The updater's item Gramian as of this copy's last PrepareForReaders,
  // and whether that was called (ItemGramianForReads).
  Eigen::MatrixXf reader_item_gramian_;
  bool prepared_for_readers_ = false;
  Popularity popularity_;
  SeenLists seen_;  // per user, sorted
  // Not part of snapshots: storage keeps it in its own column family.
  Catalog catalog_;
  // The item factors in int8 (TopNOptions), kept in step with model_.
  QuantizedItems quantized_;
  // The IVF index over the item factors (TopNOptions), kept in step too.
  IvfIndex ivf_;
  // Its retraining under way (IndexUpkeep), null when none.
  std::shared_ptr<IvfTraining> ivf_next_;
  // Under a shared updater, as led_: the trainings this copy started or
  // ran (IndexUpkeep) as the leader in its last run, and after which
  // event. Its follower takes them at the same events: its rows there are
  // already the ones the leader has at the end of the run, and a k-means
  // of those would give other centroids.
  struct Trained {
    uint64_t ordinal;
    std::shared_ptr<IvfTraining> training;
  };
  std::vector<Trained> trained_led_;
  uint64_t events_applied_ = 0;
  bool index_deferred_ = false;     // BeginReplay
  std::vector<float> item_before_;  // Learn's scratch
  // Under a shared updater: the indices of the events this copy applied
  // as the leader in its last run (Apply), read by its follower in order
  // (IndexFollowing; followed_ counts those read, SIZE_MAX once they stop
  // matching). FinishFollowing starts both over: by then the other copy
  // has read this copy's.
  std::vector<IndexedEvent> led_;
  size_t followed_ = 0;
};

}  // namespace streamrec::engine
