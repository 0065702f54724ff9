#include "storage/event_log.h"

#include <fmt/format.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <filesystem>
#include <unordered_map>

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

}  // namespace

StatusOr<std::unique_ptr<EventLog>> EventLog::Open(const std::string& dir,
                                                   const EventLogOptions& options) {
  std::error_code ec;
  const bool exists = std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec);
  if (!exists && !options.create_if_missing) {
    return Status::NotFound(fmt::format("no streamrec database in '{}'", dir));
  }
  if (!exists) {
    // RocksDB creates the last path component only.
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::IOError(fmt::format("creating '{}': {}", dir, ec.message()));
  }
  const std::vector<std::string> ours = {rocksdb::kDefaultColumnFamilyName,
                                         kEventsCf,
                                         kDedupCf,
                                         kUserIndexCf,
                                         kModelCf,
                                         kCatalogCf,
                                         kMetaCf};
  if (exists) {
    std::vector<std::string> found;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &found);
    if (!s.ok()) return FromRocks(s, fmt::format("reading '{}'", dir));
    for (const auto& cf : found) {
      if (std::find(ours.begin(), ours.end(), cf) == ours.end()) {
        return Status::FailedPrecondition(fmt::format(
            "'{}' holds column family '{}': not a streamrec database (or a newer one)", dir, cf));
      }
    }
  }
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  // After a crash only the unacknowledged tail of the WAL may be torn;
  // corruption anywhere else must stop the open, not drop acknowledged data
  // silently (which kPointInTimeRecovery, the default, would).
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
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
    cfs.emplace_back(name, cf);
  }
  std::unique_ptr<EventLog> log(new EventLog());
  log->options_ = options;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, dir, cfs, &log->handles_, &raw);
  if (!s.ok()) return FromRocks(s, fmt::format("opening '{}'", dir));
  log->db_.reset(raw);
  log->events_ = log->handles_[1];
  log->dedup_ = log->handles_[2];
  log->user_index_ = log->handles_[3];
  log->model_ = log->handles_[4];
  log->catalog_ = log->handles_[5];
  log->meta_ = log->handles_[6];
  STREAMREC_RETURN_IF_ERROR(log->LoadMeta(dir));
  return log;
}

Status EventLog::LoadMeta(const std::string& dir) {
  std::string version, next;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), meta_, kSchemaKey, &version);
  if (s.IsNotFound()) {
    // A new database, or one that died before its first write finished:
    // either way it must hold no events.
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
    it->SeekToFirst();
    if (it->Valid()) {
      return Status::Corruption(fmt::format("'{}' has events but no schema version", dir));
    }
    rocksdb::WriteBatch wb;
    wb.Put(meta_, kSchemaKey, std::to_string(kSchemaVersion));
    wb.Put(meta_, kNextSeqKey, SeqKey(1));
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return FromRocks(db_->Write(wo, &wb), "initialising the database");
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
  s = db_->Get(rocksdb::ReadOptions(), meta_, kNextSeqKey, &next);
  if (!s.ok()) return FromRocks(s, "reading next_seq");
  STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(next, &next_seq_));
  // The newest event must lie below next_seq, or acknowledged seqs could be
  // handed out twice.
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  it->SeekToLast();
  if (it->Valid()) {
    uint64_t last = 0;
    STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(it->key().ToStringView(), &last));
    if (last >= next_seq_) {
      return Status::Corruption(
          fmt::format("'{}': event {} at or beyond next_seq {}", dir, last, next_seq_));
    }
  }
  return FromRocks(it->status(), "scanning events");
}

EventLog::~EventLog() {
  if (!db_) return;
  for (auto* h : handles_) {
    // Swallowed on purpose: a destructor cannot report, and Close follows.
    (void)db_->DestroyColumnFamilyHandle(h);
  }
  (void)db_->Close();
}

uint64_t EventLog::next_seq() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_seq_;
}

}  // namespace streamrec::storage
