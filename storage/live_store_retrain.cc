// LiveStore's retrain thread: batch training off to the side. It reads the
// ids and the log up to a sequence, trains with engine::TrainModel, and
// hands the model thread an InstallOp; the model thread steps the events
// that arrived meanwhile on it, between live writes, then installs it
// (the catch-up, at the end of this file).
#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "storage/live_store_impl.h"

namespace streamrec::storage {

// ---- retrain thread -------------------------------------------------------

void LiveStore::Impl::ReadIds(uint64_t* through_seq, std::vector<std::string>* users,
                              std::vector<std::string>* items, uint64_t* epoch) {
  // Under forget_mu, so the ids and the epoch belong together: no delete
  // can begin or end between the two reads.
  MutexLock lock(&forget_mu);
  *epoch = forget_epoch;
  replicas->Read([&](const Replica& r) {
    *through_seq = r.applied_seq;
    *users = r.rec->users().Names();
    *items = r.rec->items().Names();
  });
}

void LiveStore::Impl::RunRetrain(uint64_t through_seq, std::vector<std::string> users,
                                 std::vector<std::string> items, uint64_t epoch) {
  RetrainStatus outcome;
  {
    MutexLock lock(&status_mu);
    outcome = retrain;
  }
  auto fail = [&](const Status& st) {
    MutexLock lock(&status_mu);
    retrain = outcome;
    FinishRetrainLocked(st);
    retrain_running.store(false);
  };
  for (int attempt = 1;; ++attempt) {
    outcome.trained_through_seq = through_seq;
    StatusOr<InstallOp> install =
        TrainOnce(through_seq, std::move(users), std::move(items), outcome);
    if (!install.ok()) return fail(install.status());
    if (options.retrain_trained_hook) options.retrain_trained_hook();
    outcome = install->outcome;
    {
      // Queued under forget_mu: a forget that has not begun by now is
      // applied after this install, in model order, like any later event.
      MutexLock lock(&forget_mu);
      if (forget_epoch == epoch && epoch % 2 == 0) {
        if (!model_queue.Push(std::move(*install))) break;
        return;
      }
    }
    // A user was forgotten while it trained: the model (and the drift
    // reference) may hold their events, and a forget cannot take back what
    // a batch model learnt from them. Train again on the log as it is now.
    if (attempt == kRetrainAttempts) {
      return fail(Status::FailedPrecondition(
          fmt::format("users were forgotten while each of {} attempts trained; start the retrain "
                      "again",
                      kRetrainAttempts)));
    }
    ReadIds(&through_seq, &users, &items, &epoch);
    ++outcome.restarts;
    MutexLock lock(&status_mu);
    retrain.trained_through_seq = through_seq;
    retrain.restarts = outcome.restarts;
  }
  fail(Status::FailedPrecondition("the store closed before the model could be installed"));
}

StatusOr<InstallOp> LiveStore::Impl::TrainOnce(uint64_t through_seq, std::vector<std::string> users,
                                               std::vector<std::string> items,
                                               RetrainStatus outcome) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<engine::TrainingExample> examples;
  const auto num_users = static_cast<uint32_t>(users.size());
  const auto num_items = static_cast<uint32_t>(items.size());
  {
    // The id maps serve the scan alone: gone before training (~40 MB at
    // 500k users x 100k items).
    StatusOr<engine::IdMap> user_ids = engine::IdMap::FromNames(std::move(users));
    StatusOr<engine::IdMap> item_ids = engine::IdMap::FromNames(std::move(items));
    if (!user_ids.ok()) return user_ids.status();
    if (!item_ids.ok()) return item_ids.status();
    // At most one example an event: reserved whole, the vector neither
    // doubles past what it holds nor holds two copies while it grows (at
    // 6M events 96 MB, against up to 134 MB held and 201 MB at the last
    // growth).
    examples.reserve(through_seq);
    // ials and bpr learn from every interaction, the rating models from
    // events with a rating or implied rating (engine::TrainingTarget).
    Status scan = log->Scan(1, through_seq, [&](const StoredEvent& e) {
      const auto type = types->Find(e.type);
      if (!type) return true;
      const auto target = engine::TrainingTarget(*types, *type, e.value, options.training);
      const auto u = user_ids->Find(e.user);
      const auto i = item_ids->Find(e.item);
      // Users forgotten since have no id; their rows are zeroed on install.
      if (target && u && i) examples.push_back({*u, *i, *target, types->spec(*type).weight});
      return true;
    });
    if (!scan.ok()) return scan;
  }
  if (examples.empty()) {
    return Status::FailedPrecondition("the log holds no events that train the model");
  }
  std::vector<double> epochs;
  StatusOr<engine::MFModel> model =
      engine::TrainModel({examples, num_users, num_items}, options.training, &epochs);
  outcome.examples = examples.size();
  outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  outcome.train_rmse = epochs.empty() ? 0.0 : epochs.back();
  if (!model.ok()) return model.status();
  InstallOp install{std::move(model).value(), outcome, std::nullopt, {}, std::nullopt, false};
  if (options.drift.enabled) {
    // Drift's new reference: the newest events of the prefix just trained
    // on, scanned here so the model thread only swaps it in.
    StatusOr<engine::DriftReference> ref = BuildDriftReference(
        *log, *types, options.drift.drift, through_seq, options.drift.reference_events);
    if (ref.ok()) {
      install.drift_reference = std::move(ref).value();
    } else {
      install.drift_error = fmt::format("retrain reference: {}", ref.status().ToString());
    }
  }
  return install;
}

// ---- model thread: the catch-up ------------------------------------------

Status LiveStore::Impl::ReadTail(uint64_t from, uint64_t through, std::vector<StoredEvent>* stored,
                                 std::vector<engine::Event>* events) {
  Status st = log->Scan(from, through, [&](const StoredEvent& e) {
    stored->push_back(e);
    return true;
  });
  events->reserve(stored->size());
  for (const StoredEvent& e : *stored) {
    if (const auto type = types->Find(e.type)) {
      events->push_back({e.user, e.item, *type, e.value, e.ts_ms});
    }
  }
  return st;
}

void LiveStore::Impl::BeginCatchUp(InstallOp* op) {
  StatusOr<engine::Recommender::PendingInstall> pending =
      replicas->standby().rec->BeginInstall(std::move(op->model));
  if (!pending.ok()) {
    MutexLock lock(&status_mu);
    retrain = op->outcome;
    FinishRetrainLocked(pending.status());
    retrain_running.store(false);
    return;
  }
  const uint64_t next = op->outcome.trained_through_seq + 1;
  catch_up.emplace(CatchUpState{std::move(*op), next, 0});
  catch_up->install.caught_up.emplace(std::move(pending).value());
  CatchUpStep(/*finish=*/false);
}

void LiveStore::Impl::CatchUpStep(bool finish) {
  CatchUpState& c = *catch_up;
  const uint64_t applied = replicas->published().applied_seq;
  const uint64_t tail = applied >= c.next_seq ? applied - c.next_seq + 1 : 0;
  const uint64_t chunk = std::clamp(2 * c.live_events, kMinCatchUpChunk, kMaxCatchUpChunk);
  c.live_events = 0;
  const bool last = finish || tail <= chunk;
  const uint64_t through = last ? applied : c.next_seq + chunk - 1;
  Status st;
  if (through >= c.next_seq) {
    std::vector<StoredEvent> stored;
    std::vector<engine::Event> events;
    st = ReadTail(c.next_seq, through, &stored, &events);
    if (st.ok()) {
      replicas->standby().rec->CatchUp(&*c.install.caught_up, events);
      c.next_seq = through + 1;
      c.install.outcome.caught_up_events += stored.size();
      MutexLock lock(&status_mu);
      retrain.caught_up_events = c.install.outcome.caught_up_events;
    }
  }
  if (!st.ok()) {
    // The log could not be read back: the retrained model cannot catch up,
    // and the serving one stays.
    const RetrainStatus outcome = c.install.outcome;
    catch_up.reset();
    NoteError(st);
    MutexLock lock(&status_mu);
    retrain = outcome;
    FinishRetrainLocked(st);
    retrain_running.store(false);
    return;
  }
  if (!last) return;
  ModelOp install = std::move(c.install);
  catch_up.reset();
  RunOp(&install);  // installs, snapshots, sets the retrain status
}

}  // namespace streamrec::storage
