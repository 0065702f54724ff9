// EventLog's RocksDB handles, shared by the EventLog's translation units
// (event_log.cc, event_log_append.cc, event_log_ops.cc,
// event_log_snapshots.cc, event_log_maintenance.cc). Not part of the storage API: it is the one
// place the EventLog's RocksDB types appear, so that event_log.h (and
// everything in http/ and tools/ that includes it) compiles without
// RocksDB's headers.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "storage/event_log.h"

namespace streamrec::storage {

// Cluster mode's keys in the meta family (event_log.h).
inline constexpr const char* kStreamSeqKey = "stream_seq";
inline constexpr const char* kClusterStateKey = "cluster_state";

// Admin writes are rare: always durable.
inline rocksdb::WriteOptions SyncedWrite() {
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return wo;
}

// meta "snapshot_seqs": the seqs of the stored snapshots (8-byte keys,
// ascending), written in the same batch as every deletion in the model
// column family, and after a new snapshot's bytes are in it. Recovery reads
// the snapshots by key from it: a damaged table block hides only the
// snapshot in it, where an iterator over the family stops at the first
// damaged file (RocksDB opens every level-0 file on a seek).
inline constexpr const char* kSnapshotSeqsKey = "snapshot_seqs";
std::string EncodeSeqList(const std::vector<uint64_t>& seqs);

// The seq of a key in the model family: a snapshot's header (its SeqKey)
// or one of its chunks (event_log_snapshots.cc).
Status DecodeSnapshotKey(std::string_view key, uint64_t* seq);

// Deletes every snapshot but those after `kept` (ascending) with range
// deletions: no key or value is read. An iterator over the model family
// read every stored snapshot's bytes (hundreds of MB each at 500k users)
// to name its keys, under admin_mu_, which the appends' group commits take.
// Bytes no list names (a crash between a snapshot's ingestion and its
// listing, a refused snapshot) are in some gap and go too.
void DeleteSnapshotsBut(const std::vector<uint64_t>& kept, rocksdb::ColumnFamilyHandle* model,
                        rocksdb::WriteBatch* wb);

// Thread-safety: the handles are set once by EventLog::Open and then only
// read; rocksdb::DB is safe to use from any thread.
struct EventLog::Impl {
  std::unique_ptr<rocksdb::DB> db;
  // Owned; destroyed (by ~EventLog) before db closes. In the order of
  // EventLog::Family.
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* events = nullptr;
  rocksdb::ColumnFamilyHandle* dedup = nullptr;
  rocksdb::ColumnFamilyHandle* user_index = nullptr;
  rocksdb::ColumnFamilyHandle* model = nullptr;
  rocksdb::ColumnFamilyHandle* catalog = nullptr;
  rocksdb::ColumnFamilyHandle* meta = nullptr;

  rocksdb::ColumnFamilyHandle* handle(Family f) const { return handles[static_cast<size_t>(f)]; }

  // A group's puts to the two families keyed by user and by event_id,
  // gathered so CommitGroup can add them to the batch in key order: a
  // memtable insert then starts from the previous one's place in the skip
  // list instead of its top, which had made the random keys of these
  // families most of the log thread's time under ingest.
  struct IndexPuts {
    std::vector<std::string> user_index;                     // keys; values are empty
    std::vector<std::pair<std::string, std::string>> dedup;  // event_id, (seq, fingerprint)
  };
  // Resolves w's events against the store and `pending`; on success adds
  // its events to wb and their index keys to `index`, and advances
  // *next_seq (event_log_append.cc).
  Status PrepareWriter(Writer* w, uint64_t* next_seq, rocksdb::WriteBatch* wb, IndexPuts* index,
                       PendingIds* pending) const;
};

}  // namespace streamrec::storage
