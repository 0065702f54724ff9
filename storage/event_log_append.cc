// EventLog's write path: validation, dedup, group commit.
#include <fmt/format.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdint>

#include "storage/event_log.h"
#include "storage/event_log_impl.h"
#include "storage/rocks_status.h"

namespace streamrec::storage {

struct EventLog::Writer {
  std::span<const StoredEvent> batch;
  Status status;
  AppendResult result;
  bool done = false;
  size_t slot = 0;          // index in AppendBatches' results
  uint64_t stream_seq = 0;  // cluster mode: the stream message it came from
  CondVar cv;               // waited on with mu_
};

namespace {

Status ValidateBatch(std::span<const StoredEvent> batch) {
  for (size_t n = 0; n < batch.size(); ++n) {
    const StoredEvent& e = batch[n];
    if (e.user.empty() || e.item.empty() || e.type.empty()) {
      return Status::InvalidArgument(
          fmt::format("event {}: user, item and type must be non-empty", n));
    }
    if (e.event_id.size() > 1024) {
      return Status::InvalidArgument(fmt::format("event {}: event_id over 1024 bytes", n));
    }
  }
  return Status::OK();
}

}  // namespace

StatusOr<AppendResult> EventLog::Append(std::span<const StoredEvent> batch) {
  const std::span<const StoredEvent> one[1] = {batch};
  return std::move(AppendBatches(one).front());
}

std::vector<StatusOr<AppendResult>> EventLog::AppendBatches(
    std::span<const std::span<const StoredEvent>> batches) {
  return AppendBatches(batches, 0);
}

std::vector<StatusOr<AppendResult>> EventLog::AppendBatches(
    std::span<const std::span<const StoredEvent>> batches, uint64_t stream_seq) {
  std::vector<StatusOr<AppendResult>> out;
  out.reserve(batches.size());
  // Writers hold a condition variable: they stay where they are built.
  std::vector<std::unique_ptr<Writer>> mine;
  for (std::span<const StoredEvent> batch : batches) {
    Status st = ValidateBatch(batch);
    out.emplace_back(st.ok() ? Status::Internal("not written") : st);
    if (!st.ok()) continue;
    mine.push_back(std::make_unique<Writer>());
    mine.back()->batch = batch;
    mine.back()->slot = out.size() - 1;
  }
  if (stream_seq > 0) {
    // The position is written even if no batch is valid: a writer with no
    // events carries it.
    if (mine.empty()) {
      mine.push_back(std::make_unique<Writer>());
      mine.back()->slot = SIZE_MAX;
    }
    mine.back()->stream_seq = stream_seq;
  }
  if (mine.empty()) return out;
  MutexLock lock(&mu_);
  for (const auto& w : mine) writers_.push_back(w.get());
  // Queued in order, so each of ours reaches the front after the previous
  // one; whoever is at the front leads a group that may take the rest.
  for (const auto& w : mine) {
    while (!w->done && w.get() != writers_.front()) w->cv.Wait(&mu_);
    if (!w->done) LeadGroup();
  }
  lock.Unlock();
  for (const auto& w : mine) {
    if (w->slot == SIZE_MAX) {
      // The position-only writer: its write failing fails every batch.
      if (!w->status.ok()) {
        for (auto& r : out) r = w->status;
      }
      continue;
    }
    out[w->slot] = w->status.ok() ? StatusOr<AppendResult>(std::move(w->result)) : w->status;
  }
  return out;
}

void EventLog::LeadGroup() {
  // Take queued writers up to the group limit (always the front one).
  std::vector<Writer*> group;
  size_t events = 0;
  for (Writer* x : writers_) {
    if (!group.empty() && events + x->batch.size() > options_.max_group_events) break;
    group.push_back(x);
    events += x->batch.size();
  }
  uint64_t next = next_seq_;
  uint64_t stream_seq = 0;
  mu_.Unlock();
  Status write_status;
  {
    MutexLock admin(&admin_mu_);
    write_status = CommitGroup(group, &next, &stream_seq);
  }
  mu_.Lock();
  if (write_status.ok()) {
    next_seq_ = next;
    stream_seq_ = std::max(stream_seq_, stream_seq);
  }
  for (Writer* x : group) {
    writers_.pop_front();
    if (!write_status.ok() && x->status.ok()) x->status = write_status;
    x->done = true;
    x->cv.Signal();
  }
  if (!writers_.empty()) writers_.front()->cv.Signal();
}

Status EventLog::CommitGroup(const std::vector<Writer*>& group, uint64_t* next_seq,
                             uint64_t* stream_seq) {
  rocksdb::WriteBatch wb;
  Impl::IndexPuts index;
  PendingIds pending;
  const uint64_t start = *next_seq;
  uint64_t position = 0;
  for (Writer* w : group) {
    position = std::max(position, w->stream_seq);
    // A conflict refuses that writer's batch alone; the others go on.
    if (w->slot != SIZE_MAX) w->status = impl_->PrepareWriter(w, next_seq, &wb, &index, &pending);
  }
  if (*next_seq == start && position == 0) return Status::OK();  // nothing new: no write needed
  // Keys are distinct within each family (a user's keys end in distinct
  // seqs; a repeated event_id is a duplicate, not put), so their order in
  // the batch changes nothing but the memtable's work (Impl::IndexPuts).
  std::sort(index.user_index.begin(), index.user_index.end());
  for (const std::string& key : index.user_index) wb.Put(impl_->user_index, key, "");
  std::sort(index.dedup.begin(), index.dedup.end());
  for (const auto& [id, value] : index.dedup) wb.Put(impl_->dedup, id, value);
  if (Status st = CheckWritable(); !st.ok()) {
    *next_seq = start;
    return st;
  }
  if (*next_seq != start) wb.Put(impl_->meta, "next_seq", SeqKey(*next_seq));
  if (position > 0) wb.Put(impl_->meta, "stream_seq", SeqKey(position));
  rocksdb::WriteOptions wo;
  wo.sync = options_.durability == Durability::kSync;
  const Status s = FromRocks(impl_->db->Write(wo, &wb), "writing the event log");
  if (!s.ok()) {
    *next_seq = start;
  } else {
    *stream_seq = position;
  }
  return s;
}

Status EventLog::Impl::PrepareWriter(Writer* w, uint64_t* next_seq, rocksdb::WriteBatch* wb,
                                     IndexPuts* index, PendingIds* pending) const {
  AppendResult& r = w->result;
  r = AppendResult();
  r.seqs.resize(w->batch.size());
  r.duplicate.assign(w->batch.size(), false);
  // First resolve every event (new / duplicate / conflict) without writing,
  // so a conflict leaves nothing of this batch behind.
  PendingIds mine;
  // event_id -> its first index in this batch, for conflict messages.
  std::unordered_map<std::string_view, size_t> first_in_batch;
  std::vector<uint64_t> fingerprints(w->batch.size());
  // The dedup index's answer for every event_id that no earlier writer of
  // the group holds, read in one MultiGet (nothing is written before the
  // group's batch, so it is what a Get per event would read): lookups one
  // at a time were ~13% of the log thread under `bench ingest`. An id
  // repeated within the batch is read once per occurrence and answered by
  // `mine` from its second on, as before.
  std::vector<rocksdb::Slice> keys;
  std::vector<size_t> looked_up(w->batch.size(), SIZE_MAX);  // index into keys
  keys.reserve(w->batch.size());
  for (size_t n = 0; n < w->batch.size(); ++n) {
    const std::string& id = w->batch[n].event_id;
    if (id.empty() || pending->contains(id)) continue;
    looked_up[n] = keys.size();
    keys.emplace_back(id);
  }
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  if (!keys.empty()) {
    db->MultiGet(rocksdb::ReadOptions(), dedup, keys.size(), keys.data(), values.data(),
                 statuses.data());
  }
  uint64_t seq = *next_seq;
  for (size_t n = 0; n < w->batch.size(); ++n) {
    const StoredEvent& e = w->batch[n];
    fingerprints[n] = PayloadFingerprint(e);
    if (e.event_id.empty()) {
      r.seqs[n] = seq++;
      continue;
    }
    std::optional<std::pair<uint64_t, uint64_t>> prior;
    if (auto it = mine.find(e.event_id); it != mine.end()) {
      prior = it->second;
    } else if (auto jt = pending->find(e.event_id); jt != pending->end()) {
      prior = jt->second;
    } else {
      const rocksdb::Status& s = statuses[looked_up[n]];
      if (s.ok()) {
        uint64_t pseq = 0, pfp = 0;
        STREAMREC_RETURN_IF_ERROR(DecodeDedup(values[looked_up[n]].ToStringView(), &pseq, &pfp));
        prior.emplace(pseq, pfp);
      } else if (!s.IsNotFound()) {
        return Status::IOError("reading the dedup index: " + s.ToString());
      }
    }
    if (prior) {
      if (prior->second != fingerprints[n]) {
        // Neither names the other event's seq: that says nothing the caller
        // needs and something about other writers' traffic, and an earlier
        // event of this batch was never stored at all.
        if (auto it = first_in_batch.find(e.event_id); it != first_in_batch.end()) {
          return Status::Conflict(
              fmt::format("event {}: event_id '{}' is also event {} of this batch, with a "
                          "different payload",
                          n, e.event_id, it->second));
        }
        return Status::Conflict(fmt::format(
            "event {}: event_id '{}' was already stored with a different payload", n, e.event_id));
      }
      r.seqs[n] = prior->first;
      r.duplicate[n] = true;
      continue;
    }
    r.seqs[n] = seq++;
    mine.emplace(e.event_id, std::make_pair(r.seqs[n], fingerprints[n]));
    first_in_batch.emplace(e.event_id, n);
  }
  std::string value;
  for (size_t n = 0; n < w->batch.size(); ++n) {
    if (r.duplicate[n]) {
      ++r.duplicates;
      continue;
    }
    const StoredEvent& e = w->batch[n];
    EncodeEvent(e, &value);
    wb->Put(events, SeqKey(r.seqs[n]), value);
    index->user_index.push_back(UserIndexKey(e.user, r.seqs[n]));
    if (!e.event_id.empty()) {
      index->dedup.emplace_back(e.event_id, EncodeDedup(r.seqs[n], fingerprints[n]));
    }
    if (r.accepted == 0) r.first_seq = r.seqs[n];
    r.last_seq = r.seqs[n];
    ++r.accepted;
  }
  pending->merge(mine);
  *next_seq = seq;
  return Status::OK();
}

}  // namespace streamrec::storage
