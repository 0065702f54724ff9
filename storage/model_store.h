// ModelStore: a database directory and the engine kept in step with it.
// Events are made durable in the EventLog first, then applied to the
// Recommender in seq order; snapshots are written every N events or T
// seconds (whichever comes first) and on Close(), so a restart replays at
// most that much of the log.
//
// Thread-safety: not synchronised. One owner thread calls everything (the
// server's single writer); the EventLog inside is itself thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "engine/core/status.h"
#include "engine/live/recommender.h"
#include "storage/event_log.h"
#include "storage/recovery.h"

namespace streamrec::storage {

struct ModelStoreOptions {
  EventLogOptions log;
  // Snapshot after this many events applied since the last one (0: never
  // by count). Smaller: faster restarts, more write amplification (a
  // snapshot is the whole model, ~k*4 bytes per user and item).
  uint64_t snapshot_every_events = 100000;
  // ...or after this many seconds with at least one new event (0: never by
  // time).
  double snapshot_every_seconds = 600.0;
  // LiveStore: a user delete drops every snapshot (they hold the user) and
  // the next one is written this many seconds later, shared by every
  // delete meanwhile, instead of one whole-model snapshot per delete. Until
  // then a restart replays the whole log (a retrained model not yet in a
  // snapshot is lost to a crash in that window). Smaller: shorter window;
  // larger: fewer snapshots under delete-heavy traffic.
  double snapshot_after_forget_seconds = 5.0;
};

// Whether a snapshot is due under `options`' two triggers, given the events
// applied and the seconds passed since the last one.
bool SnapshotDue(const ModelStoreOptions& options, uint64_t events_since, double seconds_since);

class ModelStore {
 public:
  // Opens (or creates) the database and rebuilds the engine from the newest
  // snapshot plus the log after it.
  static StatusOr<std::unique_ptr<ModelStore>> Open(const std::string& dir,
                                                    const ModelStoreOptions& options,
                                                    const engine::RecommenderOptions& engine,
                                                    engine::EventTypes types);
  ~ModelStore();  // best-effort Close()
  ModelStore(const ModelStore&) = delete;
  ModelStore& operator=(const ModelStore&) = delete;

  // Durably appends the batch (see EventLog::Append), then applies the new
  // events to the engine. Events are validated against the engine first,
  // so nothing the engine would refuse is ever logged.
  StatusOr<AppendResult> Ingest(std::span<const NewEvent> batch);

  // Forgets a user in the log (events, dedup entries, snapshots) and in the
  // engine (vector, bias, seen items), then writes a fresh snapshot so a
  // restart does not resurrect them. Returns the events removed.
  StatusOr<uint64_t> ForgetUser(std::string_view user);

  // Writes a snapshot of the engine now (no-op if nothing changed since the
  // last one).
  Status Snapshot();
  // Snapshot, flush, close. Idempotent.
  Status Close();

  const engine::Recommender& recommender() const { return *rec_; }
  engine::Recommender* mutable_recommender() { return rec_.get(); }
  EventLog& log() { return *log_; }
  uint64_t last_applied_seq() const { return last_applied_; }
  uint64_t last_snapshot_seq() const { return last_snapshot_; }
  const RecoveryResult& recovery() const { return recovery_; }

 private:
  ModelStore() = default;
  Status MaybeSnapshot();

  ModelStoreOptions options_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<engine::Recommender> rec_;
  RecoveryResult recovery_;
  uint64_t last_applied_ = 0;
  uint64_t last_snapshot_ = 0;
  std::chrono::steady_clock::time_point last_snapshot_time_;
  bool closed_ = false;
};

}  // namespace streamrec::storage
