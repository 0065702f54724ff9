// Recovery and snapshots: the glue between the event log and the engine.
// Open = load the newest snapshot, then apply every event logged after it;
// the result is bit-identical to applying the whole log from the start,
// because the snapshot holds the engine's complete state (engine/live/snapshot.h)
// and the learner is deterministic.
//
// Thread-safety: functions; the caller owns `rec` (the single writer).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/core/status.h"
#include "engine/live/lookahead_applier.h"
#include "engine/live/recommender.h"
#include "engine/live/replay_pipeline.h"
#include "engine/live/step_thread.h"
#include "storage/event_log.h"

namespace streamrec::storage {

// Applies one logged event to the engine. The type is resolved by name:
// FailedPrecondition if the configuration no longer defines it (replaying
// it as something else would silently change the model). With `leader`,
// as the follower of a Left-Right pair (Recommender::ApplyFollowing).
Status ApplyStored(const StoredEvent& e, engine::Recommender* rec,
                   const engine::Recommender* leader = nullptr);
// The same through a ReplayPipeline (its model step may still be queued).
Status ApplyStored(const StoredEvent& e, engine::ReplayPipeline* pipeline);
// The same through a LookaheadApplier (applied in its turn, by its Finish
// at the latest; `e` must stay as it is until then).
Status ApplyStored(const StoredEvent& e, engine::LookaheadApplier* applier);
// The same through a StepThread's open run (its step may still be queued).
Status ApplyStored(const StoredEvent& e, engine::StepThread* steps);

// Forgets `user` in the engine, taking back what `events` (their events
// as EventLog::DeleteUser returned them) added (Recommender::ForgetUser).
// False if the engine does not know the user. With `leader`, as the
// follower of a Left-Right pair (Recommender::ForgetUserFollowing).
bool ForgetStored(std::string_view user, std::span<const StoredEvent> events,
                  engine::Recommender* rec, const engine::Recommender* leader = nullptr);

// Checks a batch against the engine's rules (type known, ids, rating
// range) without applying it: InvalidArgument naming the event's index.
Status ValidateEvents(const engine::Recommender& rec, std::span<const StoredEvent> batch);

struct RecoveryResult {
  uint64_t snapshot_seq = 0;  // 0: no usable snapshot, replayed from the start
  uint64_t replayed = 0;      // events applied after the snapshot
  uint64_t last_seq = 0;      // the newest seq now in the model (0: none)
  double seconds = 0.0;
  // Why stored snapshots were not used (e.g. written with another rank, or
  // unreadable), "; "-joined, newest first; empty if the newest was used or
  // there was none. Not an error: recovery falls back to the snapshot
  // before, and with none left replays the log whole (the log is the
  // truth).
  std::string snapshot_skipped;
};

// Rebuilds `rec` (freshly constructed, empty) from the log, applying events
// with seq <= up_to.
StatusOr<RecoveryResult> Recover(const EventLog& log, engine::Recommender* rec,
                                 uint64_t up_to = UINT64_MAX);

// A hash of every setting that changes what Apply computes (model, learner,
// popularity options, event types and their weights, id limits). Stored with
// each snapshot: a snapshot taken under other settings is not replayed onto
// (the result would match no full replay), the whole log is instead.
uint64_t ConfigFingerprint(const engine::Recommender& rec);

// Decodes a stored snapshot (WriteSnapshot's bytes) into `rec`: Corruption
// if the bytes are damaged, FailedPrecondition if it was written under
// other settings (ConfigFingerprint). On error rec is untouched. The bytes
// are freed as soon as they are read (DecodeSnapshot), before the state is
// restored.
Status LoadSnapshot(std::string stored, engine::Recommender* rec);
// The same from a stored snapshot's chunks (EventLog::OpenSnapshot), read
// and decoded a section at a time (engine::DecodeSnapshot from a source).
Status LoadSnapshot(engine::SnapshotSource* stored, engine::Recommender* rec);

// The bytes a snapshot of the engine is stored as: its ConfigFingerprint
// (8 bytes, big-endian), then the encoded engine. Encoded where the engine
// holds still; they may be stored later, from another thread (LiveStore
// writes its scheduled snapshots off the model thread).
std::string EncodeStoredSnapshot(const engine::Recommender& rec);
// The same bytes into `pipe`, a chunk (EventLog::kSnapshotChunkBytes) at a
// time as they are made, for EventLog::PutSnapshot to store on another
// thread meanwhile; the pipe is closed with the outcome, which is also
// returned. On the thread where the engine holds still, until it returns.
Status EncodeStoredSnapshot(const engine::Recommender& rec, SnapshotPipe* pipe);

// Encodes the engine on this thread and stores it as the snapshot after
// `seq` from another, through a SnapshotPipe: EventLog::PutSnapshot's
// answer. *encode_seconds (if not null): the encode's time, which includes
// its waits for the store (the pipe holds a few chunks).
Status WriteSnapshot(EventLog* log, const engine::Recommender& rec, uint64_t seq,
                     uint64_t deletes_applied = UINT64_MAX, double* encode_seconds = nullptr);

}  // namespace streamrec::storage
