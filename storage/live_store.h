// LiveStore: the server's database, and the one ingest path: many
// threads ingest, many threads read, and neither ever waits for the other.
//
//   IngestAsync ─► log thread: one group write per wake-up (one fsync for
//     every batch queued meanwhile), deletes, catalog writes, all in log
//     order ─► model thread: applies each op to the standby copy of the
//     engine, publishes it, acknowledges (callbacks), then applies the same
//     op to the other copy (engine/core/left_right.h) ─► Read(): wait-free.
//
// An acknowledged event is durable (per the durability option) and visible
// to every Read() that starts after the acknowledgement: read-your-writes.
// Snapshots are encoded by the model thread every N events / T seconds (and
// stored by a writer thread meanwhile) and on Close(); a restart loads the
// newest and replays the log after it.
//
// Thread-safety: every public method may be called from any thread.
// Callbacks run on the store's own threads: they must not block (post the
// result to an executor) and must not call back into the store
// synchronously.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/catalog.h"
#include "engine/core/left_right.h"
#include "engine/core/status.h"
#include "engine/live/recommender.h"
#include "engine/train/train.h"
#include "storage/event_log.h"
#include "storage/id_admission.h"
#include "storage/live_drift.h"
#include "storage/memory_release.h"
#include "storage/recovery.h"
#include "storage/replicated_log.h"
#include "storage/storage_options.h"

namespace streamrec::storage {

struct LiveStoreOptions {
  // Durability, snapshot policy and snapshots kept ([storage]).
  StorageOptions store;
  // Events accepted but not yet acknowledged, across all callers. Beyond
  // it IngestAsync fails fast with ResourceExhausted (HTTP 429) instead of
  // queueing without bound: a slow disk then pushes back on clients rather
  // than growing memory and latency.
  size_t max_pending_events = 200000;
  // Caps on new user and item ids (storage/id_admission.h); none by
  // default here, `serve` sets [limits].
  IdLimits ids;
  // Batch retraining (`Retrain()`): algorithm and its settings.
  engine::TrainOptions training;
  // Drift of live traffic against the training data (storage/live_drift.h):
  // the reference policy, buckets, window and how often it is reported.
  LiveDriftOptions drift;
  // Tests only: runs on the retrain thread after each training, before its
  // install is queued (to land a forget there). Null in production.
  std::function<void()> retrain_trained_hook;
  // Cluster mode (README "Cluster", docs/DESIGN.md section 10): the
  // replicated stream that is the log of record. Every write (event
  // batches, user deletes, item metadata) is published to it, and every
  // replica, this one included, applies the stream in order, caching it in
  // the local EventLog under the same seqs on every replica. Null (the
  // default): the single process, which never touches a stream.
  std::shared_ptr<ReplicatedLog> cluster;
  // Cluster mode: how long an event batch, once stored in the stream,
  // waits for this replica to take it back in and apply it before the
  // caller is answered Unavailable (HTTP 503; the batch is applied all the
  // same when the stream thread gets to it, and a retry with the same
  // event ids is a duplicate). Bounds a write's answer while the stream's
  // consumer is being recreated after a NATS node died. `serve` sets
  // [cluster] apply_timeout_seconds.
  std::chrono::milliseconds cluster_take_in_wait{10000};
  // When the heap's freed pages go back to the system while it runs
  // (storage/memory_release.h; `serve` sets [server] release_memory_*).
  MemoryReleaseOptions memory;
};

// What the model thread has published, as readers see it.
struct Replica {
  explicit Replica(std::unique_ptr<engine::Recommender> r) : rec(std::move(r)) {}
  std::unique_ptr<engine::Recommender> rec;
  uint64_t applied_seq = 0;  // every event with seq <= this is in rec
  uint64_t stream_seq = 0;   // cluster mode: every stream message <= this is in rec
};

// A 64-bit fingerprint of a model's state: its factors, biases and id maps
// in index order. Replicas of a cluster that applied the same stream prefix
// have the same one (GET /v1/admin/status shows it). Reads every factor:
// ~50 ms per 100 MB.
uint64_t ModelChecksum(const engine::Recommender& rec);

// Images stored and stream trims by this replica (section 10).
struct ImageStatus {
  uint64_t stored = 0;    // images this replica stored since Open
  uint64_t last_seq = 0;  // the stream seq of its newest
  uint64_t last_bytes = 0;
  double last_seconds = 0.0;     // checkpoint + upload + trim of the newest
  uint64_t trimmed_through = 0;  // the stream seq it last trimmed through
  uint64_t pending_trim = 0;     // a forget whose trim failed and is being retried (0: none)
  std::string last_error;
};

// Cluster mode's part of LiveStatus.
struct ClusterStatus {
  bool enabled = false;
  std::string stream;               // the ReplicatedLog's Describe()
  uint64_t applied_stream_seq = 0;  // newest stream message applied here
  uint64_t stream_last_seq = 0;     // the stream's newest, as last read (<= 1 s old)
  uint64_t lag = 0;                 // messages of the stream not yet applied here
  uint64_t published = 0;           // records this replica published since Open
  uint64_t publish_failures = 0;    // appends that failed (callers got 503)
  // Records applied here that a replica with other model settings
  // published: the replicas cannot agree (last_error says which).
  uint64_t config_mismatches = 0;
  std::string last_error;  // the stream's newest error, if any
  // The stream was trimmed past this replica's position: it stopped
  // applying and must be restarted (it then loads the newest image).
  bool behind_trim = false;
  ImageStatus images;
};

enum class RetrainState { kIdle, kRunning, kSucceeded, kFailed };
std::string_view RetrainStateName(RetrainState s);

struct RetrainStatus {
  RetrainState state = RetrainState::kIdle;
  uint64_t runs = 0;                 // retrains started since Open
  uint64_t trained_through_seq = 0;  // the log prefix the last run used
  uint64_t examples = 0;             // events it trained on
  double seconds = 0.0;              // wall time of the last finished run
  double train_rmse = 0.0;           // its final training RMSE (ials: objective per cell)
  std::string algorithm;
  // Events applied while it trained, stepped again on its rows before it
  // was installed (single process: while still running, those stepped so
  // far, a chunk at a time between live writes).
  uint64_t caught_up_events = 0;
  std::string error;  // kFailed only
  // Trainings of the last run thrown away because a user was forgotten
  // while they ran (each is followed by another over the log as it is).
  uint64_t restarts = 0;
  // Wall clock, ms since the epoch: when the run started and ended (0:
  // not yet).
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
};

// One snapshot written, for the history.
struct SnapshotRecord {
  int64_t time_ms = 0;   // wall clock when it was written, ms since the epoch
  uint64_t seq = 0;      // the log position it holds
  double seconds = 0.0;  // how long writing it took, encoding included
  // How long encoding it took, with its waits on the store (SnapshotPipe):
  // a scheduled one holds the model thread that long (the store finishes
  // off it, the rest of `seconds`); the others hold it for all `seconds`.
  double encode_seconds = 0.0;
  // Why: "schedule" (snapshot_every_*), "admin" (POST /v1/admin/snapshot),
  // "retrain" (a retrained model installed), "forget" (a user forgotten),
  // "close" (shutdown).
  std::string reason;
};

// Finished retrains and written snapshots kept for LiveStatus' histories.
inline constexpr size_t kHistoryRuns = 20;

struct LiveStatus {
  uint64_t applied_seq = 0;  // newest event visible to readers
  uint64_t durable_seq = 0;  // newest event in the log
  uint64_t events_applied = 0;
  uint64_t pending_events = 0;  // accepted, not yet acknowledged
  uint64_t users = 0;           // known (not forgotten) user ids
  uint64_t items = 0;
  uint64_t catalog_items = 0;
  int rank = 0;
  engine::Objective objective = engine::Objective::kRating;  // what the live model learns
  uint64_t model_bytes = 0;                                  // one copy's factors and biases
  uint64_t log_memory_bytes = 0;       // RocksDB's memtables, table readers, block cache
  uint64_t snapshot_seq = 0;           // newest snapshot written or loaded (0: none)
  double snapshot_age_seconds = -1.0;  // -1: none yet
  uint64_t snapshots_written = 0;
  MemoryReleaseStatus memory;  // the process's resident set and its releases
  RecoveryResult recovery;     // what Open did
  RetrainStatus retrain;
  // The newest kHistoryRuns finished retrains and snapshots written since
  // Open, oldest first.
  std::vector<RetrainStatus> retrain_history;
  std::vector<SnapshotRecord> snapshot_history;
  LiveDriftStatus drift;  // enabled = false when drift is off
  ClusterStatus cluster;
  // Whether the database takes writes (false after a disk error such as a
  // full disk, until writes resume by themselves), why not, and the purges
  // of deleted users' bytes (EventLog::health()).
  StoreHealth store;
  // The newest failure of the model thread (a snapshot that could not be
  // written, an event the engine refused after it was logged); empty if
  // none.
  std::string last_error;
  bool closed = false;
};

// Whether a batch `algorithm` can be installed in a live model learning
// `objective` (Retrain()): rating objective: sgd, als, bpmf or online;
// implicit: ials; bpr: bpr. FailedPrecondition, saying which fit, otherwise.
Status CheckRetrainAlgorithm(engine::Objective objective, engine::Algorithm algorithm);

class LiveStore {
 public:
  using IngestCallback = std::function<void(StatusOr<AppendResult>)>;
  using DoneCallback = std::function<void(Status)>;
  using CountCallback = std::function<void(StatusOr<uint64_t>)>;

  // Opens (or creates) the database in `dir`, rebuilds the engine from the
  // newest snapshot plus the log tail and loads the catalog, then starts
  // the store's threads.
  static StatusOr<std::unique_ptr<LiveStore>> Open(const std::string& dir,
                                                   const LiveStoreOptions& options,
                                                   const engine::RecommenderOptions& engine,
                                                   engine::EventTypes types);
  ~LiveStore();  // Close(), errors swallowed (call Close() to see them)
  LiveStore(const LiveStore&) = delete;
  LiveStore& operator=(const LiveStore&) = delete;

  // Checks a batch against the engine's rules without storing it:
  // InvalidArgument naming the first bad event ("event 3: unknown type
  // 'clik' (known: ...)"). Cheap and pure; IngestAsync calls it too.
  Status Validate(const std::vector<StoredEvent>& batch) const;

  // Validates, appends durably, applies, publishes; then `done` gets the
  // seqs (see EventLog::Append: duplicates, Conflict). Errors:
  // InvalidArgument (bad event), Conflict (event_id reused with another
  // payload; nothing of the batch stored), ResourceExhausted (too much
  // pending), FailedPrecondition (closed), IOError (the log cannot write;
  // nothing stored). `done` may run before IngestAsync returns (errors
  // found up front).
  void IngestAsync(std::vector<StoredEvent> batch, IngestCallback done);
  // Blocking form, for tools and tests.
  StatusOr<AppendResult> Ingest(std::vector<StoredEvent> batch);

  // Calls fn(const Replica&) on the published engine; wait-free.
  template <typename Fn>
  decltype(auto) Read(Fn&& fn) const {
    return replicas_->Read(std::forward<Fn>(fn));
  }

  // Calls read(const Replica&) on the model thread, between two changes,
  // on the published engine: for reads of what the writer changes in both
  // copies at once and Read() must not touch (the implicit history:
  // engine::Recommender::Explain). Every write waits while it runs, so
  // keep it short and never block in it. If the store is closed, `refused`
  // gets FailedPrecondition instead (before this returns).
  using WriterReadCallback = std::function<void(const Replica&)>;
  void ReadOnWriterAsync(WriterReadCallback read, DoneCallback refused);

  // The user's newest `max` events in the log, newest first (empty for
  // an unknown user).
  StatusOr<std::vector<StoredEvent>> RecentEvents(std::string_view user, size_t max) const;

  // Forgets a user: their events, dedup entries and snapshots in the log,
  // their id, vector and seen items in the engine; then a fresh snapshot.
  // `done` gets the number of events removed; NotFound if the user is
  // unknown to both the log and the engine.
  void ForgetUserAsync(std::string user, CountCallback done);

  // Item metadata: stored in the catalog column family, then applied.
  // PutItemAsync: InvalidArgument for bad metadata or id.
  // DeleteItemAsync: NotFound if the item has no metadata.
  void PutItemAsync(std::string item, engine::ItemMeta meta, DoneCallback done);
  void DeleteItemAsync(std::string item, DoneCallback done);

  // Calls `done` once events through `seq` are visible to Read(): OK at
  // once if they are, else from the model thread when they are, or
  // Unavailable after `timeout`. For reads that must see a write made on
  // another replica (`min_seq`). `done` must not block.
  void WaitForSeqAsync(uint64_t seq, std::chrono::milliseconds timeout, DoneCallback done);

  // Writes a snapshot now (after everything acknowledged so far); `done`
  // gets its seq (the existing one if nothing changed, 0 for an empty log).
  void SnapshotAsync(CountCallback done);

  // Starts a batch retrain over the log in the background (the configured
  // algorithm over the events up to the current seq: every event for ials,
  // events with a rating or implied rating for the rating models); when it
  // finishes, the model is swapped in for readers without a pause and a
  // snapshot is written. Events that arrive meanwhile are served by the
  // online model, kept, and stepped again on the retrained rows
  // (Recommender::InstallModel). FailedPrecondition if a retrain is already
  // running, the store is closed, or the algorithm does not fit the live
  // model's objective (CheckRetrainAlgorithm). Progress in
  // status().retrain.
  Status Retrain();

  LiveStatus status() const;

  // Stops taking work (later calls fail with FailedPrecondition), finishes
  // what was queued, waits for a running retrain, writes a snapshot and
  // flushes the database (the destructor releases it: status() still
  // works after Close()). Idempotent; returns the first error met.
  Status Close();

 private:
  struct Impl;
  explicit LiveStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  engine::LeftRight<Replica>* replicas_ = nullptr;  // owned by impl_
};

}  // namespace streamrec::storage
