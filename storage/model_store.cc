#include "storage/model_store.h"

#include <fmt/format.h>

namespace streamrec::storage {

StatusOr<std::unique_ptr<ModelStore>> ModelStore::Open(const std::string& dir,
                                                       const ModelStoreOptions& options,
                                                       const engine::RecommenderOptions& engine,
                                                       engine::EventTypes types) {
  std::unique_ptr<ModelStore> store(new ModelStore());
  store->options_ = options;
  auto log = EventLog::Open(dir, options.log);
  if (!log.ok()) return log.status();
  store->log_ = std::move(log).value();
  store->rec_ = std::make_unique<engine::Recommender>(engine, std::move(types));
  auto r = Recover(*store->log_, store->rec_.get());
  if (!r.ok()) return r.status();
  store->recovery_ = *r;
  store->last_applied_ = r->last_seq;
  store->last_snapshot_ = r->snapshot_seq;
  store->last_snapshot_time_ = std::chrono::steady_clock::now();
  return store;
}

ModelStore::~ModelStore() {
  // Swallowed on purpose: a destructor cannot report; callers that care
  // call Close() and check it.
  (void)Close();
}

StatusOr<AppendResult> ModelStore::Ingest(std::span<const NewEvent> batch) {
  if (closed_) return Status::FailedPrecondition("the model store is closed");
  STREAMREC_RETURN_IF_ERROR(ValidateEvents(*rec_, batch));
  auto r = log_->Append(batch);
  if (!r.ok()) return r.status();
  // The single writer applies in seq order: a batch's new events carry
  // consecutive seqs above everything applied so far.
  for (size_t n = 0; n < batch.size(); ++n) {
    if (r->duplicate[n]) continue;
    NewEvent e = batch[n];
    e.seq = r->seqs[n];
    STREAMREC_RETURN_IF_ERROR(ApplyStored(e, rec_.get()));
    last_applied_ = e.seq;
  }
  STREAMREC_RETURN_IF_ERROR(MaybeSnapshot());
  return r;
}

StatusOr<uint64_t> ModelStore::ForgetUser(std::string_view user) {
  if (closed_) return Status::FailedPrecondition("the model store is closed");
  std::vector<StoredEvent> events;
  auto removed = log_->DeleteUser(user, &events);
  if (!removed.ok()) return removed.status();
  ForgetStored(user, events, rec_.get());
  last_snapshot_ = 0;  // DeleteUser dropped every snapshot
  STREAMREC_RETURN_IF_ERROR(Snapshot());
  return removed;
}

bool SnapshotDue(const ModelStoreOptions& options, uint64_t events_since, double seconds_since) {
  if (events_since == 0) return false;
  return (options.snapshot_every_events > 0 && events_since >= options.snapshot_every_events) ||
         (options.snapshot_every_seconds > 0 && seconds_since >= options.snapshot_every_seconds);
}

Status ModelStore::MaybeSnapshot() {
  const double age =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - last_snapshot_time_).count();
  return SnapshotDue(options_, last_applied_ - last_snapshot_, age) ? Snapshot() : Status::OK();
}

Status ModelStore::Snapshot() {
  if (last_applied_ == last_snapshot_ && last_snapshot_ != 0) return Status::OK();
  if (last_applied_ == 0) return Status::OK();  // an empty model needs no snapshot
  STREAMREC_RETURN_IF_ERROR(WriteSnapshot(log_.get(), *rec_, last_applied_));
  last_snapshot_ = last_applied_;
  last_snapshot_time_ = std::chrono::steady_clock::now();
  return Status::OK();
}

Status ModelStore::Close() {
  if (closed_) return Status::OK();
  closed_ = true;
  STREAMREC_RETURN_IF_ERROR(Snapshot());
  return log_->Flush();
}

}  // namespace streamrec::storage
