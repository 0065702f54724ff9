// EventLog: the durable, append-only log of every event streamrec has
// acknowledged, in RocksDB. Column families:
//   events     8-byte big-endian seq -> event record (event_codec.h)
//   dedup      event_id -> seq + payload fingerprint
//   user_index len-prefixed user + seq -> "" (finds a user's events to forget)
//   model      8-byte big-endian seq -> snapshot blob (the model after seq)
//   catalog    item id -> item metadata (categories, hidden)
//   meta       "schema_version", "next_seq", "stream_seq" and
//              "cluster_state" (cluster mode: the newest message of the
//              replicated stream taken in, the retrain bookkeeping),
//              "snapshot_seqs" (the model
//              family's keys), "last_purge", "probe" (written to test
//              whether writes resume after a disk error)
//
// Appends are atomic per batch (one WriteBatch) and group-committed:
// concurrent Append() callers queue, the first becomes the leader, folds
// every queued batch into one WriteBatch and one WAL write (one fsync in
// kSync mode), then wakes the others — the leveldb DBImpl::Write design.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/core/mutex.h"
#include "engine/core/status.h"
#include "storage/event_codec.h"

namespace streamrec::engine {
class SnapshotSource;  // engine/live/snapshot.h
}  // namespace streamrec::engine

namespace streamrec::storage {

inline constexpr uint32_t kSchemaVersion = 1;

class SnapshotPipe;  // storage/snapshot_pipe.h

enum class Durability {
  // fsync the write-ahead log before acknowledging a batch: an acknowledged
  // event survives power loss and OS crashes. Costs one fsync per group of
  // concurrent batches.
  kSync,
  // Write the WAL to the OS before acknowledging, without fsync: survives a
  // crash of the process (SIGKILL, abort), not of the machine.
  kProcess,
};

struct EventLogOptions {
  Durability durability = Durability::kSync;  // safe by default
  bool create_if_missing = true;
  // Snapshots kept in the model column family; older ones are deleted when
  // a new one is written.
  int snapshots_to_keep = 2;
  // Most events folded into one group commit (bounds a WriteBatch's size).
  size_t max_group_events = 100000;
  // A user delete (and every dropped snapshot) is followed, this many
  // seconds later, by a purge: every column family is flushed and the key
  // ranges that held the deleted records are compacted to the bottom, so
  // their bytes leave the table files, the WAL and the MANIFEST (see
  // README, "Deleting a user"). Deletes within the window share one purge.
  // A snapshot pruned because newer ones were written is not purged: its
  // bytes go with the model family's next compaction.
  // Smaller: the bytes go sooner; larger: fewer flushes and compactions
  // under delete-heavy traffic.
  double purge_delay_seconds = 1.0;
  // Write-ahead log bytes beyond which RocksDB flushes the column families
  // that keep the oldest log alive. Bounds the WAL (RocksDB's default, 4x
  // the write buffers, let it grow past 1.5 GB here), and with it what an
  // open after a crash replays into the memtables before anything else:
  // ~25 MB/s here (every event is three keys), so at 64 MB the RocksDB
  // part of a restart after a SIGKILL under ingest took 1.7-2.1 s, at 32 MB
  // ~0.5 s; ingest at 2M events: 56-66k events/s at 64 MB, 56-59k at 32 MB
  // (four runs each, within this VM's spread).
  uint64_t max_wal_bytes = 32ull << 20;
  // While writes are refused after an I/O error (a full disk), how often
  // the store tries to resume them. RocksDB's own recovery waits for free
  // space of all write buffers together (64 MB per column family), which a
  // small disk never has; streamrec resumes as soon as a resume succeeds.
  double resume_interval_seconds = 1.0;
};

// Whether the log takes writes. After a write or a background flush fails
// (typically ENOSPC) RocksDB stops all writes; reads go on. The log tries
// to resume every resume_interval_seconds.
struct StoreHealth {
  bool read_only = false;
  std::string reason;            // RocksDB's error while read_only, else ""
  uint64_t errors = 0;           // times writes were stopped since Open
  uint64_t resumed = 0;          // times they resumed
  uint64_t purges = 0;           // purge passes finished since Open
  std::string last_purge_error;  // "" if the last purge succeeded
};

// A key range of one column family; nullopt bounds are open.
struct KeyRange {
  std::optional<std::string> begin, end;
};

struct AppendResult {
  size_t accepted = 0;    // newly stored
  size_t duplicates = 0;  // event_id already stored with the same payload
  // Range of the newly stored events' seqs; 0/0 when none was new.
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  // Per input event: its seq (the existing one for a duplicate).
  std::vector<uint64_t> seqs;
  std::vector<bool> duplicate;
};

struct Snapshot {
  uint64_t seq = 0;  // the snapshot includes every event with seq <= this
  std::string blob;
};

// PutSnapshot's answer for a snapshot it did not keep because a user delete
// or a drop of snapshots came after it was encoded: not a failure of the
// log (the next snapshot is written as usual).
inline bool IsSnapshotRefused(const Status& s) { return s.code() == StatusCode::kUnavailable; }

// Cluster mode: the retrain bookkeeping the stream thread keeps with its
// stream position (docs/DESIGN.md section 10), so a restarted replica
// decides the next retrain and install records as the others do.
struct ClusterState {
  uint64_t retrain_pending = 0;  // stream seq of the retrain not yet installed (0: none)
  uint64_t last_forget = 0;      // stream seq of the newest forget record that removed a user
  bool operator==(const ClusterState&) const = default;
};

struct LogStats {
  uint64_t next_seq = 1;
  uint64_t first_seq = 0;  // 0 when empty
  uint64_t last_seq = 0;
  uint64_t events = 0;        // exact count (a scan of the events keys)
  uint64_t snapshot_seq = 0;  // newest snapshot, 0 if none
  uint64_t snapshots = 0;
  uint64_t catalog_items = 0;
  uint64_t disk_bytes = 0;  // live SST + WAL bytes as RocksDB reports them
};

class EventLog {
 public:
  // Opens or creates the database in `dir`. Refuses (with a message naming
  // the problem) a directory that is not a streamrec database, one written
  // by a newer schema version, or one RocksDB finds corrupt.
  static StatusOr<std::unique_ptr<EventLog>> Open(const std::string& dir,
                                                  const EventLogOptions& options);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Stores the events of `batch` that are new, atomically, with consecutive
  // seqs in batch order, and returns once they are durable per the
  // durability mode. An event_id seen before (stored, or earlier in the same
  // batch) with the same payload is a duplicate and not stored again; with
  // a different payload the whole batch is refused (Conflict, naming the
  // id) and nothing of it is stored. Events must be valid (non-empty user,
  // item, type): InvalidArgument otherwise.
  StatusOr<AppendResult> Append(std::span<const StoredEvent> batch);
  // Appends several batches in one group commit (one WAL write, one fsync
  // in kSync mode), as if each were Append()ed concurrently: each batch is
  // atomic and a conflict or invalid event refuses that batch alone.
  // results[i] is batch i's.
  std::vector<StatusOr<AppendResult>> AppendBatches(
      std::span<const std::span<const StoredEvent>> batches);
  // Cluster mode (storage/replicated_log.h): the batches of the stream's
  // message `stream_seq`, appended as above and, in the same write, that
  // message recorded as taken in (stream_seq()), even when every batch was
  // refused or a duplicate: a restart resumes the stream after it, and a
  // crash cannot leave the events without the position or the reverse.
  std::vector<StatusOr<AppendResult>> AppendBatches(
      std::span<const std::span<const StoredEvent>> batches, uint64_t stream_seq);

  // Calls fn for each stored event with from <= seq <= to, in seq order,
  // until fn returns false. Corruption if a record cannot be decoded.
  Status Scan(uint64_t from, uint64_t to, const std::function<bool(const StoredEvent&)>& fn) const;

  // The seq the next appended event will get; last appended is one less.
  uint64_t next_seq() const;
  // Cluster mode: the newest stream message taken in (0: none), and
  // recording one taken in by something other than an append (a forget, a
  // catalog write: those are idempotent, so they are written first and the
  // position after them).
  uint64_t stream_seq() const;
  // `state` (if not null) is written in the same write.
  Status SetStreamSeq(uint64_t stream_seq, const ClusterState* state = nullptr);
  ClusterState cluster_state() const;

  // Writes a snapshot of the model after `seq` and prunes old ones.
  // `deletes_applied`: how many of this log's user deletes (user_deletes())
  // the model had forgotten when it was encoded. A live store's log deletes
  // a user before its model forgets them, so a snapshot encoded in between
  // holds the user; stored, a crash before the forget drops it would
  // restore them from it. Such a snapshot is refused (IsSnapshotRefused),
  // its bytes not kept. The default checks nothing: a tool with no live
  // model. A drop of snapshots while the bytes are written refuses it too.
  // The bytes go in as a table file of their own, in chunks of
  // kSnapshotChunkBytes (event_log_snapshots.cc), no lock held while it is
  // written and taken in.
  Status PutSnapshot(uint64_t seq, std::string_view blob, uint64_t deletes_applied = UINT64_MAX);
  // The same for a snapshot read from `pipe` while it is encoded, in
  // pieces of kSnapshotChunkBytes (the last what is left), so that no more
  // than the pipe's few pieces are held. Whatever the outcome the pipe is
  // abandoned on return: its encoder never waits for a reader that left.
  // An encoder's error is the answer, and nothing of it is kept.
  Status PutSnapshot(uint64_t seq, SnapshotPipe* pipe, uint64_t deletes_applied = UINT64_MAX);
  static constexpr size_t kSnapshotChunkBytes = size_t{4} << 20;
  // The user deletes (DeleteUser, not the cluster's DeleteUserAt, whose
  // model forgets first) that removed something, since this log opened.
  uint64_t user_deletes() const;
  // The newest listed snapshot (SnapshotSeqs), or nullopt if none.
  StatusOr<std::optional<Snapshot>> LatestSnapshot() const;
  // The seqs of the stored snapshots, oldest first, from the list kept
  // next to them in the meta column family (a database written before it
  // existed: from the model column family's keys, which a damaged table
  // file can hide). *problem (if not null) says what could not be read; ""
  // if nothing.
  std::vector<uint64_t> SnapshotSeqs(std::string* problem) const;
  // The snapshot after `seq`: NotFound if there is none, Corruption if its
  // bytes cannot be read.
  StatusOr<std::string> GetSnapshot(uint64_t seq) const;
  // The same snapshot as a source of its chunks for engine::DecodeSnapshot,
  // each read from the database as it is asked for: one chunk held at a
  // time where GetSnapshot gathers them all (~250 MB at 500k users x 5M
  // events). NotFound where there is none; a chunk missing or the chunks
  // not adding up to the header's size is the source's Corruption.
  StatusOr<std::unique_ptr<engine::SnapshotSource>> OpenSnapshot(uint64_t seq) const;

  // Forgets a user: deletes their events, their dedup entries, their index
  // entries and every snapshot (snapshots embed the user's vector; the
  // caller writes a fresh one from a model that has forgotten them), and
  // schedules the purge of those ranges (purge_delay_seconds). Returns the
  // number of events removed; `removed` (optional) gets them, in seq order,
  // for the engine to take back what they added.
  StatusOr<uint64_t> DeleteUser(std::string_view user, std::vector<StoredEvent>* removed = nullptr);
  // Cluster mode's forget (docs/DESIGN.md section 10): the model forgets
  // and is snapshotted first, then the log deletes. Snapshots from
  // `keep_snapshots_from` on (written after the model forgot the user) are
  // kept, older ones dropped; the stream position and `state` are written
  // in the same write, so a crash leaves either all of it or none.
  StatusOr<uint64_t> DeleteUserAt(std::string_view user, uint64_t keep_snapshots_from,
                                  uint64_t stream_seq, const ClusterState& state);
  // A user's stored events, in seq order (nothing deleted).
  Status ReadUser(std::string_view user, std::vector<StoredEvent>* events) const;
  // A user's newest `max` stored events, newest first.
  Status RecentUserEvents(std::string_view user, size_t max,
                          std::vector<StoredEvent>* events) const;
  // Deletes every snapshot (and schedules their purge): for a snapshot
  // written from a model that had not yet forgotten a deleted user.
  Status DropSnapshots();

  Status PutItem(std::string_view item, const ItemMeta& meta);
  StatusOr<std::optional<ItemMeta>> GetItem(std::string_view item) const;
  Status DeleteItem(std::string_view item);
  Status ScanItems(const std::function<bool(std::string_view, const ItemMeta&)>& fn) const;

  StatusOr<LogStats> Stats() const;
  // Bytes RocksDB holds in memory for this log: memtables (the writes not
  // yet flushed, up to the configured write buffers), table readers
  // (indexes and filters) and the block cache in use. Cheap (no scan).
  uint64_t MemoryBytes() const;

  // Reads every block of every table file and checks its checksum
  // (rocksdb::DB::VerifyChecksum); Corruption naming the file otherwise.
  Status VerifyChecksums() const;
  // Decodes every dedup value and user index key: Corruption naming the
  // first that does not decode. (Event records: Scan; snapshots: Recover's
  // decoder; the catalog: ScanItems.)
  Status VerifyIndexes() const;

  // Flushes memtables and the WAL (used before a clean shutdown). While the
  // log is read-only: the read-only error, and nothing is touched (RocksDB
  // asserts on a sync of a log file that failed).
  Status Flush();

  StoreHealth health() const;

  // Cluster mode's image (docs/DESIGN.md section 10): runs the pending
  // purge now (deleted records leave the files), then writes a consistent
  // copy of the database into `dir` (it must not exist; on the same file
  // system, table files are hard-linked). Returns the stream position the
  // copy holds. Writes wait while the copy is made.
  StatusOr<uint64_t> Checkpoint(const std::string& dir);

 private:
  struct Impl;  // the RocksDB handles (event_log_impl.h)
  struct Writer;
  // event_id -> (seq, fingerprint) of ids stored earlier in this group.
  using PendingIds = std::unordered_map<std::string, std::pair<uint64_t, uint64_t>>;
  // The column families, in the order of Impl::handles (index 0 is
  // RocksDB's default family, unused).
  enum class Family { kEvents = 1, kDedup, kUserIndex, kModel, kCatalog, kMeta };

  EventLog();
  Status LoadMeta(const std::string& dir);
  // Calls fn for each of a user's index entries, in seq order (newest
  // first if `newest_first`), with the event it names (seq set), or null
  // if that event is gone, until `max_events` events were found; `reading`
  // names a failed read in the error.
  Status ScanUser(
      std::string_view user,
      const std::function<void(std::string_view index_key, uint64_t seq, StoredEvent* e)>& fn,
      const char* reading, bool newest_first = false, size_t max_events = SIZE_MAX) const;
  // DeleteUser and DeleteUserAt: drops snapshots below keep_snapshots_from
  // (UINT64_MAX: all); stream_seq > 0 writes the position and `state`.
  StatusOr<uint64_t> DeleteUserImpl(std::string_view user, std::vector<StoredEvent>* removed,
                                    uint64_t keep_snapshots_from, uint64_t stream_seq,
                                    const ClusterState* state);
  // The front writer leads: commits a group from the queue head and wakes
  // its members. Called and returns with mu_ held; drops it while writing.
  void LeadGroup() REQUIRES(mu_);
  // Leader only: writes the group's batches in one WriteBatch. Returns the
  // status of the write itself; per-writer conflicts go into w->status.
  // *stream_seq: the largest stream position of the group's writers (0:
  // none), written with the group; left 0 if the write failed.
  Status CommitGroup(const std::vector<Writer*>& group, uint64_t* next_seq, uint64_t* stream_seq)
      REQUIRES(admin_mu_);

  // Background work (event_log_maintenance.cc): purges, resuming writes.
  struct Maintenance;
  void StartMaintenance();
  void StopMaintenance();
  void MaintenanceLoop();
  // Adds [begin, end] of `family` to the next purge (merged with what is
  // there) and starts its delay if none is running.
  void SchedulePurge(Family family, KeyRange range);
  Status RunPurge() EXCLUDES(purge_mu_);
  // While read-only: DB::Resume(), and whether writes go through again.
  void TryResume();
  // IOError naming RocksDB's error while writes are stopped, else OK.
  Status CheckWritable() const;
  // PutSnapshot's table file for the snapshot after `seq`, written in the
  // database directory under a name RocksDB does not own, until the
  // database takes it in (Open deletes any a crash left). Each call gets a
  // name of its own, so two snapshots at one seq never share a file.
  static constexpr const char* kSnapshotTablePrefix = "streamrec-snapshot-";
  static constexpr const char* kSnapshotTableSuffix = ".sst.tmp";
  std::string SnapshotTablePath(uint64_t seq);
  // A snapshot's bytes for PutSnapshot: its size, then its chunks in order
  // (nullopt past the last), each valid until the next call.
  struct SnapshotChunks {
    uint64_t size = 0;
    std::function<StatusOr<std::optional<std::string_view>>()> next;
  };
  Status PutSnapshotChunks(uint64_t seq, SnapshotChunks& chunks, uint64_t deletes_applied);
  Status WriteSnapshotTable(const std::string& path, uint64_t seq, SnapshotChunks& chunks) const;
  // Whether PutSnapshot may hand RocksDB a table file.
  bool CanIngestTables() const;
  // Live keys of `family` just outside [lo, hi] (open where there is
  // none): compaction bounds that cover deleted keys without naming them
  // (RocksDB prints a manual compaction's bounds in its LOG).
  KeyRange Around(Family family, const std::string& lo, const std::string& hi) const;

  std::unique_ptr<Maintenance> maintenance_;  // stopped before the database closes
  Mutex purge_mu_;                            // one purge at a time
  std::unique_ptr<Impl> impl_;
  EventLogOptions options_;
  std::string dir_;                          // the database directory
  std::atomic<uint64_t> tables_written_{0};  // SnapshotTablePath's serial

  // Group commit queue. mu_ guards writers_ and next_seq_; the leader drops
  // it while writing so followers can queue.
  mutable Mutex mu_;
  std::deque<Writer*> writers_ GUARDED_BY(mu_);
  uint64_t next_seq_ GUARDED_BY(mu_) = 1;
  uint64_t stream_seq_ GUARDED_BY(mu_) = 0;
  ClusterState cluster_state_ GUARDED_BY(mu_);
  // Serialises DeleteUser/PutSnapshot with group commits so a deletion
  // cannot interleave with an append that reads the same dedup keys.
  mutable Mutex admin_mu_;
  // PutSnapshot's checks: user deletes (user_deletes()) and drops of
  // snapshots (any of DeleteUser, DeleteUserAt, DropSnapshots) so far.
  uint64_t user_deletes_ GUARDED_BY(admin_mu_) = 0;
  uint64_t snapshot_drops_ GUARDED_BY(admin_mu_) = 0;
};

}  // namespace streamrec::storage
