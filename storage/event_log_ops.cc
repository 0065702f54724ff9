// EventLog: reads, snapshots, deletion, catalog and stats.
#include <fmt/format.h>
#include <rocksdb/write_batch.h>

#include "storage/event_log.h"
#include "storage/rocks_status.h"

namespace streamrec::storage {
namespace {

rocksdb::WriteOptions SyncedWrite() {
  rocksdb::WriteOptions wo;
  wo.sync = true;  // admin writes are rare: always durable
  return wo;
}

}  // namespace

Status EventLog::Scan(uint64_t from, uint64_t to,
                      const std::function<bool(const StoredEvent&)>& fn) const {
  if (from > to) return Status::OK();
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.readahead_size = 2 << 20;  // replay is a sequential read
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, events_));
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

Status EventLog::PutSnapshot(uint64_t seq, std::string_view blob) {
  std::lock_guard<std::mutex> admin(admin_mu_);
  rocksdb::WriteBatch wb;
  wb.Put(model_, SeqKey(seq), rocksdb::Slice(blob.data(), blob.size()));
  // Keep the newest snapshots_to_keep (counting this one).
  std::vector<std::string> keys;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), model_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().ToStringView() != SeqKey(seq)) keys.push_back(it->key().ToString());
  }
  STREAMREC_RETURN_IF_ERROR(FromRocks(it->status(), "listing snapshots"));
  const size_t keep_old = options_.snapshots_to_keep > 1 ? options_.snapshots_to_keep - 1 : 0;
  for (size_t n = 0; n + keep_old < keys.size(); ++n) wb.Delete(model_, keys[n]);
  return FromRocks(db_->Write(SyncedWrite(), &wb), "writing a snapshot");
}

StatusOr<std::optional<Snapshot>> EventLog::LatestSnapshot() const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), model_));
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

StatusOr<uint64_t> EventLog::DeleteUser(std::string_view user,
                                        std::vector<StoredEvent>* removed_events) {
  std::lock_guard<std::mutex> admin(admin_mu_);
  rocksdb::WriteBatch wb;
  uint64_t removed = 0;
  const std::string prefix = UserIndexPrefix(user);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), user_index_));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (key.size() != prefix.size() + 8) continue;  // a longer user sharing the prefix bytes
    uint64_t seq = 0;
    STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(key.substr(prefix.size()), &seq));
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), events_, SeqKey(seq), &value);
    if (s.ok()) {
      StoredEvent e;
      STREAMREC_RETURN_IF_ERROR(DecodeEvent(value, &e));
      if (!e.event_id.empty()) wb.Delete(dedup_, e.event_id);
      wb.Delete(events_, SeqKey(seq));
      ++removed;
      if (removed_events != nullptr) {
        e.seq = seq;
        removed_events->push_back(std::move(e));
      }
    } else if (!s.IsNotFound()) {
      return FromRocks(s, "reading an event to delete");
    }
    wb.Delete(user_index_, it->key());
  }
  STREAMREC_RETURN_IF_ERROR(FromRocks(it->status(), "scanning the user index"));
  // Snapshots embed the user's vector and seen items: drop them all.
  std::unique_ptr<rocksdb::Iterator> snaps(db_->NewIterator(rocksdb::ReadOptions(), model_));
  for (snaps->SeekToFirst(); snaps->Valid(); snaps->Next()) wb.Delete(model_, snaps->key());
  STREAMREC_RETURN_IF_ERROR(FromRocks(snaps->status(), "listing snapshots"));
  STREAMREC_RETURN_IF_ERROR(FromRocks(db_->Write(SyncedWrite(), &wb), "deleting a user"));
  return removed;
}

Status EventLog::PutItem(std::string_view item, const ItemMeta& meta) {
  if (item.empty()) return Status::InvalidArgument("item id is empty");
  std::string v;
  EncodeItemMeta(meta, &v);
  return FromRocks(db_->Put(SyncedWrite(), catalog_, rocksdb::Slice(item.data(), item.size()), v),
                   "writing the catalog");
}

StatusOr<std::optional<ItemMeta>> EventLog::GetItem(std::string_view item) const {
  std::string v;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), catalog_, rocksdb::Slice(item.data(), item.size()), &v);
  if (s.IsNotFound()) return std::optional<ItemMeta>();
  STREAMREC_RETURN_IF_ERROR(FromRocks(s, "reading the catalog"));
  ItemMeta m;
  STREAMREC_RETURN_IF_ERROR(DecodeItemMeta(v, &m));
  return std::optional<ItemMeta>(std::move(m));
}

Status EventLog::DeleteItem(std::string_view item) {
  return FromRocks(db_->Delete(SyncedWrite(), catalog_, rocksdb::Slice(item.data(), item.size())),
                   "deleting from the catalog");
}

Status EventLog::ScanItems(const std::function<bool(std::string_view, const ItemMeta&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), catalog_));
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
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), events_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint64_t seq = 0;
    STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(it->key().ToStringView(), &seq));
    if (st.events == 0) st.first_seq = seq;
    st.last_seq = seq;
    ++st.events;
  }
  STREAMREC_RETURN_IF_ERROR(FromRocks(it->status(), "counting events"));
  std::unique_ptr<rocksdb::Iterator> snaps(db_->NewIterator(rocksdb::ReadOptions(), model_));
  for (snaps->SeekToFirst(); snaps->Valid(); snaps->Next()) {
    ++st.snapshots;
    STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(snaps->key().ToStringView(), &st.snapshot_seq));
  }
  std::unique_ptr<rocksdb::Iterator> cat(db_->NewIterator(rocksdb::ReadOptions(), catalog_));
  for (cat->SeekToFirst(); cat->Valid(); cat->Next()) ++st.catalog_items;
  uint64_t sst = 0, wal = 0;
  for (auto* h : handles_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(h, "rocksdb.total-sst-files-size", &v)) sst += v;
  }
  rocksdb::VectorLogPtr logs;
  if (db_->GetSortedWalFiles(logs).ok()) {
    for (const auto& l : logs) wal += l->SizeFileBytes();
  }
  st.disk_bytes = sst + wal;
  return st;
}

Status EventLog::Flush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  STREAMREC_RETURN_IF_ERROR(FromRocks(db_->Flush(fo, handles_), "flushing"));
  return FromRocks(db_->FlushWAL(/*sync=*/true), "syncing the WAL");
}

}  // namespace streamrec::storage
