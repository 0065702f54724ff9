// EventLog's background work, on one thread per log: purging deleted
// records from the files (compacting the ranges that held them) and
// resuming writes after an I/O error such as a full disk.
#include "storage/event_log_maintenance.h"

#include <fmt/format.h>
#include <rocksdb/listener.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <map>
#include <thread>

#include "engine/core/thread_name.h"
#include "storage/event_log.h"
#include "storage/event_log_impl.h"
#include "storage/rocks_status.h"

namespace streamrec::storage {

using Clock = std::chrono::steady_clock;

void HealthListener::OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* bg_error) {
  if (bg_error == nullptr || bg_error->ok()) return;
  MutexLock lock(&state_->mu);
  if (!state_->health.read_only) ++state_->health.errors;
  state_->health.read_only = true;
  state_->health.reason = bg_error->ToString();
  state_->cv.SignalAll();
}

void HealthListener::OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                                          bool* auto_recovery) {
  // RocksDB's recovery from a full disk waits for free space of every write
  // buffer together (SstFileManager's reserved buffer): on a small disk it
  // never starts, and while it is pending DB::Resume() is refused (Busy).
  // The maintenance thread resumes instead.
  if (auto_recovery != nullptr) *auto_recovery = false;
}

void HealthListener::OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) {
  if (!info.new_bg_error.ok()) return;
  MutexLock lock(&state_->mu);
  if (state_->health.read_only) ++state_->health.resumed;
  state_->health.read_only = false;
  state_->health.reason.clear();
}

void EventLog::StartMaintenance() {
  Maintenance* m = maintenance_.get();
  m->thread = std::thread([this] { MaintenanceLoop(); });
}

void EventLog::StopMaintenance() {
  if (!maintenance_ || !maintenance_->thread.joinable()) return;
  {
    MutexLock lock(&maintenance_->state->mu);
    maintenance_->state->stopping = true;
  }
  maintenance_->state->cv.SignalAll();
  maintenance_->thread.join();
  // A purge still pending runs now, so that a delete just before shutdown
  // does not leave its bytes behind until the next one.
  if (!CheckWritable().ok()) return;
  // Swallowed on purpose: the destructor cannot report; the ranges stay
  // deleted (only their compaction is missed).
  (void)RunPurge();
}

void EventLog::MaintenanceLoop() {
  engine::NameThisThread("sr-maintenance");
  HealthState& st = *maintenance_->state;
  const auto resume_every = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options_.resume_interval_seconds));
  MutexLock lock(&st.mu);
  while (!st.stopping) {
    Clock::time_point wake = Clock::now() + std::chrono::seconds(1);
    if (st.purge_due) wake = std::min(wake, *st.purge_due);
    if (st.health.read_only) wake = std::min(wake, Clock::now() + resume_every);
    // Not woken by the error itself (only by a stop or a sooner purge):
    // RocksDB reports it (OnBackgroundError) before it marks the database
    // stopped, and a Resume() in between finds nothing to do.
    while (!st.stopping && !(st.purge_due && *st.purge_due < wake)) {
      if (!st.cv.WaitUntil(&st.mu, wake)) break;  // `wake` has passed
    }
    if (st.stopping) break;
    if (st.health.read_only) {
      lock.Unlock();
      TryResume();
      lock.Lock();
      continue;  // a due purge waits for writes to be back
    }
    if (st.purge_due && Clock::now() >= *st.purge_due) {
      lock.Unlock();
      // Failures are kept in health().last_purge_error; a purge that fails
      // because writes stopped is rescheduled.
      (void)RunPurge();
      lock.Lock();
    }
  }
}

void EventLog::TryResume() {
  // Fails (and the log stays read-only) while the disk is still full. A
  // real recovery clears the state through OnErrorRecoveryEnd.
  if (!impl_->db->Resume().ok()) return;
  if (CheckWritable().ok()) return;
  // Resume() also answers OK when it finds the database not stopped: a
  // small synced write tells whether writes go through. (A stopped
  // database refuses it without touching its files.)
  rocksdb::WriteOptions wo;
  wo.sync = true;
  {
    MutexLock admin(&admin_mu_);  // one writer at a time: see RunPurge's marker
    if (!impl_->db->Put(wo, impl_->meta, "probe", "").ok()) return;
  }
  HealthState& st = *maintenance_->state;
  MutexLock lock(&st.mu);
  if (!st.health.read_only) return;
  ++st.health.resumed;
  st.health.read_only = false;
  st.health.reason.clear();
}

void EventLog::SchedulePurge(Family family, KeyRange range) {
  HealthState& st = *maintenance_->state;
  MutexLock lock(&st.mu);
  auto [it, added] = st.ranges.emplace(impl_->handle(family), range);
  if (!added) {
    KeyRange& r = it->second;
    // Merge: the union's bounds (an open bound stays open).
    if (r.begin && (!range.begin || *range.begin < *r.begin)) r.begin = range.begin;
    if (r.end && (!range.end || *range.end > *r.end)) r.end = range.end;
  }
  if (!st.purge_due) {
    st.purge_due = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(options_.purge_delay_seconds));
  }
  st.cv.SignalAll();
}

Status EventLog::RunPurge() {
  HealthState& st = *maintenance_->state;
  std::map<rocksdb::ColumnFamilyHandle*, KeyRange> ranges;
  {
    MutexLock lock(&st.mu);
    ranges.swap(st.ranges);
    st.purge_due.reset();
  }
  if (ranges.empty()) return Status::OK();
  MutexLock purge(&purge_mu_);
  auto finish = [&](Status s) {
    MutexLock lock(&st.mu);
    if (!s.ok() && st.health.read_only) {
      // Writes stopped meanwhile: try again once they resume.
      for (auto& [cf, r] : ranges) st.ranges.emplace(cf, r);
      if (!st.purge_due) st.purge_due = Clock::now();
    }
    ++st.health.purges;
    st.health.last_purge_error = s.ok() ? "" : s.ToString();
    return s;
  };
  // 1. Every memtable to a table file: the WAL files that held the deleted
  //    records (and the deletes themselves) become obsolete and are removed.
  rocksdb::FlushOptions fo;
  fo.wait = true;
  Status s = FromRocks(impl_->db->Flush(fo, impl_->handles), "purge: flushing");
  if (!s.ok()) return finish(s);
  // 2. The ranges compacted to the bottom level, where deletes drop what
  //    they cover and then themselves.
  rocksdb::CompactRangeOptions cro;
  cro.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  cro.exclusive_manual_compaction = false;
  for (auto& [cf, r] : ranges) {
    rocksdb::Slice b, e;
    if (r.begin) b = *r.begin;
    if (r.end) e = *r.end;
    s = FromRocks(impl_->db->CompactRange(cro, cf, r.begin ? &b : nullptr, r.end ? &e : nullptr),
                  "purge: compacting");
    if (!s.ok()) return finish(s);
  }
  // 3. One more version edit after them. Every edit starts a new MANIFEST
  //    (max_manifest_file_size, event_log.cc) holding the state before it:
  //    this one's holds the compacted files only, and the older MANIFESTs,
  //    which name the purged files' first and last keys, are deleted.
  rocksdb::WriteOptions wo;
  wo.sync = true;
  {
    // Under admin_mu_, as every other synced write of the log (group
    // commits, snapshots, deletes): RocksDB merges concurrent writers into
    // one write group whose leader copies the others' batches, synchronised
    // by atomics in librocksdb that ThreadSanitizer cannot see (Debian's
    // build is not instrumented), and the copy's stack shows no RocksDB
    // frame for tests/tsan.supp to match. One writer at a time has nothing
    // to merge (a tsan run reported this write against a snapshot's).
    const std::string marker = SeqKey(next_seq());
    MutexLock admin(&admin_mu_);
    s = FromRocks(impl_->db->Put(wo, impl_->meta, "last_purge", marker), "purge: marking");
  }
  if (s.ok()) s = FromRocks(impl_->db->Flush(fo, impl_->meta), "purge: flushing the marker");
  return finish(s);
}

StatusOr<uint64_t> EventLog::Checkpoint(const std::string& dir) {
  STREAMREC_RETURN_IF_ERROR(CheckWritable());
  STREAMREC_RETURN_IF_ERROR(RunPurge());
  rocksdb::Checkpoint* raw = nullptr;
  STREAMREC_RETURN_IF_ERROR(
      FromRocks(rocksdb::Checkpoint::Create(impl_->db.get(), &raw), "image: checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  // No write moves the position while the copy is made (every one holds
  // admin_mu_), and it is read from the database itself: stream_seq_ is
  // updated after a group commit lets admin_mu_ go.
  MutexLock admin(&admin_mu_);
  uint64_t position = 0;
  std::string cursor;
  rocksdb::Status got = impl_->db->Get(rocksdb::ReadOptions(), impl_->meta, kStreamSeqKey, &cursor);
  if (got.ok()) {
    STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(cursor, &position));
  } else if (!got.IsNotFound()) {
    return FromRocks(got, "image: reading stream_seq");
  }
  // log_size_for_flush 0: every memtable is flushed into the copy's table
  // files first.
  STREAMREC_RETURN_IF_ERROR(
      FromRocks(cp->CreateCheckpoint(dir, 0), fmt::format("image: copying into '{}'", dir)));
  return position;
}

StoreHealth EventLog::health() const {
  MutexLock lock(&maintenance_->state->mu);
  return maintenance_->state->health;
}

Status EventLog::CheckWritable() const {
  HealthState& st = *maintenance_->state;
  MutexLock lock(&st.mu);
  if (!st.health.read_only) return Status::OK();
  return Status::IOError(fmt::format(
      "the store is read-only until the disk error clears (writes resume by themselves): {}",
      st.health.reason));
}

KeyRange EventLog::Around(Family family, const std::string& lo, const std::string& hi) const {
  KeyRange r;
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->handle(family)));
  it->SeekForPrev(lo);
  if (it->Valid() && it->key().compare(lo) < 0) r.begin = it->key().ToString();
  it->Seek(hi);
  if (it->Valid() && it->key().compare(hi) == 0) it->Next();
  if (it->Valid()) r.end = it->key().ToString();
  // An iterator error only widens the range (an open bound).
  return r;
}

}  // namespace streamrec::storage
