// LiveStore in cluster mode: retrains (docs/DESIGN.md section 10). The
// model thread starts a background training at a retrain record and
// installs at the matching install record (RunClusterOp); a retrain thread
// trains and publishes the install record (ClusterTrain). The stream
// thread's side of both records is in live_store_cluster.cc.
#include <fmt/format.h>

#include <algorithm>

#include "engine/core/thread_name.h"
#include "storage/live_store_impl.h"

namespace streamrec::storage {

void LiveStore::Impl::RunClusterOp(ModelOp* op) {
  // Records the op's stream message in both copies.
  auto record = [&](uint64_t stream_seq) {
    replicas->standby().stream_seq = std::max(replicas->standby().stream_seq, stream_seq);
    PublishStandby();
    replicas->standby().stream_seq = std::max(replicas->standby().stream_seq, stream_seq);
  };
  if (auto* start = std::get_if<RetrainStartOp>(op)) {
    // The state as of the retrain record, the same on every replica.
    const Replica& r = replicas->published();
    std::vector<std::string> users = r.rec->users().Names();
    std::vector<std::string> items = r.rec->items().Names();
    const InstallInfo info{start->stream_seq, r.applied_seq, users.size(), items.size()};
    RetrainStatus outcome;
    {
      MutexLock lock(&status_mu);
      StartRetrainLocked();
      retrain.trained_through_seq = info.through_seq;
      retrain.algorithm = std::string(engine::AlgorithmName(options.training.algorithm));
      outcome = retrain;
    }
    retrain_running.store(true);
    trainings_reading.fetch_add(1);
    {
      MutexLock lock(&trainers_mu);
      trainers[info.retrain_seq] =
          std::thread([this, info, u = std::move(users), i = std::move(items), outcome]() mutable {
            engine::NameThisThread("sr-retrain");
            ClusterTrain(info, std::move(u), std::move(i), outcome);
          });
    }
    record(start->stream_seq);
    start->done(Status::OK());
    return;
  }
  auto* at = std::get_if<InstallAtOp>(op);
  if (at == nullptr) return;
  const uint64_t seq = at->info.retrain_seq;
  std::thread mine;
  {
    MutexLock lock(&trainers_mu);
    if (auto it = trainers.find(seq); it != trainers.end()) {
      mine = std::move(it->second);
      trainers.erase(it);
    }
  }
  if (mine.joinable()) mine.join();  // this replica's own training of it
  std::optional<StatusOr<InstallOp>> result;
  {
    MutexLock lock(&trainers_mu);
    if (auto it = trained.find(seq); it != trained.end()) {
      result.emplace(std::move(it->second));
    }
    // Older ones were superseded: their models are never installed.
    trained.erase(trained.begin(), trained.upper_bound(seq));
  }
  auto fail = [&](const Status& st) {
    MutexLock lock(&status_mu);
    FinishRetrainLocked(st);
    retrain_running.store(false);
  };
  if (at->voided) {
    fail(Status::FailedPrecondition(fmt::format(
        "a user was forgotten while the retrain of stream seq {} trained; start it again", seq)));
  } else {
    if (!result) {
      // Not trained here (this replica restarted since the retrain
      // record): train now, on what every replica trained on.
      const Replica& r = replicas->published();
      std::vector<std::string> users = r.rec->users().Names();
      std::vector<std::string> items = r.rec->items().Names();
      users.resize(std::min<size_t>(users.size(), at->info.num_users));
      items.resize(std::min<size_t>(items.size(), at->info.num_items));
      RetrainStatus outcome;
      {
        MutexLock lock(&status_mu);
        outcome = retrain;
      }
      outcome.trained_through_seq = at->info.through_seq;
      result.emplace(TrainOnce(at->info.through_seq, std::move(users), std::move(items), outcome));
    }
    if (!result->ok()) {
      fail(result->status());
    } else {
      ModelOp install = std::move(*result).value();
      RunOp(&install);  // installs, snapshots, sets the retrain status
    }
  }
  record(at->stream_seq);
  at->installed->set_value();
}

void LiveStore::Impl::ClusterTrain(InstallInfo info, std::vector<std::string> users,
                                   std::vector<std::string> items, RetrainStatus outcome) {
  outcome.trained_through_seq = info.through_seq;
  StatusOr<InstallOp> result =
      TrainOnce(info.through_seq, std::move(users), std::move(items), outcome);
  trainings_reading.fetch_sub(1);
  const bool ok = result.ok();
  if (!ok) {
    // Every replica fails alike (the same data); the status says why and
    // the install record never comes (a new retrain supersedes this one).
    MutexLock lock(&status_mu);
    FinishRetrainLocked(result.status());
    retrain_running.store(false);
  }
  {
    MutexLock lock(&trainers_mu);
    trained.insert_or_assign(info.retrain_seq, std::move(result));
  }
  if (!ok) return;
  StreamRecord record;
  record.kind = RecordKind::kInstall;
  // One id for every replica's install of this retrain: the stream keeps
  // the first and answers the others as duplicates.
  record.origin = fmt::format("install-{}", info.retrain_seq);
  record.config = config_fingerprint;
  record.install = info;
  std::string data;
  EncodeRecord(record, &data);
  while (!stream_stop.load()) {
    StatusOr<uint64_t> seq = stream->Append(record.origin, data);
    if (seq.ok()) return;
    NoteStreamError(seq.status());
    std::this_thread::sleep_for(kRetryPause);
  }
}

}  // namespace streamrec::storage
