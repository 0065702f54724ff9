// EventLog's RocksDB handles, shared by the EventLog's translation units
// (event_log.cc, event_log_append.cc, event_log_ops.cc,
// event_log_maintenance.cc). Not part of the storage API: it is the one
// place the EventLog's RocksDB types appear, so that event_log.h (and
// everything in http/ and tools/ that includes it) compiles without
// RocksDB's headers.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <memory>
#include <string>
#include <vector>

#include "storage/event_log.h"

namespace streamrec::storage {

// Cluster mode's keys in the meta family (event_log.h).
inline constexpr const char* kStreamSeqKey = "stream_seq";
inline constexpr const char* kClusterStateKey = "cluster_state";

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

  // Resolves w's events against the store and `pending`; on success adds
  // its puts to wb and advances *next_seq (event_log_append.cc).
  Status PrepareWriter(Writer* w, uint64_t* next_seq, rocksdb::WriteBatch* wb,
                       PendingIds* pending) const;
};

}  // namespace streamrec::storage
