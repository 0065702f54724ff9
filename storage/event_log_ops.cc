// EventLog: reads, snapshots, deletion, catalog and stats.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "storage/event_log.h"
#include "storage/event_log_impl.h"
#include "storage/event_log_maintenance.h"
#include "storage/rocks_status.h"

namespace streamrec::storage {
namespace {

rocksdb::WriteOptions SyncedWrite() {
  rocksdb::WriteOptions wo;
  wo.sync = true;  // admin writes are rare: always durable
  return wo;
}

// meta "snapshot_seqs": the seqs of the stored snapshots (8-byte keys,
// ascending), written in the same batch as every deletion in the model
// column family, and after a new snapshot's bytes are in it. Recovery reads
// the snapshots by key from it: a damaged table block hides only the
// snapshot in it, where an iterator over the family stops at the first
// damaged file (RocksDB opens every level-0 file on a seek).
constexpr const char* kSnapshotSeqsKey = "snapshot_seqs";

std::string EncodeSeqList(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) out += k;
  return out;
}

// Deletes every snapshot but those at `kept` (sorted keys) with range
// deletions: no key or value is read. An iterator over the model family
// read every stored snapshot's bytes (hundreds of MB each at 500k users)
// to name its key, under admin_mu_, which the appends' group commits take.
// Bytes no list names (a crash between a snapshot's flush and its listing,
// a refused snapshot) are in some gap and go too.
void DeleteSnapshotsBut(const std::vector<std::string>& kept, rocksdb::ColumnFamilyHandle* model,
                        rocksdb::WriteBatch* wb) {
  std::string from;  // "": below every key
  for (const std::string& key : kept) {
    if (from < key) wb->DeleteRange(model, from, key);
    from = key + '\0';  // the first key after `key`
  }
  // Seq keys are 8 bytes: 9 0xff bytes are past them all.
  wb->DeleteRange(model, from, std::string(9, '\xff'));
}

}  // namespace

Status EventLog::Scan(uint64_t from, uint64_t to,
                      const std::function<bool(const StoredEvent&)>& fn) const {
  if (from > to) return Status::OK();
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.readahead_size = 2 << 20;  // replay is a sequential read
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->events));
  StoredEvent e;
  for (it->Seek(SeqKey(from)); it->Valid(); it->Next()) {
    STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(it->key().ToStringView(), &e.seq));
    if (e.seq > to) break;
    Status st = DecodeEvent(it->value().ToStringView(), &e);
    if (!st.ok()) return Status(st.code(), fmt::format("event {}: {}", e.seq, st.message()));
    if (!fn(e)) break;
  }
  return FromRocks(it->status(), "scanning events");
}

std::string EventLog::SnapshotTablePath(uint64_t seq) {
  return fmt::format("{}/{}{:020}-{}{}", dir_, kSnapshotTablePrefix, seq, tables_written_++,
                     kSnapshotTableSuffix);
}

Status EventLog::WriteSnapshotTable(const std::string& path, const std::string& key,
                                    std::string_view blob) const {
  // The model family's own options (no compression, its table format), so
  // the file is what a flush of the family would have written.
  const rocksdb::Options options = impl_->db->GetOptions(impl_->model);
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(options), options, impl_->model,
                                /*invalidate_page_cache=*/false);
  STREAMREC_RETURN_IF_ERROR(FromRocks(writer.Open(path), "writing a snapshot: creating its table"));
  STREAMREC_RETURN_IF_ERROR(
      FromRocks(writer.Put(key, rocksdb::Slice(blob.data(), blob.size())), "writing a snapshot"));
  return FromRocks(writer.Finish(), "writing a snapshot: finishing its table");
}

bool EventLog::CanIngestTables() const {
  // RocksDB before 8.9 leaves its "stopped" flag set after it recovers from
  // a hard background error (a full disk; fixed upstream in #11991), and an
  // ingestion then proceeds with file number 0: an assertion aborts the
  // process (Debian's RocksDB has them compiled in) or, without them, a
  // table named 000000.sst. After any background error since the open,
  // snapshots take the memtable path until the next open.
  HealthState& st = *maintenance_->state;
  MutexLock lock(&st.mu);
  return st.health.errors == 0;
}

Status EventLog::PutSnapshot(uint64_t seq, std::string_view blob, uint64_t deletes_applied) {
  STREAMREC_RETURN_IF_ERROR(CheckWritable());
  // The bytes go to a table file of their own, written outside every lock,
  // which the database then takes in whole (IngestExternalFile: a hard
  // link, an fsync and a sequence number). Through the memtable a snapshot
  // (hundreds of MB at 500k users) held the write queue, where every event
  // append waits, for as long as its copy took, and then a flush wrote it
  // at ~100 MB/s. A crash while the file is written leaves a temporary
  // file, which Open deletes; one after the ingest but before the list
  // below names it leaves bytes no list names: recovery reads only listed
  // snapshots, and the next snapshot deletes them.
  //
  // The memtable path (CanIngestTables() false): written without the WAL,
  // then the model family flushed (synced) before the list names them.
  const std::string key = SeqKey(seq);
  const auto refused = [&](std::string_view why) {
    return Status::Unavailable(fmt::format("the snapshot after seq {} was not kept: {}", seq, why));
  };
  constexpr std::string_view kBehindDelete =
      "a user was deleted from the log after it was encoded, and it may hold them";
  const bool ingest = CanIngestTables();
  uint64_t drops = 0;
  {
    // admin_mu_ (which every group commit takes) is not held while a table
    // is written and taken in, nor for a flush (seconds at 500k users):
    // the ingestion alone reads the table back whole (its first and last
    // key are in the one block that holds the snapshot), 0.8 s at 500k
    // users.
    MutexLock admin(&admin_mu_);
    if (deletes_applied < user_deletes_) return refused(kBehindDelete);
    drops = snapshot_drops_;
    if (!ingest) {
      rocksdb::WriteOptions no_wal;
      no_wal.disableWAL = true;
      STREAMREC_RETURN_IF_ERROR(FromRocks(
          impl_->db->Put(no_wal, impl_->model, key, rocksdb::Slice(blob.data(), blob.size())),
          "writing a snapshot"));
    }
  }
  if (ingest) {
    const std::string table = SnapshotTablePath(seq);
    const auto discard = [&](Status st) {
      std::error_code ec;
      std::filesystem::remove(table, ec);  // gone already after a successful ingest
      return st;
    };
    if (Status st = WriteSnapshotTable(table, key, blob); !st.ok()) return discard(st);
    rocksdb::IngestExternalFileOptions in;
    in.move_files = true;  // a hard link, not a copy; RocksDB syncs it
    // Range deletions of earlier prunes cover the new key: the file takes a
    // sequence number above them (kept in the MANIFEST, not the file).
    in.allow_global_seqno = true;
    in.write_global_seqno = false;
    in.allow_blocking_flush = true;  // a memtable holding those deletions
    // A disk error while the table was written: the check above no longer
    // holds, and this one snapshot fails (the next takes the memtable path).
    Status st = CheckWritable();
    if (st.ok() && !CanIngestTables()) {
      st = Status::IOError("a disk error came while the snapshot was written; not stored");
    }
    if (st.ok()) {
      st = FromRocks(impl_->db->IngestExternalFile(impl_->model, {table}, in),
                     "writing a snapshot: adding its table");
    }
    if (!st.ok()) return discard(st);
  } else {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    STREAMREC_RETURN_IF_ERROR(
        FromRocks(impl_->db->Flush(fo, impl_->model), "writing a snapshot: flushing it"));
  }
  // Held to the list: a user delete or a drop either came before (and
  // refuses this snapshot) or waits for the list that names it.
  MutexLock admin(&admin_mu_);
  if (deletes_applied < user_deletes_ || drops != snapshot_drops_) {
    // A drop (which may have been for a deleted user the snapshot holds)
    // or a user delete came while the bytes were written: not kept.
    const Status why = refused(
        drops != snapshot_drops_ ? "snapshots were dropped while it was written" : kBehindDelete);
    // The bytes are in: they go (if the drop has not deleted them already).
    rocksdb::WriteBatch wb;
    wb.Delete(impl_->model, key);
    STREAMREC_RETURN_IF_ERROR(
        FromRocks(impl_->db->Write(SyncedWrite(), &wb), "dropping a refused snapshot"));
    SchedulePurge(Family::kModel, {});
    return why;
  }
  // Keep the newest snapshots_to_keep (counting this one), from the list.
  std::vector<std::string> keys;
  for (uint64_t listed : SnapshotSeqs(nullptr)) {
    if (listed != seq) keys.push_back(SeqKey(listed));
  }
  const size_t keep_old = options_.snapshots_to_keep > 1 ? options_.snapshots_to_keep - 1 : 0;
  const size_t pruned = keys.size() > keep_old ? keys.size() - keep_old : 0;
  std::vector<std::string> kept(keys.begin() + pruned, keys.end());
  kept.push_back(key);
  std::sort(kept.begin(), kept.end());
  rocksdb::WriteBatch wb;
  DeleteSnapshotsBut(kept, impl_->model, &wb);
  wb.Put(impl_->meta, kSnapshotSeqsKey, EncodeSeqList(kept));
  STREAMREC_RETURN_IF_ERROR(FromRocks(impl_->db->Write(SyncedWrite(), &wb), "writing a snapshot"));
  // The pruned snapshots' bytes stay in the table files until a compaction
  // drops them, every few snapshots (level0_file_num_compaction_trigger,
  // 4). A purge here rewrote the kept snapshots after every snapshot:
  // at 500k users, 600 MB for each one written. A user delete's drop
  // purges at once (its user's bytes must leave the disk), as before.
  return Status::OK();
}

uint64_t EventLog::user_deletes() const {
  MutexLock admin(&admin_mu_);
  return user_deletes_;
}

StatusOr<std::optional<Snapshot>> EventLog::LatestSnapshot() const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->model));
  it->SeekToLast();
  if (!it->Valid()) {
    STREAMREC_RETURN_IF_ERROR(FromRocks(it->status(), "reading snapshots"));
    return std::optional<Snapshot>();
  }
  Snapshot snap;
  STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(it->key().ToStringView(), &snap.seq));
  snap.blob = it->value().ToString();
  return std::optional<Snapshot>(std::move(snap));
}

std::vector<uint64_t> EventLog::SnapshotSeqs(std::string* problem) const {
  std::set<uint64_t> seqs;
  std::vector<std::string> problems;
  std::string list;
  rocksdb::Status got =
      impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, kSnapshotSeqsKey, &list);
  if (got.ok() && list.size() % 8 == 0) {
    for (size_t at = 0; at < list.size(); at += 8) {
      uint64_t seq = 0;
      if (DecodeSeqKey(std::string_view(list).substr(at, 8), &seq).ok()) seqs.insert(seq);
    }
    if (problem != nullptr) problem->clear();
    return {seqs.begin(), seqs.end()};
  }
  if (!got.IsNotFound()) {
    problems.push_back(got.ok() ? "the snapshot list is damaged" : got.ToString());
  }
  // No list (a database from before it existed): the keys themselves.
  auto collect = [&](rocksdb::Iterator* it, bool forward) {
    for (; it->Valid(); forward ? it->Next() : it->Prev()) {
      uint64_t seq = 0;
      Status st = DecodeSeqKey(it->key().ToStringView(), &seq);
      if (st.ok()) seqs.insert(seq);
      if (!st.ok()) problems.push_back(st.ToString());
    }
    return it->status();
  };
  std::unique_ptr<rocksdb::Iterator> fwd(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->model));
  fwd->SeekToFirst();
  rocksdb::Status s = collect(fwd.get(), /*forward=*/true);
  if (!s.ok()) {
    problems.push_back(fmt::format("listing snapshots: {}", s.ToString()));
    std::unique_ptr<rocksdb::Iterator> bwd(
        impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->model));
    bwd->SeekToLast();
    // Its error, if any, is the same block's: not repeated.
    (void)collect(bwd.get(), /*forward=*/false);
  }
  if (problem != nullptr) *problem = fmt::format("{}", fmt::join(problems, "; "));
  return {seqs.begin(), seqs.end()};
}

StatusOr<std::string> EventLog::GetSnapshot(uint64_t seq) const {
  // A bounded iterator rather than Get: with three or fewer level-0 files
  // and no other level, a Get looks into every file (RocksDB skips its key
  // range check), so one damaged snapshot would hide all the others. The
  // upper bound keeps the iterator out of blocks past this key.
  const std::string key = SeqKey(seq), bound = SeqKey(seq + 1);
  rocksdb::Slice upper(bound);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro, impl_->model));
  it->Seek(key);
  const std::string what = fmt::format("reading the snapshot at seq {}", seq);
  STREAMREC_RETURN_IF_ERROR(FromRocks(it->status(), what));
  if (!it->Valid() || it->key() != key) return Status::NotFound(what + ": none");
  return it->value().ToString();
}

StatusOr<uint64_t> EventLog::DeleteUser(std::string_view user,
                                        std::vector<StoredEvent>* removed_events) {
  return DeleteUserImpl(user, removed_events, UINT64_MAX, 0, nullptr);
}

StatusOr<uint64_t> EventLog::DeleteUserAt(std::string_view user, uint64_t keep_snapshots_from,
                                          uint64_t stream_seq, const ClusterState& state) {
  return DeleteUserImpl(user, nullptr, keep_snapshots_from, stream_seq, &state);
}

Status EventLog::ScanUser(
    std::string_view user,
    const std::function<void(std::string_view index_key, uint64_t seq, StoredEvent* e)>& fn,
    const char* reading, bool newest_first, size_t max_events) const {
  const std::string prefix = UserIndexPrefix(user);
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->user_index));
  // The user's keys are the prefix and a big-endian seq: the newest is the
  // last one at or below prefix + 0xff..ff.
  if (newest_first) {
    it->SeekForPrev(prefix + std::string(8, '\xff'));
  } else {
    it->Seek(prefix);
  }
  size_t found = 0;
  for (; it->Valid() && it->key().starts_with(prefix) && found < max_events;
       newest_first ? it->Prev() : it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (key.size() != prefix.size() + 8) continue;  // a longer user sharing the prefix bytes
    uint64_t seq = 0;
    STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(key.substr(prefix.size()), &seq));
    std::string value;
    rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->events, SeqKey(seq), &value);
    if (s.IsNotFound()) {
      fn(key, seq, nullptr);
      continue;
    }
    if (!s.ok()) return FromRocks(s, reading);
    StoredEvent e;
    STREAMREC_RETURN_IF_ERROR(DecodeEvent(value, &e));
    e.seq = seq;
    ++found;
    fn(key, seq, &e);
  }
  return FromRocks(it->status(), "scanning the user index");
}

Status EventLog::ReadUser(std::string_view user, std::vector<StoredEvent>* events) const {
  return ScanUser(
      user,
      [&](std::string_view, uint64_t, StoredEvent* e) {
        if (e != nullptr) events->push_back(std::move(*e));
      },
      "reading a user's event");
}

Status EventLog::RecentUserEvents(std::string_view user, size_t max,
                                  std::vector<StoredEvent>* events) const {
  return ScanUser(
      user,
      [&](std::string_view, uint64_t, StoredEvent* e) {
        if (e != nullptr) events->push_back(std::move(*e));
      },
      "reading a user's recent event", /*newest_first=*/true, max);
}

StatusOr<uint64_t> EventLog::DeleteUserImpl(std::string_view user,
                                            std::vector<StoredEvent>* removed_events,
                                            uint64_t keep_snapshots_from, uint64_t stream_seq,
                                            const ClusterState* state) {
  STREAMREC_RETURN_IF_ERROR(CheckWritable());
  MutexLock admin(&admin_mu_);
  rocksdb::WriteBatch wb;
  uint64_t removed = 0;
  // What the purge must compact (the seqs and event_ids the user had).
  uint64_t min_seq = UINT64_MAX, max_seq = 0;
  std::optional<std::string> min_id, max_id;
  const std::string prefix = UserIndexPrefix(user);
  STREAMREC_RETURN_IF_ERROR(ScanUser(
      user,
      [&](std::string_view index_key, uint64_t seq, StoredEvent* e) {
        wb.Delete(impl_->user_index, index_key);
        if (e == nullptr) return;  // an index entry whose event is gone
        if (!e->event_id.empty()) {
          wb.Delete(impl_->dedup, e->event_id);
          if (!min_id || e->event_id < *min_id) min_id = e->event_id;
          if (!max_id || e->event_id > *max_id) max_id = e->event_id;
        }
        wb.Delete(impl_->events, SeqKey(seq));
        min_seq = std::min(min_seq, seq);
        max_seq = std::max(max_seq, seq);
        ++removed;
        if (removed_events != nullptr) removed_events->push_back(std::move(*e));
      },
      "reading an event to delete"));
  const bool theirs = wb.Count() > 0;  // anything of theirs was stored
  if (stream_seq > 0) {
    wb.Put(impl_->meta, kStreamSeqKey, SeqKey(stream_seq));
    wb.Put(impl_->meta, kClusterStateKey,
           SeqKey(state->retrain_pending) + SeqKey(state->last_forget));
  }
  if (wb.Count() == 0) return removed;  // nothing to write
  if (theirs) {
    // Snapshots embed the user's vector and seen items: drop those written
    // before the model forgot them (all of them, outside cluster mode).
    std::vector<std::string> kept;
    if (keep_snapshots_from != UINT64_MAX) {
      for (uint64_t listed : SnapshotSeqs(nullptr)) {
        if (listed >= keep_snapshots_from) kept.push_back(SeqKey(listed));
      }
    }
    DeleteSnapshotsBut(kept, impl_->model, &wb);
    wb.Put(impl_->meta, kSnapshotSeqsKey, EncodeSeqList(kept));
  }
  STREAMREC_RETURN_IF_ERROR(FromRocks(impl_->db->Write(SyncedWrite(), &wb), "deleting a user"));
  if (theirs) {
    ++snapshot_drops_;
    // Outside cluster mode the log deletes before the model forgets: a
    // snapshot encoded in between is refused (PutSnapshot).
    if (keep_snapshots_from == UINT64_MAX) ++user_deletes_;
  }
  if (stream_seq > 0) {
    MutexLock lock(&mu_);
    stream_seq_ = std::max(stream_seq_, stream_seq);
    cluster_state_ = *state;
  }
  if (!theirs) return removed;
  // Seq keys name no one: the events' range is given as is. The index and
  // dedup keys may hold the id, so their bounds are the live neighbours.
  if (removed > 0) SchedulePurge(Family::kEvents, {SeqKey(min_seq), SeqKey(max_seq)});
  if (min_id) SchedulePurge(Family::kDedup, Around(Family::kDedup, *min_id, *max_id));
  SchedulePurge(Family::kUserIndex,
                Around(Family::kUserIndex, prefix, prefix + std::string(8, '\xff')));
  SchedulePurge(Family::kModel, {});
  return removed;
}

Status EventLog::DropSnapshots() {
  STREAMREC_RETURN_IF_ERROR(CheckWritable());
  MutexLock admin(&admin_mu_);
  rocksdb::WriteBatch wb;
  DeleteSnapshotsBut({}, impl_->model, &wb);
  wb.Put(impl_->meta, kSnapshotSeqsKey, "");
  STREAMREC_RETURN_IF_ERROR(FromRocks(impl_->db->Write(SyncedWrite(), &wb), "dropping snapshots"));
  ++snapshot_drops_;
  SchedulePurge(Family::kModel, {});
  return Status::OK();
}

Status EventLog::PutItem(std::string_view item, const ItemMeta& meta) {
  if (item.empty()) return Status::InvalidArgument("item id is empty");
  STREAMREC_RETURN_IF_ERROR(CheckWritable());
  std::string v;
  EncodeItemMeta(meta, &v);
  return FromRocks(
      impl_->db->Put(SyncedWrite(), impl_->catalog, rocksdb::Slice(item.data(), item.size()), v),
      "writing the catalog");
}

StatusOr<std::optional<ItemMeta>> EventLog::GetItem(std::string_view item) const {
  std::string v;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->catalog,
                                     rocksdb::Slice(item.data(), item.size()), &v);
  if (s.IsNotFound()) return std::optional<ItemMeta>();
  STREAMREC_RETURN_IF_ERROR(FromRocks(s, "reading the catalog"));
  ItemMeta m;
  STREAMREC_RETURN_IF_ERROR(DecodeItemMeta(v, &m));
  return std::optional<ItemMeta>(std::move(m));
}

Status EventLog::DeleteItem(std::string_view item) {
  STREAMREC_RETURN_IF_ERROR(CheckWritable());
  return FromRocks(
      impl_->db->Delete(SyncedWrite(), impl_->catalog, rocksdb::Slice(item.data(), item.size())),
      "deleting from the catalog");
}

Status EventLog::ScanItems(const std::function<bool(std::string_view, const ItemMeta&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->catalog));
  ItemMeta m;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    STREAMREC_RETURN_IF_ERROR(DecodeItemMeta(it->value().ToStringView(), &m));
    if (!fn(it->key().ToStringView(), m)) break;
  }
  return FromRocks(it->status(), "scanning the catalog");
}

StatusOr<LogStats> EventLog::Stats() const {
  LogStats st;
  st.next_seq = next_seq();
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->events));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint64_t seq = 0;
    STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(it->key().ToStringView(), &seq));
    if (st.events == 0) st.first_seq = seq;
    st.last_seq = seq;
    ++st.events;
  }
  STREAMREC_RETURN_IF_ERROR(FromRocks(it->status(), "counting events"));
  std::unique_ptr<rocksdb::Iterator> snaps(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->model));
  for (snaps->SeekToFirst(); snaps->Valid(); snaps->Next()) {
    ++st.snapshots;
    STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(snaps->key().ToStringView(), &st.snapshot_seq));
  }
  std::unique_ptr<rocksdb::Iterator> cat(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->catalog));
  for (cat->SeekToFirst(); cat->Valid(); cat->Next()) ++st.catalog_items;
  uint64_t sst = 0, wal = 0;
  for (auto* h : impl_->handles) {
    uint64_t v = 0;
    if (impl_->db->GetIntProperty(h, "rocksdb.total-sst-files-size", &v)) sst += v;
  }
  rocksdb::VectorLogPtr logs;
  if (impl_->db->GetSortedWalFiles(logs).ok()) {
    for (const auto& l : logs) wal += l->SizeFileBytes();
  }
  st.disk_bytes = sst + wal;
  return st;
}

uint64_t EventLog::MemoryBytes() const {
  uint64_t bytes = 0;
  for (const char* p : {"rocksdb.size-all-mem-tables", "rocksdb.estimate-table-readers-mem"}) {
    uint64_t v = 0;
    if (impl_->db->GetAggregatedIntProperty(p, &v)) bytes += v;
  }
  uint64_t cache = 0;  // one cache for every column family
  if (impl_->db->GetIntProperty(rocksdb::DB::Properties::kBlockCacheUsage, &cache)) bytes += cache;
  return bytes;
}

Status EventLog::VerifyChecksums() const {
  return FromRocks(impl_->db->VerifyChecksum(), "verifying table checksums");
}

Status EventLog::VerifyIndexes() const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->dedup));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint64_t seq = 0, fingerprint = 0;
    Status st = DecodeDedup(it->value().ToStringView(), &seq, &fingerprint);
    if (!st.ok()) return Status::Corruption(fmt::format("dedup entry: {}", st.message()));
  }
  STREAMREC_RETURN_IF_ERROR(FromRocks(it->status(), "scanning the dedup index"));
  it.reset(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->user_index));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    uint64_t seq = 0;
    Status st = key.size() < 8 ? Status::Corruption("shorter than a seq")
                               : DecodeSeqKey(key.substr(key.size() - 8), &seq);
    if (!st.ok()) return Status::Corruption(fmt::format("user index key: {}", st.message()));
  }
  return FromRocks(it->status(), "scanning the user index");
}

Status EventLog::Flush() {
  STREAMREC_RETURN_IF_ERROR(CheckWritable());
  rocksdb::FlushOptions fo;
  fo.wait = true;
  STREAMREC_RETURN_IF_ERROR(FromRocks(impl_->db->Flush(fo, impl_->handles), "flushing"));
  return FromRocks(impl_->db->FlushWAL(/*sync=*/true), "syncing the WAL");
}

}  // namespace streamrec::storage
