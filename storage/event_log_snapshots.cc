// EventLog: snapshots of the model, in the model column family.
//
// A snapshot after seq S is stored under keys that begin with SeqKey(S):
//   SeqKey(S)                 header: "SRSNAPCH", the chunk count (4 bytes)
//                             and the snapshot's size (8 bytes), little-endian
//   SeqKey(S) + BE32(i)       chunk i: EventLog::kSnapshotChunkBytes of the snapshot
//                             (the last one what is left)
// One key per snapshot made RocksDB build, write, and read back one block
// of hundreds of MB (at 500k users): a 200 MB string grown and copied at
// the table's finish, read whole again by the ingestion, and once more
// into a second 200 MB buffer by a read. In chunks every step works a few
// MB at a time. A database written before chunks holds the whole snapshot
// at SeqKey(S); its value begins with the engine's magic "SRSNAP\0\0",
// never with the header's, and it is read as it is.
//
// Every key of S's snapshot lies in [SeqKey(S), SeqKey(S + 1)): deletions
// are range deletions over that span, never a list of chunk keys.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "engine/live/snapshot.h"
#include "storage/event_log.h"
#include "storage/event_log_impl.h"
#include "storage/event_log_maintenance.h"
#include "storage/rocks_status.h"
#include "storage/snapshot_pipe.h"

namespace streamrec::storage {
namespace {

constexpr char kChunkedMagic[8] = {'S', 'R', 'S', 'N', 'A', 'P', 'C', 'H'};
constexpr size_t kHeaderBytes = sizeof(kChunkedMagic) + 4 + 8;

// The first key past every key of the snapshot after `seq`.
std::string SnapshotKeysEnd(uint64_t seq) {
  // Seq keys are 8 bytes and chunk keys 12, their 9th byte 0 (fewer than
  // 2^24 chunks): 9 0xff bytes are past them all.
  return seq == UINT64_MAX ? std::string(9, '\xff') : SeqKey(seq + 1);
}

std::string ChunkKey(uint64_t seq, uint32_t index) {
  std::string key = SeqKey(seq);
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(static_cast<char>(index >> shift));
  return key;
}

std::string EncodeHeader(uint32_t chunks, uint64_t bytes) {
  std::string h(kChunkedMagic, sizeof(kChunkedMagic));
  for (int b = 0; b < 4; ++b) h.push_back(static_cast<char>(chunks >> (8 * b)));
  for (int b = 0; b < 8; ++b) h.push_back(static_cast<char>(bytes >> (8 * b)));
  return h;
}

// False for a value that is not a header (a whole snapshot, stored before
// chunks).
bool DecodeHeader(std::string_view v, uint32_t* chunks, uint64_t* bytes) {
  if (v.size() != kHeaderBytes || std::memcmp(v.data(), kChunkedMagic, sizeof(kChunkedMagic))) {
    return false;
  }
  *chunks = 0;
  *bytes = 0;
  for (int b = 0; b < 4; ++b) *chunks |= uint32_t{uint8_t(v[8 + b])} << (8 * b);
  for (int b = 0; b < 8; ++b) *bytes |= uint64_t{uint8_t(v[12 + b])} << (8 * b);
  return true;
}

// Calls put(key, value) for the snapshot's chunks, in key order, checking
// that `chunks` holds what its size says: kSnapshotChunkBytes each, the last
// what is left. The header is not put: it is EncodeHeader(ChunkCount(size),
// size) at SeqKey(seq).
size_t ChunkCount(uint64_t size) {
  return static_cast<size_t>((size + EventLog::kSnapshotChunkBytes - 1) /
                             EventLog::kSnapshotChunkBytes);
}

template <typename Chunks, typename Put>
Status PutChunks(uint64_t seq, Chunks& chunks, const Put& put) {
  const size_t count = ChunkCount(chunks.size);
  uint64_t left = chunks.size;
  for (size_t i = 0;; ++i) {
    auto chunk = chunks.next();
    STREAMREC_RETURN_IF_ERROR(chunk.status());
    if (!*chunk) {
      if (i == count) return Status::OK();
      break;
    }
    const uint64_t want = std::min<uint64_t>(left, EventLog::kSnapshotChunkBytes);
    if (i >= count || (*chunk)->size() != want) break;
    left -= want;
    STREAMREC_RETURN_IF_ERROR(put(ChunkKey(seq, static_cast<uint32_t>(i)), **chunk));
  }
  return Status::Internal(fmt::format(
      "writing a snapshot: its chunks do not add up to the {} bytes announced", chunks.size));
}

}  // namespace

Status DecodeSnapshotKey(std::string_view key, uint64_t* seq) {
  if (key.size() != 8 && key.size() != 12) {
    return Status::Corruption(fmt::format("bad snapshot key of {} bytes", key.size()));
  }
  return DecodeSeqKey(key.substr(0, 8), seq);
}

std::string EncodeSeqList(const std::vector<uint64_t>& seqs) {
  std::string out;
  for (uint64_t seq : seqs) out += SeqKey(seq);
  return out;
}

void DeleteSnapshotsBut(const std::vector<uint64_t>& kept, rocksdb::ColumnFamilyHandle* model,
                        rocksdb::WriteBatch* wb) {
  std::string from;  // "": below every key
  for (uint64_t seq : kept) {
    const std::string key = SeqKey(seq);
    if (from < key) wb->DeleteRange(model, from, key);
    from = SnapshotKeysEnd(seq);
  }
  wb->DeleteRange(model, from, std::string(9, '\xff'));
}

std::string EventLog::SnapshotTablePath(uint64_t seq) {
  return fmt::format("{}/{}{:020}-{}{}", dir_, kSnapshotTablePrefix, seq, tables_written_++,
                     kSnapshotTableSuffix);
}

Status EventLog::WriteSnapshotTable(const std::string& path, uint64_t seq,
                                    SnapshotChunks& chunks) const {
  // The model family's own options (no compression, its table format), so
  // the file is what a flush of the family would have written.
  const rocksdb::Options options = impl_->db->GetOptions(impl_->model);
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(options), options, impl_->model,
                                /*invalidate_page_cache=*/false);
  STREAMREC_RETURN_IF_ERROR(FromRocks(writer.Open(path), "writing a snapshot: creating its table"));
  // The header's key sorts first: a table is written in key order.
  STREAMREC_RETURN_IF_ERROR(FromRocks(
      writer.Put(SeqKey(seq),
                 EncodeHeader(static_cast<uint32_t>(ChunkCount(chunks.size)), chunks.size)),
      "writing a snapshot"));
  STREAMREC_RETURN_IF_ERROR(
      PutChunks(seq, chunks, [&](const std::string& key, std::string_view value) {
        return FromRocks(writer.Put(key, rocksdb::Slice(value.data(), value.size())),
                         "writing a snapshot");
      }));
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
  size_t at = 0;
  SnapshotChunks chunks{blob.size(), [&]() -> StatusOr<std::optional<std::string_view>> {
                          if (at >= blob.size()) return std::optional<std::string_view>();
                          const std::string_view chunk = blob.substr(at, kSnapshotChunkBytes);
                          at += chunk.size();
                          return std::optional<std::string_view>(chunk);
                        }};
  return PutSnapshotChunks(seq, chunks, deletes_applied);
}

Status EventLog::PutSnapshot(uint64_t seq, SnapshotPipe* pipe, uint64_t deletes_applied) {
  Status st = [&]() -> Status {
    StatusOr<uint64_t> size = pipe->Size();
    STREAMREC_RETURN_IF_ERROR(size.status());
    std::string current;  // the chunk handed out last
    SnapshotChunks chunks{*size, [&]() -> StatusOr<std::optional<std::string_view>> {
                            StatusOr<std::optional<std::string>> next = pipe->Next();
                            STREAMREC_RETURN_IF_ERROR(next.status());
                            if (!*next) return std::optional<std::string_view>();
                            current = std::move(**next);
                            return std::optional<std::string_view>(current);
                          }};
    return PutSnapshotChunks(seq, chunks, deletes_applied);
  }();
  pipe->Abandon(st);
  return st;
}

Status EventLog::PutSnapshotChunks(uint64_t seq, SnapshotChunks& chunks, uint64_t deletes_applied) {
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
  // one chunk at a time and the header last (a memtable that fills and is
  // flushed meanwhile holds what came first), then the model family
  // flushed (synced) before the list names them.
  const auto refused = [&](std::string_view why) {
    return Status::Unavailable(fmt::format("the snapshot after seq {} was not kept: {}", seq, why));
  };
  constexpr std::string_view kBehindDelete =
      "a user was deleted from the log after it was encoded, and it may hold them";
  const bool ingest = CanIngestTables();
  uint64_t drops = 0;
  {
    // admin_mu_ (which every group commit takes) is not held while the
    // bytes are written and taken in, nor for a flush (seconds at 500k
    // users): a user delete or a drop meanwhile is seen below and refuses
    // the snapshot.
    MutexLock admin(&admin_mu_);
    if (deletes_applied < user_deletes_) return refused(kBehindDelete);
    drops = snapshot_drops_;
  }
  if (ingest) {
    const std::string table = SnapshotTablePath(seq);
    const auto discard = [&](Status st) {
      std::error_code ec;
      std::filesystem::remove(table, ec);  // gone already after a successful ingest
      return st;
    };
    if (Status st = WriteSnapshotTable(table, seq, chunks); !st.ok()) return discard(st);
    rocksdb::IngestExternalFileOptions in;
    in.move_files = true;  // a hard link, not a copy; RocksDB syncs it
    // Range deletions of earlier prunes cover the new keys: the file takes a
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
    rocksdb::WriteOptions no_wal;
    no_wal.disableWAL = true;
    // The header last: chunks without one are no snapshot.
    STREAMREC_RETURN_IF_ERROR(
        PutChunks(seq, chunks, [&](const std::string& key, std::string_view value) {
          return FromRocks(
              impl_->db->Put(no_wal, impl_->model, key, rocksdb::Slice(value.data(), value.size())),
              "writing a snapshot");
        }));
    STREAMREC_RETURN_IF_ERROR(FromRocks(
        impl_->db->Put(no_wal, impl_->model, SeqKey(seq),
                       EncodeHeader(static_cast<uint32_t>(ChunkCount(chunks.size)), chunks.size)),
        "writing a snapshot"));
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
    wb.DeleteRange(impl_->model, SeqKey(seq), SnapshotKeysEnd(seq));
    STREAMREC_RETURN_IF_ERROR(
        FromRocks(impl_->db->Write(SyncedWrite(), &wb), "dropping a refused snapshot"));
    SchedulePurge(Family::kModel, {});
    return why;
  }
  // Keep the newest snapshots_to_keep (counting this one), from the list.
  std::vector<uint64_t> older;
  for (uint64_t listed : SnapshotSeqs(nullptr)) {
    if (listed != seq) older.push_back(listed);
  }
  const size_t keep_old = options_.snapshots_to_keep > 1 ? options_.snapshots_to_keep - 1 : 0;
  const size_t pruned = older.size() > keep_old ? older.size() - keep_old : 0;
  std::vector<uint64_t> kept(older.begin() + pruned, older.end());
  kept.push_back(seq);
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
  std::string problem;
  const std::vector<uint64_t> seqs = SnapshotSeqs(&problem);
  if (seqs.empty()) {
    if (!problem.empty()) return Status::Corruption(fmt::format("reading snapshots: {}", problem));
    return std::optional<Snapshot>();
  }
  StatusOr<std::string> blob = GetSnapshot(seqs.back());
  STREAMREC_RETURN_IF_ERROR(blob.status());
  return std::optional<Snapshot>(Snapshot{seqs.back(), std::move(*blob)});
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
  // No list (a database from before it existed): the keys themselves. A
  // forward pass seeks past each snapshot's chunks; a backward one, after
  // a damaged block stopped the forward pass, steps key by key.
  auto collect = [&](rocksdb::Iterator* it, bool forward) {
    while (it->Valid()) {
      uint64_t seq = 0;
      Status st = DecodeSnapshotKey(it->key().ToStringView(), &seq);
      if (st.ok()) seqs.insert(seq);
      if (!st.ok()) problems.push_back(st.ToString());
      if (forward && st.ok()) {
        if (seq == UINT64_MAX) break;
        it->Seek(SnapshotKeysEnd(seq));
      } else if (forward) {
        it->Next();
      } else {
        it->Prev();
      }
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

namespace {

// The chunks of one stored snapshot, read in order through a bounded
// iterator (rather than Get: with three or fewer level-0 files and no other
// level, a Get looks into every file, RocksDB skipping its key range
// check, so one damaged snapshot would hide all the others; the upper
// bound keeps the iterator out of blocks past this snapshot's).
class StoredChunks final : public engine::SnapshotSource {
 public:
  StoredChunks(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* model, uint64_t seq)
      : seq_(seq),
        bound_(SnapshotKeysEnd(seq)),
        upper_(bound_),
        what_(fmt::format("reading the snapshot at seq {}", seq)) {
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_;
    ro.fill_cache = false;  // its 4 MB blocks are read once, at a recovery or a check
    it_.reset(db->NewIterator(ro, model));
  }

  // Positions on the header: NotFound where there is none.
  Status Open() {
    const std::string key = SeqKey(seq_);
    it_->Seek(key);
    STREAMREC_RETURN_IF_ERROR(FromRocks(it_->status(), what_));
    if (!it_->Valid() || it_->key() != key) return Status::NotFound(what_ + ": none");
    if (!DecodeHeader(it_->value().ToStringView(), &chunks_, &size_)) {
      whole_ = true;  // stored whole, before chunks: the value is the snapshot
      size_ = it_->value().size();
    }
    return Status::OK();
  }

  uint64_t size() const override { return size_; }

  StatusOr<std::optional<std::string_view>> Next() override {
    if (whole_) {
      if (next_ > 0 || size_ == 0) return std::optional<std::string_view>();
      ++next_;
      return std::optional<std::string_view>(it_->value().ToStringView());
    }
    if (next_ == chunks_) {
      if (read_ != size_) {
        return Status::Corruption(
            fmt::format("{}: {} bytes in its chunks, its header says {}", what_, read_, size_));
      }
      return std::optional<std::string_view>();
    }
    // Exactly `chunks` chunks: a snapshot written again at the same seq
    // with fewer leaves the older one's last chunks behind the new ones.
    it_->Next();
    STREAMREC_RETURN_IF_ERROR(FromRocks(it_->status(), what_));
    if (!it_->Valid() || it_->key() != ChunkKey(seq_, next_)) {
      return Status::Corruption(
          fmt::format("{}: chunk {} of {} is missing", what_, next_, chunks_));
    }
    ++next_;
    read_ += it_->value().size();
    if (read_ > size_ || it_->value().empty()) {
      return Status::Corruption(
          fmt::format("{}: its chunks hold more than the {} bytes its header says", what_, size_));
    }
    return std::optional<std::string_view>(it_->value().ToStringView());
  }

 private:
  const uint64_t seq_;
  const std::string bound_;
  rocksdb::Slice upper_;
  const std::string what_;
  std::unique_ptr<rocksdb::Iterator> it_;
  bool whole_ = false;
  uint32_t chunks_ = 0, next_ = 0;
  uint64_t size_ = 0, read_ = 0;
};

}  // namespace

StatusOr<std::unique_ptr<engine::SnapshotSource>> EventLog::OpenSnapshot(uint64_t seq) const {
  auto source = std::make_unique<StoredChunks>(impl_->db.get(), impl_->model, seq);
  STREAMREC_RETURN_IF_ERROR(source->Open());
  return std::unique_ptr<engine::SnapshotSource>(std::move(source));
}

StatusOr<std::string> EventLog::GetSnapshot(uint64_t seq) const {
  StatusOr<std::unique_ptr<engine::SnapshotSource>> source = OpenSnapshot(seq);
  STREAMREC_RETURN_IF_ERROR(source.status());
  std::string blob;
  blob.reserve((*source)->size());
  for (;;) {
    StatusOr<std::optional<std::string_view>> chunk = (*source)->Next();
    STREAMREC_RETURN_IF_ERROR(chunk.status());
    if (!*chunk) return blob;
    blob.append(**chunk);
  }
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

}  // namespace streamrec::storage
