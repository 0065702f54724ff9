// LiveStore's log thread (every write of events, user deletes and the
// catalog, in order; snapshots are written by the model thread and Close(),
// maintenance by the EventLog's own thread) and model thread (the single
// writer of the engine copies). The retrain thread is in
// live_store_retrain.cc.
#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "engine/core/event.h"
#include "engine/core/thread_name.h"
#include "storage/live_store_impl.h"
#include "storage/snapshot_pipe.h"

namespace streamrec::storage {
namespace {

constexpr std::chrono::milliseconds kWaiterWake{20};

}  // namespace

// ---- log thread -----------------------------------------------------------

void LiveStore::Impl::LogLoop() {
  engine::NameThisThread("sr-log");
  for (;;) {
    bool done = false;
    std::deque<LogJob> jobs = log_queue.Take(kIdleWake, &done);
    if (done) return;
    for (size_t i = 0; i < jobs.size();) {
      // Consecutive appends share one group commit (one fsync).
      size_t end = i;
      while (end < jobs.size() && std::holds_alternative<AppendJob>(jobs[end])) ++end;
      if (end > i) {
        // The jobs the caps on new ids let through (all, without caps), in
        // order: their indices, events and tickets.
        std::vector<size_t> admitted;
        std::vector<std::span<const StoredEvent>> batches;
        std::vector<IdAdmission::Ticket> tickets(admission ? end - i : 0);
        std::vector<std::pair<size_t, Status>> refused;
        auto admit_all = [&](const Replica* published) {
          const IdAdmission::Clock::time_point now = IdAdmission::Clock::now();
          for (size_t k = i; k < end; ++k) {
            AppendJob& job = std::get<AppendJob>(jobs[k]);
            Status st = published
                            ? admission->Admit(job.events, *published->rec, now, &tickets[k - i])
                            : Status::OK();
            if (st.ok()) {
              admitted.push_back(k);
              batches.emplace_back(job.events);
            } else {
              refused.emplace_back(k, std::move(st));
            }
          }
        };
        if (admission) {
          replicas->Read([&](const Replica& r) {
            admission->Prune(r.applied_seq);
            admit_all(&r);
          });
        } else {
          admit_all(nullptr);
        }
        for (auto& [k, st] : refused) {
          AppendJob& job = std::get<AppendJob>(jobs[k]);
          pending_events.fetch_sub(job.events.size());
          job.done(std::move(st));
        }
        std::vector<StatusOr<AppendResult>> results;
        if (!batches.empty()) results = log->AppendBatches(batches);
        for (size_t a = 0; a < results.size(); ++a) {
          const size_t k = admitted[a];
          AppendJob& job = std::get<AppendJob>(jobs[k]);
          if (!results[a].ok()) {
            if (admission) admission->Rollback(tickets[k - i]);
            pending_events.fetch_sub(job.events.size());
            job.done(results[a].status());
            continue;
          }
          if (admission) admission->Commit(std::move(tickets[k - i]), results[a]->last_seq);
          // Duplicates still go through the model thread: their first copy
          // may not be applied yet, and the ack promises it is visible.
          ApplyOp op{{}, std::move(results[a]).value(), std::move(job.done)};
          for (size_t n = 0; n < job.events.size(); ++n) {
            if (op.result.duplicate[n]) continue;
            op.events.push_back(std::move(job.events[n]));
            op.events.back().seq = op.result.seqs[n];
          }
          model_queue.Push(std::move(op));
        }
        i = end;
        continue;
      }
      std::visit(
          Overloaded{
              [&](ForgetJob& j) {
                {
                  MutexLock lock(&forget_mu);
                  ++forget_epoch;  // odd: a retrain reading the log now may see the events
                }
                std::vector<StoredEvent> events;
                StatusOr<uint64_t> removed = log->DeleteUser(j.user, &events);
                {
                  // Even again, and the forget queued, in one step: a
                  // retrain that sees the even epoch queues its install
                  // behind the forget, and the forget's caller (answered
                  // by the model thread) never sees the odd epoch of a
                  // forget that has finished. Stepping after the push let
                  // a retrain on a loaded machine restart five times on
                  // one finished forget.
                  MutexLock lock(&forget_mu);
                  ++forget_epoch;
                  if (removed.ok()) {
                    ForgetOp op{std::move(j.user), *removed, std::move(events), std::move(j.done)};
                    op.log_deletes = log->user_deletes();  // this thread alone deletes
                    model_queue.Push(std::move(op));
                  }
                }
                if (!removed.ok()) j.done(removed.status());
              },
              [&](PutItemJob& j) {
                Status st = log->PutItem(j.item, j.meta);
                if (!st.ok()) return j.done(st);
                model_queue.Push(
                    PutMetaOp{std::move(j.item), std::move(j.meta), std::move(j.done), 0});
              },
              [&](DeleteItemJob& j) {
                StatusOr<std::optional<ItemMeta>> prior = log->GetItem(j.item);
                if (!prior.ok()) return j.done(prior.status());
                if (!*prior) {
                  return j.done(Status::NotFound(fmt::format("item '{}' has no metadata", j.item)));
                }
                Status st = log->DeleteItem(j.item);
                if (!st.ok()) return j.done(st);
                model_queue.Push(RemoveMetaOp{std::move(j.item), std::move(j.done), 0});
              },
              [](AppendJob&) {},   // handled above
              [](RetrainJob& j) {  // queued by cluster mode only
                j.done(Status::FailedPrecondition("not a cluster"));
              },
          },
          jobs[i]);
      ++i;
    }
  }
}

// ---- model thread ---------------------------------------------------------

void LiveStore::Impl::ModelLoop() {
  engine::NameThisThread("sr-model");
  for (;;) {
    bool done = false;
    bool waiting = false;
    {
      MutexLock lock(&seq_waiters_mu);
      waiting = !seq_waiters.empty();
    }
    // Reads waiting for a seq time out within ~kWaiterWake of their bound.
    // A retrain catching up takes the idle time: no wait then.
    std::deque<ModelOp> ops = model_queue.Take(catch_up  ? std::chrono::milliseconds(0)
                                               : waiting ? kWaiterWake
                                                         : kIdleWake,
                                               &done);
    if (done) {
      // Closing: the retrain's install is not lost (Close snapshots after).
      if (catch_up) CatchUpStep(/*finish=*/true);
      AnswerSeqWaiters(/*check_deadlines=*/true, /*expire_all=*/true);
      step_thread.reset();
      return;
    }
    for (size_t i = 0; i < ops.size();) {
      // Consecutive appends share one publish.
      std::vector<ApplyOp> run;
      while (i < ops.size() && std::holds_alternative<ApplyOp>(ops[i])) {
        run.push_back(std::move(std::get<ApplyOp>(ops[i++])));
      }
      if (!run.empty()) {
        ApplyEvents(&run);
        continue;
      }
      // A forget is applied after the retrain's install, as it was queued
      // after it (the pending model holds the user's rows too).
      if (catch_up && std::holds_alternative<ForgetOp>(ops[i])) CatchUpStep(/*finish=*/true);
      RunOp(&ops[i++]);
    }
    if (catch_up) CatchUpStep(/*finish=*/false);
    AnswerSeqWaiters(/*check_deadlines=*/true);
    if (stream != nullptr) AnswerLateRecords();
    MaybeSnapshot();
    MaybePublishDrift();
  }
}

void LiveStore::Impl::AnswerSeqWaiters(bool check_deadlines, bool expire_all) {
  uint64_t applied = 0;
  replicas->Read([&](const Replica& r) { applied = r.applied_seq; });
  const auto now = std::chrono::steady_clock::now();
  std::vector<SeqWaiter> ready, expired;
  {
    MutexLock lock(&seq_waiters_mu);
    for (size_t k = 0; k < seq_waiters.size();) {
      SeqWaiter& w = seq_waiters[k];
      if (w.seq <= applied) {
        ready.push_back(std::move(w));
      } else if ((check_deadlines && now >= w.deadline) || expire_all) {
        expired.push_back(std::move(w));
      } else {
        ++k;
        continue;
      }
      w = std::move(seq_waiters.back());
      seq_waiters.pop_back();
    }
  }
  for (SeqWaiter& w : ready) w.done(Status::OK());
  for (SeqWaiter& w : expired) {
    w.done(Status::Unavailable(
        fmt::format("this replica has applied events through seq {}, not yet {}; retry shortly",
                    applied, w.seq)));
  }
}

void LiveStore::Impl::ApplyEvents(std::vector<ApplyOp>* run) {
  uint64_t last = 0, stream_last = 0;
  for (const ApplyOp& op : *run) {
    if (!op.events.empty()) last = op.events.back().seq;
    stream_last = std::max(stream_last, op.stream_seq);
    if (catch_up) {
      catch_up->live_events += op.events.size();
      catch_up->install.applied_since = true;
    }
  }
  // The leader (null for the first copy) is the copy applied first, which
  // the second follows (Recommender::ApplyFollowing). A long run's leader
  // goes through the StepThread (the fronts here, the steps on the second
  // core), a short one's through a LookaheadApplier (each step's memory
  // fetched while the ones before it run), where a hand-over between
  // threads would add to a single event's wait. Both are the same model as
  // Apply event by event.
  size_t events = 0;
  for (const ApplyOp& op : *run) events += op.events.size();
  if (events >= engine::StepThread::kMinRun && step_thread == nullptr) {
    step_thread = std::make_unique<engine::StepThread>();
  }
  auto apply = [&](Replica& r, const Replica* leader) {
    Status first_error;
    std::optional<engine::LookaheadApplier> ahead;
    const bool split =
        leader == nullptr && events >= engine::StepThread::kMinRun && step_thread->split();
    if (split) {
      step_thread->Begin(r.rec.get());
    } else if (leader == nullptr) {
      ahead.emplace(r.rec.get());
    }
    for (const ApplyOp& op : *run) {
      for (const StoredEvent& e : op.events) {
        // Validated before it was logged, so this cannot fail unless the
        // engine and the validator disagree: note it, keep going (both
        // copies skip the same event, so they stay equal).
        Status st = leader  ? ApplyStored(e, r.rec.get(), leader->rec.get())
                    : split ? ApplyStored(e, step_thread.get())
                            : ApplyStored(e, &*ahead);
        if (!st.ok() && first_error.ok()) first_error = st;
      }
    }
    if (split) step_thread->Finish();
    if (ahead) ahead->Finish();
    if (last > r.applied_seq) r.applied_seq = last;
    if (stream_last > r.stream_seq) r.stream_seq = stream_last;
    return first_error;
  };
  Status st = apply(replicas->standby(), nullptr);
  PublishStandby();
  AnswerSeqWaiters(/*check_deadlines=*/false);
  for (ApplyOp& op : *run) {
    if (op.pending) pending_events.fetch_sub(op.result.seqs.size());
    op.done(std::move(op.result));
  }
  // The first copy's status is the answer's; the second's can differ only
  // if the copies diverged, which is noted too.
  Status followed = apply(replicas->standby(), &replicas->published());
  replicas->standby().rec->FinishFollowing(*replicas->published().rec);
  if (!st.ok()) NoteError(st);
  if (st.ok() && !followed.ok()) NoteError(followed);
  // Once per event (not per copy), after the acks: off their latency.
  if (drift) {
    for (const ApplyOp& op : *run) {
      for (const StoredEvent& e : op.events) drift->Observe(e);
    }
  }
}

void LiveStore::Impl::PublishStandby() {
  replicas->standby().rec->PrepareForReaders();
  replicas->Publish();
}

void LiveStore::Impl::RunOp(ModelOp* op) {
  // Applies `fn` to both copies (publishing between) and returns the first
  // copy's status; nothing is published if that fails. fn(copy, leader):
  // the leader is null for the first copy and the first copy for the
  // second (Recommender's follower methods).
  // The stream message the op came from (cluster mode), recorded in both
  // copies with the op, whatever its outcome.
  const uint64_t stream_seq =
      std::visit(Overloaded{[](const ForgetOp& o) { return o.stream_seq; },
                            [](const PutMetaOp& o) { return o.stream_seq; },
                            [](const RemoveMetaOp& o) { return o.stream_seq; },
                            [](const auto&) { return uint64_t{0}; }},
                 *op);
  auto both = [&](auto&& fn) -> Status {
    Replica& first = replicas->standby();
    Status st = fn(first, static_cast<const Replica*>(nullptr));
    first.stream_seq = std::max(first.stream_seq, stream_seq);
    if (!st.ok() && stream_seq == 0) return st;
    PublishStandby();
    Replica& second = replicas->standby();
    (void)fn(second, &replicas->published());  // deterministic: the same outcome
    second.rec->FinishFollowing(*replicas->published().rec);
    second.stream_seq = std::max(second.stream_seq, stream_seq);
    return st;
  };
  std::visit(
      Overloaded{
          [&](ApplyOp&) {},  // ModelLoop batches these
          [&](ForgetOp& o) {
            // Every branch below forgets the user (or finds nothing to
            // forget) before it encodes any snapshot.
            log_deletes_applied = std::max(log_deletes_applied, o.log_deletes);
            const bool known = replicas->published().rec->users().Find(o.user).has_value();
            if (o.snapshotted) {
              // Cluster mode (section 10): forget (unless a replay of this
              // record after a crash finds it done), snapshot, and let the
              // stream thread delete from the log after that, so a crash
              // at any point restarts from a state the other replicas had.
              if (!known && o.removed == 0) {
                (void)both([](Replica&, const Replica*) { return Status::OK(); });
                return o.snapshotted->set_value(
                    Status::NotFound(fmt::format("unknown user '{}'", o.user)));
              }
              (void)both([&](Replica& r, const Replica* leader) {
                if (known) {
                  ForgetStored(o.user, o.events, r.rec.get(), leader ? leader->rec.get() : nullptr);
                }
                return Status::OK();
              });
              if (drift) drift->ForgetUser(o.user);
              return o.snapshotted->set_value(WriteSnapshotNow(/*force=*/true, "forget"));
            }
            if (!known && o.removed == 0) {
              // Nothing to forget; a stream message is still recorded.
              if (o.stream_seq != 0)
                (void)both([](Replica&, const Replica*) { return Status::OK(); });
              return o.done(Status::NotFound(fmt::format("unknown user '{}'", o.user)));
            }
            (void)both([&](Replica& r, const Replica* leader) {
              ForgetStored(o.user, o.events, r.rec.get(), leader ? leader->rec.get() : nullptr);
              return Status::OK();
            });
            if (drift) drift->ForgetUser(o.user);
            // DeleteUser dropped every snapshot (they held the user); one
            // this thread wrote since, from a model that still had them,
            // goes too. The next is written after snapshot_after_forget_
            // seconds, for every delete until then (MaybeSnapshot). One
            // still being stored (the writer thread) lands before the drop,
            // or it would outlive it.
            JoinSnapshotWriter();
            if (Status st = log->DropSnapshots(); !st.ok()) NoteError(st);
            {
              MutexLock lock(&status_mu);
              have_snapshot = false;
              snapshot_seq = 0;
              if (!forget_snapshot_due) {
                forget_snapshot_due =
                    std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(options.store.snapshot_after_forget_seconds));
              }
            }
            o.done(o.removed);
          },
          [&](PutMetaOp& o) {
            o.done(both(
                [&](Replica& r, const Replica*) { return r.rec->SetItemMeta(o.item, o.meta); }));
          },
          [&](RemoveMetaOp& o) {
            o.done(both([&](Replica& r, const Replica*) {
              (void)r.rec->RemoveItemMeta(o.item);
              return Status::OK();
            }));
          },
          [&](SnapshotOp& o) { o.done(WriteSnapshotNow(/*force=*/false, "admin")); },
          [](WakeOp&) {},
          // Between changes both copies and the updater they share agree.
          [&](WriterReadOp& o) { o.read(replicas->published()); },
          [&](RetrainStartOp&) { RunClusterOp(op); },
          [&](InstallAtOp&) { RunClusterOp(op); },
          [&](InstallOp& o) {
            // What the serving model learned while the retrain ran is
            // stepped again on the retrained rows (Recommender::InstallModel):
            // in a single process first, between live writes (CatchUpStep,
            // which comes back here with o.caught_up); in a cluster here, at
            // the install record, where every replica installs.
            if (stream == nullptr && !o.caught_up) return BeginCatchUp(&o);
            Status st;
            std::vector<StoredEvent> tail;
            std::vector<engine::Event> since;  // points into tail
            if (!o.caught_up) {
              st = ReadTail(o.outcome.trained_through_seq + 1, replicas->published().applied_seq,
                            &tail, &since);
              o.outcome.caught_up_events = tail.size();
            }
            if (st.ok()) {
              st = both([&](Replica& r, const Replica* leader) {
                // The second copy takes what the first made of the model
                // (the trained rows, then the steps of `since` on them).
                if (leader != nullptr) {
                  r.rec->InstallModelFollowing(*leader->rec);
                  return Status::OK();
                }
                if (o.caught_up) {
                  return r.rec->FinishInstall(std::move(*o.caught_up), o.applied_since);
                }
                return r.rec->InstallModel(std::move(o.model), since);
              });
            }
            if (st.ok()) {
              // The retrained model is not what a replay of the log gives:
              // only a snapshot keeps it across a restart.
              // (Errors are noted there; a refused one is not an error: a
              // forget is queued behind this install and snapshots after.)
              (void)WriteSnapshotNow(/*force=*/true, "retrain");
            }
            if (st.ok() && drift) {
              // The data the new model was trained on is drift's reference.
              if (o.drift_reference) {
                drift->Install(std::move(*o.drift_reference), o.outcome.trained_through_seq);
              } else if (!o.drift_error.empty()) {
                drift->NoteError(std::move(o.drift_error));
              }
            }
            MutexLock lock(&status_mu);
            retrain = o.outcome;
            FinishRetrainLocked(st);
            retrain_running.store(false);
          },
      },
      *op);
}

void LiveStore::Impl::StartRetrainLocked() {
  retrain.state = RetrainState::kRunning;
  retrain.error.clear();
  retrain.caught_up_events = 0;
  retrain.runs++;
  retrain.restarts = 0;
  retrain.started_ms = engine::WallClockMs();
  retrain.finished_ms = 0;
}

void LiveStore::Impl::FinishRetrainLocked(const Status& st) {
  retrain.state = st.ok() ? RetrainState::kSucceeded : RetrainState::kFailed;
  if (!st.ok()) retrain.error = st.ToString();
  retrain.finished_ms = engine::WallClockMs();
  retrain_history.push_back(retrain);
  if (retrain_history.size() > kHistoryRuns) retrain_history.pop_front();
}

void LiveStore::Impl::JoinSnapshotWriter() {
  if (snapshot_writer.joinable()) snapshot_writer.join();
}

void LiveStore::Impl::NoteSnapshot(uint64_t seq, std::chrono::steady_clock::time_point started,
                                   double encode_seconds, std::string_view reason) {
  const auto now = std::chrono::steady_clock::now();
  MutexLock lock(&status_mu);
  snapshot_history.push_back({engine::WallClockMs(), seq,
                              std::chrono::duration<double>(now - started).count(), encode_seconds,
                              std::string(reason)});
  if (snapshot_history.size() > kHistoryRuns) snapshot_history.pop_front();
  snapshot_seq = seq;
  have_snapshot = true;
  snapshot_time = now;
  ++snapshots_written;
}

StatusOr<uint64_t> LiveStore::Impl::WriteSnapshotNow(bool force, std::string_view reason) {
  // A scheduled snapshot still being stored lands first: snapshots are
  // stored in seq order, and the caller may drop or count on them.
  JoinSnapshotWriter();
  const Replica& r = replicas->published();
  if (r.applied_seq == 0) return uint64_t{0};  // nothing to keep
  {
    MutexLock lock(&status_mu);
    if (!force && have_snapshot && snapshot_seq == r.applied_seq) return snapshot_seq;
  }
  const auto started = std::chrono::steady_clock::now();
  double encode = 0;
  if (Status st = WriteSnapshot(log.get(), *r.rec, r.applied_seq, log_deletes_applied, &encode);
      !st.ok()) {
    // Refused: a user delete's forget is queued behind this, and takes a
    // snapshot of its own (forget_snapshot_due).
    if (!IsSnapshotRefused(st)) NoteError(st);
    return st;
  }
  NoteSnapshot(r.applied_seq, started, encode, reason);
  return r.applied_seq;
}

void LiveStore::Impl::MaybeSnapshot() {
  // The previous scheduled one is still being stored: its seq is not yet
  // noted, so it would look due again.
  if (snapshot_writing.load(std::memory_order_acquire)) return;
  JoinSnapshotWriter();  // finished: reap it
  const uint64_t applied = replicas->published().applied_seq;
  uint64_t since = 0;
  double age = 0;
  double last_cost = 0, last_encode = 0;
  bool after_forget = false;
  {
    MutexLock lock(&status_mu);
    since = applied - std::min(applied, snapshot_seq);
    const auto now = std::chrono::steady_clock::now();
    age = std::chrono::duration<double>(now - snapshot_time).count();
    // The newest snapshot's whole duration, encoded and stored, and its
    // encode (none written since the open: no spacing).
    if (!snapshot_history.empty()) {
      last_cost = snapshot_history.back().seconds;
      last_encode = snapshot_history.back().encode_seconds;
    }
    after_forget = forget_snapshot_due && now >= *forget_snapshot_due;
  }
  if (!after_forget && !SnapshotDue(options.store, since, age, last_cost, last_encode)) return;
  if (!after_forget) {
    // Encoded here, where the published copy holds still, into a pipe of a
    // few chunks that the writer thread stores as they come; it finishes
    // the store (the last chunks, the table's ingestion) while this one
    // goes on applying events. Its failure is noted (last_error) and the
    // next wake-up tries again.
    const Replica& r = replicas->published();
    if (r.applied_seq == 0) return;
    const uint64_t seq = r.applied_seq;
    const auto started = std::chrono::steady_clock::now();
    const uint64_t deletes_applied = log_deletes_applied;
    auto pipe = std::make_shared<SnapshotPipe>(kSnapshotPipePieces);
    snapshot_writing.store(true, std::memory_order_release);
    snapshot_writer = std::thread([this, seq, started, deletes_applied, pipe] {
      engine::NameThisThread("sr-snapshot");
      Status st = log->PutSnapshot(seq, pipe.get(), deletes_applied);
      if (st.ok()) {
        // Stored whole: the encode has closed the pipe.
        const double encode = std::chrono::duration<double>(pipe->closed_at() - started).count();
        NoteSnapshot(seq, started, encode, "schedule");
        // It holds every forget before it (a later one joins this thread
        // before dropping snapshots): none is still waiting for one.
        MutexLock lock(&status_mu);
        forget_snapshot_due.reset();
      } else if (!IsSnapshotRefused(st)) {
        NoteError(st);
      }
      // Refused: a user delete came after it was encoded; that delete's
      // forget drops the snapshots and schedules the next.
      snapshot_writing.store(false, std::memory_order_release);
    });
    // An encode's error reaches the writer through the pipe, which notes it.
    (void)EncodeStoredSnapshot(*r.rec, pipe.get());
    return;
  }
  // Errors are noted by WriteSnapshotNow; a forget's snapshot is retried on
  // the next wake-up.
  if (WriteSnapshotNow(/*force=*/false, "forget").ok()) {
    MutexLock lock(&status_mu);
    forget_snapshot_due.reset();
  }
}

void LiveStore::Impl::MaybePublishDrift() {
  if (!drift) return;
  const auto now = std::chrono::steady_clock::now();
  if (!drift->Due(now)) return;
  LiveDriftStatus s = drift->Publish(now);  // computed outside the lock
  MutexLock lock(&status_mu);
  drift_status = std::move(s);
}

void LiveStore::Impl::NoteError(const Status& s) {
  MutexLock lock(&status_mu);
  last_error = s.ToString();
}

}  // namespace streamrec::storage
