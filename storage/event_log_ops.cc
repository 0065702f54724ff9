// EventLog: reads, deletion, catalog and stats (snapshots:
// event_log_snapshots.cc).
#include <fmt/format.h>
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "storage/event_log.h"
#include "storage/event_log_impl.h"
#include "storage/rocks_status.h"

namespace streamrec::storage {
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
    std::vector<uint64_t> kept;
    if (keep_snapshots_from != UINT64_MAX) {
      for (uint64_t listed : SnapshotSeqs(nullptr)) {
        if (listed >= keep_snapshots_from) kept.push_back(listed);
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
  // Every snapshot stored, listed or not (a refused one's bytes must be
  // gone): one seek per snapshot, past its chunks.
  for (snaps->SeekToFirst(); snaps->Valid();) {
    STREAMREC_RETURN_IF_ERROR(DecodeSnapshotKey(snaps->key().ToStringView(), &st.snapshot_seq));
    ++st.snapshots;
    if (st.snapshot_seq == UINT64_MAX) break;
    snaps->Seek(SeqKey(st.snapshot_seq + 1));
  }
  STREAMREC_RETURN_IF_ERROR(FromRocks(snaps->status(), "counting snapshots"));
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
