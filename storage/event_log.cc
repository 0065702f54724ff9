#include "storage/event_log.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "storage/event_log_impl.h"
#include "storage/event_log_maintenance.h"
#include "storage/rocks_logger.h"
#include "storage/rocks_status.h"

namespace streamrec::storage {
namespace {

constexpr const char* kEventsCf = "events";
constexpr const char* kDedupCf = "dedup";
constexpr const char* kUserIndexCf = "user_index";
constexpr const char* kModelCf = "model";
constexpr const char* kCatalogCf = "catalog";
constexpr const char* kMetaCf = "meta";
constexpr const char* kSchemaKey = "schema_version";
constexpr const char* kNextSeqKey = "next_seq";

// Decides what Open may do with `dir` before RocksDB touches it. RocksDB
// treats a directory without CURRENT as a new database: it writes a fresh
// CURRENT and MANIFEST next to whatever is there and, on the next open,
// deletes the old table and log files as obsolete. So only an absent or
// empty directory is ever created in; anything else without CURRENT is
// refused, untouched. *exists: it holds a CURRENT file.
Status CheckDirectory(const std::string& dir, bool create_if_missing, bool* exists) {
  namespace fs = std::filesystem;
  std::error_code ec;
  *exists = false;
  const fs::file_status st = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) {
    return Status::IOError(fmt::format("reading '{}': {}", dir, ec.message()));
  }
  if (!fs::exists(st)) {
    if (!create_if_missing)
      return Status::NotFound(fmt::format("no streamrec database in '{}'", dir));
    // RocksDB creates the last path component only.
    fs::create_directories(dir, ec);
    if (ec) return Status::IOError(fmt::format("creating '{}': {}", dir, ec.message()));
    return Status::OK();
  }
  if (!fs::is_directory(st)) {
    return Status::FailedPrecondition(fmt::format("'{}' is not a directory", dir));
  }
  std::vector<std::string> names;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return Status::IOError(fmt::format("listing '{}': {}", dir, ec.message()));
  if (std::find(names.begin(), names.end(), "CURRENT") != names.end()) {
    *exists = true;
    return Status::OK();
  }
  // What a creation killed before it wrote CURRENT leaves (the crash test
  // finds it): the lock, RocksDB's info log, its identity, a temporary
  // CURRENT and the new, empty first MANIFEST. No event can be in a
  // directory without a WAL or table file, so it counts as empty.
  const bool creation_debris = std::all_of(names.begin(), names.end(), [](const std::string& n) {
    return n == "LOCK" || n == "IDENTITY" || n.starts_with("LOG") || n.ends_with(".dbtmp") ||
           n == "MANIFEST-000001";
  });
  if (names.empty() || creation_debris) {
    if (!create_if_missing)
      return Status::NotFound(fmt::format("no streamrec database in '{}'", dir));
    return Status::OK();
  }
  std::sort(names.begin(), names.end());
  const size_t shown = std::min<size_t>(names.size(), 5);
  std::string list = fmt::format("{}", fmt::join(names.begin(), names.begin() + shown, ", "));
  if (shown < names.size()) list += fmt::format(" and {} more", names.size() - shown);
  const bool rocks = std::any_of(names.begin(), names.end(), [](const std::string& n) {
    return n.starts_with("MANIFEST-") || n.ends_with(".sst") || n.ends_with(".log") ||
           n == "IDENTITY" || n.starts_with("OPTIONS-");
  });
  return Status::FailedPrecondition(fmt::format(
      "'{}' is not empty but holds no readable streamrec database (no CURRENT file; it holds {}). "
      "Refusing to create a database there or to change anything in it. {}",
      dir, list,
      rocks ? "It looks like a RocksDB directory that lost its CURRENT file: restore it from a "
              "backup, or write the name of its newest MANIFEST-* file into CURRENT by hand."
            : "Point the data directory at an empty or absent directory."));
}

// OK if every column family of the database in `dir` is empty; reads
// only (a read-only open writes no file, and its info log is discarded).
Status CheckEmpty(const std::string& dir, const std::vector<std::string>& families) {
  rocksdb::DBOptions o;
  o.info_log = RocksInfoLog::Discarding();
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& name : families) cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(o, dir, cfs, &handles, &raw);
  if (!s.ok()) return FromRocks(s, fmt::format("reading '{}' (left untouched)", dir));
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string holding;
  for (size_t n = 0; n < handles.size(); ++n) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[n]));
    it->SeekToFirst();
    if ((it->Valid() || !it->status().ok()) && holding.empty()) holding = families[n];
  }
  for (auto* h : handles) (void)db->DestroyColumnFamilyHandle(h);  // a read-only close
  if (holding.empty()) return Status::OK();
  return Status::FailedPrecondition(
      fmt::format("'{}' has no column families 'events' and 'meta' and its '{}' holds data: not a "
                  "streamrec database (left untouched)",
                  dir, holding));
}

}  // namespace

StatusOr<std::unique_ptr<EventLog>> EventLog::Open(const std::string& dir,
                                                   const EventLogOptions& options) {
  bool exists = false;
  STREAMREC_RETURN_IF_ERROR(CheckDirectory(dir, options.create_if_missing, &exists));
  const std::vector<std::string> ours = {rocksdb::kDefaultColumnFamilyName,
                                         kEventsCf,
                                         kDedupCf,
                                         kUserIndexCf,
                                         kModelCf,
                                         kCatalogCf,
                                         kMetaCf};
  if (exists) {
    // ListColumnFamilies only reads CURRENT and the MANIFEST: a directory
    // refused here is left exactly as it was.
    std::vector<std::string> found;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &found);
    if (!s.ok()) {
      return FromRocks(s, fmt::format("reading '{}' (left untouched; not a readable streamrec "
                                      "database)",
                                      dir));
    }
    for (const auto& cf : found) {
      if (std::find(ours.begin(), ours.end(), cf) == ours.end()) {
        return Status::FailedPrecondition(fmt::format(
            "'{}' holds column family '{}': not a streamrec database (or a newer one)", dir, cf));
      }
    }
    // The events and meta families mark a streamrec database (any version);
    // one that lacks a later-added family gets it on open. Without them it
    // is ours only if it holds nothing: a creation cut short (RocksDB adds
    // the families one by one after CURRENT exists).
    const bool marked = std::find(found.begin(), found.end(), kEventsCf) != found.end() &&
                        std::find(found.begin(), found.end(), kMetaCf) != found.end();
    if (!marked) STREAMREC_RETURN_IF_ERROR(CheckEmpty(dir, found));
  }
  rocksdb::DBOptions db_options;
  // Only a directory CheckDirectory found absent or empty is created in.
  db_options.create_if_missing = !exists;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  // After a crash only the unacknowledged tail of the WAL may be torn;
  // corruption anywhere else must stop the open, not drop acknowledged data
  // silently (which kPointInTimeRecovery, the default, would).
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // RocksDB's own LOG writer aborts the process on the line after a failed
  // write (a full disk): stdio instead, dropping what cannot be written.
  db_options.info_log = RocksInfoLog::Open(dir + "/LOG");
  db_options.max_total_wal_size = options.max_wal_bytes;
  // The memtables an open rebuilds from the WAL stay memtables, flushed in
  // their time like any others (and the WAL kept until then), instead of
  // being written out as small table files before the open returns: ~0.3 s
  // of a restart after a crash with 50 MB of WAL.
  db_options.avoid_flush_during_recovery = true;
  // Table files are synced as they are written, 1 MiB at a time, so no
  // flush (a snapshot's is hundreds of MB) leaves a mass of dirty pages that
  // the next WAL fsync, an acknowledged append's, has to wait out.
  db_options.bytes_per_sync = 1 << 20;
  // Every version edit starts a new MANIFEST (and the old one is deleted),
  // so the first and last keys of files that a purge compacted away do not
  // linger in an old edit. A MANIFEST is a few KB here; edits come with
  // flushes and compactions, seconds apart at most.
  db_options.max_manifest_file_size = 1;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const auto& name : ours) {
    rocksdb::ColumnFamilyOptions cf;
    if (name == kDedupCf) {
      // Nearly every append looks up an event_id that is not there: a
      // Bloom filter answers most of those without reading a block.
      rocksdb::BlockBasedTableOptions table;
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
      cf.memtable_prefix_bloom_size_ratio = 0.1;
      cf.memtable_whole_key_filtering = true;
    }
    if (name == kModelCf) {
      // The index names each block's first key, so a read of one snapshot
      // (GetSnapshot) does not load, or fail on, the block of another.
      rocksdb::BlockBasedTableOptions table;
      table.index_type = rocksdb::BlockBasedTableOptions::kBinarySearchWithFirstKey;
      cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
      // Snapshots are mostly float factors, which snappy cannot shrink: it
      // only cost the flush and every compaction CPU.
      cf.compression = rocksdb::kNoCompression;
      // One table file per snapshot (hundreds of MB at 500k users): by size
      // (L0 past max_bytes_for_level_base, 256 MB) two of them started a
      // compaction that rewrote both. Compactions come by file count only,
      // every few snapshots, and drop the pruned ones then.
      cf.max_bytes_for_level_base = uint64_t{1} << 40;
    }
    cfs.emplace_back(name, cf);
  }
  std::unique_ptr<EventLog> log(new EventLog());
  log->options_ = options;
  log->dir_ = dir;
  log->maintenance_ = std::make_unique<Maintenance>();
  db_options.listeners.push_back(std::make_shared<HealthListener>(log->maintenance_->state));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, cfs, &log->impl_->handles, &raw);
  if (!s.ok()) return FromRocks(s, fmt::format("opening '{}'", dir));
  log->impl_->db.reset(raw);
  // A snapshot's table file that a crash left before the database took it
  // in (PutSnapshot): never named by any list, so never needed. After the
  // open, whose LOCK keeps a second process (writing one of its own) out.
  {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.starts_with(kSnapshotTablePrefix) && name.ends_with(kSnapshotTableSuffix)) {
        std::error_code gone;
        fs::remove(it->path(), gone);
      }
    }
  }
  Impl& rocks = *log->impl_;
  rocks.events = rocks.handle(Family::kEvents);
  rocks.dedup = rocks.handle(Family::kDedup);
  rocks.user_index = rocks.handle(Family::kUserIndex);
  rocks.model = rocks.handle(Family::kModel);
  rocks.catalog = rocks.handle(Family::kCatalog);
  rocks.meta = rocks.handle(Family::kMeta);
  STREAMREC_RETURN_IF_ERROR(log->LoadMeta(dir));
  log->StartMaintenance();
  return log;
}

Status EventLog::LoadMeta(const std::string& dir) {
  std::string version, next;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, kSchemaKey, &version);
  if (s.IsNotFound()) {
    // A new database, or one that died before its first write finished:
    // either way it must hold no events.
    std::unique_ptr<rocksdb::Iterator> it(
        impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->events));
    it->SeekToFirst();
    if (it->Valid()) {
      return Status::Corruption(fmt::format("'{}' has events but no schema version", dir));
    }
    rocksdb::WriteBatch wb;
    wb.Put(impl_->meta, kSchemaKey, std::to_string(kSchemaVersion));
    wb.Put(impl_->meta, kNextSeqKey, SeqKey(1));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(impl_->db->Write(wo, &wb), "initialising the database");
  }
  if (!s.ok()) return FromRocks(s, "reading the schema version");
  uint32_t v = 0;
  try {
    v = static_cast<uint32_t>(std::stoul(version));
  } catch (const std::exception&) {
    return Status::Corruption(fmt::format("'{}': unreadable schema version '{}'", dir, version));
  }
  if (v > kSchemaVersion) {
    return Status::FailedPrecondition(
        fmt::format("'{}' was written by a newer streamrec (schema {}; this build reads up to {})",
                    dir, v, kSchemaVersion));
  }
  s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, kNextSeqKey, &next);
  if (!s.ok()) return FromRocks(s, "reading next_seq");
  uint64_t next_seq = 0;
  STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(next, &next_seq));
  // The newest event must lie below next_seq, or acknowledged seqs could be
  // handed out twice.
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->events));
  it->SeekToLast();
  if (it->Valid()) {
    uint64_t last = 0;
    STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(it->key().ToStringView(), &last));
    if (last >= next_seq) {
      return Status::Corruption(
          fmt::format("'{}': event {} at or beyond next_seq {}", dir, last, next_seq));
    }
  }
  STREAMREC_RETURN_IF_ERROR(FromRocks(it->status(), "scanning events"));
  std::string cursor;
  uint64_t stream_seq = 0;
  s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, kStreamSeqKey, &cursor);
  if (s.ok()) {
    STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(cursor, &stream_seq));
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading stream_seq");
  }
  ClusterState state;
  std::string state_bytes;
  s = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, kClusterStateKey, &state_bytes);
  if (s.ok()) {
    if (state_bytes.size() != 16) return Status::Corruption("unreadable cluster_state");
    STREAMREC_RETURN_IF_ERROR(
        DecodeSeqKey(std::string_view(state_bytes).substr(0, 8), &state.retrain_pending));
    STREAMREC_RETURN_IF_ERROR(
        DecodeSeqKey(std::string_view(state_bytes).substr(8), &state.last_forget));
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading cluster_state");
  }
  MutexLock lock(&mu_);  // no other thread has the log yet: for the analysis
  next_seq_ = next_seq;
  stream_seq_ = stream_seq;
  cluster_state_ = state;
  return Status::OK();
}

EventLog::EventLog() : impl_(std::make_unique<Impl>()) {}

EventLog::~EventLog() {
  if (!impl_->db) return;
  StopMaintenance();
  for (auto* h : impl_->handles) {
    // Swallowed on purpose: a destructor cannot report, and Close follows.
    (void)impl_->db->DestroyColumnFamilyHandle(h);
  }
  (void)impl_->db->Close();
}

uint64_t EventLog::next_seq() const {
  MutexLock lock(&mu_);
  return next_seq_;
}

uint64_t EventLog::stream_seq() const {
  MutexLock lock(&mu_);
  return stream_seq_;
}

ClusterState EventLog::cluster_state() const {
  MutexLock lock(&mu_);
  return cluster_state_;
}

Status EventLog::SetStreamSeq(uint64_t stream_seq, const ClusterState* state) {
  MutexLock admin(&admin_mu_);
  STREAMREC_RETURN_IF_ERROR(CheckWritable());
  rocksdb::WriteBatch wb;
  wb.Put(impl_->meta, kStreamSeqKey, SeqKey(stream_seq));
  if (state != nullptr) {
    wb.Put(impl_->meta, kClusterStateKey,
           SeqKey(state->retrain_pending) + SeqKey(state->last_forget));
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.durability == Durability::kSync;
  STREAMREC_RETURN_IF_ERROR(FromRocks(impl_->db->Write(wo, &wb), "writing stream_seq"));
  MutexLock lock(&mu_);
  stream_seq_ = std::max(stream_seq_, stream_seq);
  if (state != nullptr) cluster_state_ = *state;
  return Status::OK();
}

}  // namespace streamrec::storage
