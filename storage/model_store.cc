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
  for (size_t n = 0; n < batch.size(); ++n) {
    const NewEvent& e = batch[n];
    const auto type = rec_->types().Find(e.type);
    if (!type) {
      return Status::InvalidArgument(
          fmt::format("event {}: unknown type '{}' (known: {})", n, e.type, rec_->types().Names()));
    }
    Status st = rec_->Validate({e.user, e.item, *type, e.value, e.ts_ms});
    if (!st.ok()) return Status(st.code(), fmt::format("event {}: {}", n, st.message()));
  }
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
  auto removed = log_->DeleteUser(user);
  if (!removed.ok()) return removed.status();
  rec_->ForgetUser(user);
  last_snapshot_ = 0;  // DeleteUser dropped every snapshot
  STREAMREC_RETURN_IF_ERROR(Snapshot());
  return removed;
}

Status ModelStore::MaybeSnapshot() {
  const uint64_t since = last_applied_ - last_snapshot_;
  if (since == 0) return Status::OK();
  const double age =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - last_snapshot_time_).count();
  const bool by_count =
      options_.snapshot_every_events > 0 && since >= options_.snapshot_every_events;
  const bool by_time =
      options_.snapshot_every_seconds > 0 && age >= options_.snapshot_every_seconds;
  return by_count || by_time ? Snapshot() : Status::OK();
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
