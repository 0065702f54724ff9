// LiveStore in cluster mode: the stream thread (live_store_cluster.cc has
// the pipeline). It reads the replicated stream in order, on every replica,
// and takes each message in: EventLog::AppendBatches with the message's
// seq (dedup and conflicts decided here, the same on every replica), then
// the model thread applies it and answers a caller waiting on this
// replica. It stops, saying why, when the stream was trimmed past it.
#include <fmt/format.h>

#include <chrono>
#include <utility>

#include "engine/core/thread_name.h"
#include "storage/live_store_impl.h"

namespace streamrec::storage {
namespace {

// Messages the stream thread takes per read: one RocksDB write each.
constexpr size_t kReadBatch = 512;

}  // namespace

void LiveStore::Impl::StreamLoop() {
  engine::NameThisThread("sr-stream");
  uint64_t from = log->stream_seq() + 1;
  bool reading = false;
  auto last_position = std::chrono::steady_clock::time_point();
  while (!stream_stop.load()) {
    if (behind_trim.load()) {
      std::this_thread::sleep_for(kIdleWake);
      continue;
    }
    if (!reading) {
      if (Status st = stream->StartReading(from); !st.ok()) {
        NoteStreamError(st);
        if (st.code() == StatusCode::kFailedPrecondition) StopBehindTrim();
        std::this_thread::sleep_for(kRetryPause);
        continue;
      }
      reading = true;
    }
    StatusOr<std::vector<StreamMessage>> got =
        stream->Read(kReadBatch, std::chrono::milliseconds(200));
    if (!got.ok()) {
      NoteStreamError(got.status());
      if (got.status().code() == StatusCode::kFailedPrecondition) StopBehindTrim();
      reading = false;
      std::this_thread::sleep_for(kRetryPause);
      continue;
    }
    for (const StreamMessage& m : *got) {
      // Only this replica's disk can refuse a message (every replica
      // decides the rest the same way): wait for it, never skip it.
      while (!TakeIn(m)) {
        if (stream_stop.load()) return;
        std::this_thread::sleep_for(kRetryPause);
      }
      from = m.seq + 1;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now - last_position >= std::chrono::seconds(1)) {
      last_position = now;
      if (StatusOr<StreamPosition> pos = stream->Position(); pos.ok()) {
        stream_last_seq.store(pos->last_seq);
      }
    }
  }
}

bool LiveStore::Impl::TakeIn(const StreamMessage& m) {
  stream_last_seq.store(std::max(stream_last_seq.load(), m.seq));
  StreamRecord record;
  if (Status st = DecodeRecord(m.data, &record); !st.ok()) {
    // Not streamrec's (or a newer version's): every replica skips it alike.
    NoteStreamError(
        Status::Corruption(fmt::format("stream message {} skipped: {}", m.seq, st.message())));
    if (!log->SetStreamSeq(m.seq).ok()) return false;
    MarkTaken(m.seq);
    stream_taken.store(m.seq);
    return true;
  }
  if (record.config != config_fingerprint) {
    // Applied all the same (refusing would stop this replica for good);
    // the status says the replicas cannot agree and why.
    config_mismatches.fetch_add(1);
    NoteStreamError(Status::FailedPrecondition(fmt::format(
        "stream message {} came from a replica with other model settings (fingerprint {:016x}, "
        "here {:016x}): replicas applying one stream agree only with the same [model], "
        "[learner], [popularity], [events] and [limits]",
        m.seq, record.config, config_fingerprint)));
  }
  std::optional<RecordWaiter> w = TakeWaiter(record.origin);
  auto put_back = [&] {
    if (!w) return;
    MutexLock lock(&waiters_mu);
    waiters.emplace(record.origin, std::move(*w));
  };
  auto noop_count = [](StatusOr<uint64_t>) {};
  auto noop_done = [](Status) {};
  switch (record.kind) {
    case RecordKind::kEvents: {
      std::vector<std::span<const StoredEvent>> spans(record.batches.begin(), record.batches.end());
      std::vector<StatusOr<AppendResult>> results = log->AppendBatches(spans, m.seq);
      for (const StatusOr<AppendResult>& r : results) {
        // The write itself failed (a full disk): nothing was stored.
        if (!r.ok() && r.status().code() == StatusCode::kIOError) {
          NoteStreamError(r.status());
          put_back();
          return false;
        }
      }
      bool queued = false;
      for (size_t k = 0; k < results.size(); ++k) {
        const bool mine = w && k < w->ingest.size();
        if (!results[k].ok()) {
          if (mine) {
            if (admission) {
              MutexLock lock(&admission_mu);
              admission->Rollback(w->tickets[k]);
            }
            pending_events.fetch_sub(w->batch_events[k]);
            w->ingest[k](results[k].status());
          }
          continue;
        }
        if (mine && admission) {
          MutexLock lock(&admission_mu);
          admission->Commit(std::move(w->tickets[k]), results[k]->last_seq);
        }
        ApplyOp op{{},
                   std::move(results[k]).value(),
                   mine ? std::move(w->ingest[k]) : [](StatusOr<AppendResult>) {},
                   m.seq,
                   mine};
        for (size_t n = 0; n < record.batches[k].size(); ++n) {
          if (op.result.duplicate[n]) continue;
          op.events.push_back(std::move(record.batches[k][n]));
          op.events.back().seq = op.result.seqs[n];
        }
        model_queue.Push(std::move(op));
        queued = true;
      }
      if (!queued) MarkTaken(m.seq);
      break;
    }
    case RecordKind::kForgetUser: {
      // A training still reading the log must see the events it would
      // see on a replica that got here later (section 10).
      while (trainings_reading.load() > 0 && !stream_stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      // The model forgets and is snapshotted first, the log deletes after
      // (with the position, in one write): a crash in between restarts
      // from that snapshot and takes this record in again, which then
      // finds the user forgotten and only deletes.
      std::vector<StoredEvent> events;
      if (Status st = log->ReadUser(record.id, &events); !st.ok()) {
        NoteStreamError(st);
        put_back();
        return false;
      }
      const uint64_t count = events.size();
      auto snapshotted = std::make_shared<std::promise<StatusOr<uint64_t>>>();
      std::future<StatusOr<uint64_t>> snap = snapshotted->get_future();
      model_queue.Push(
          ForgetOp{record.id, count, std::move(events), noop_count, m.seq, std::move(snapshotted)});
      StatusOr<uint64_t> snapshot = snap.get();
      ClusterState state = cluster_state;
      if (!snapshot.ok() && snapshot.status().code() == StatusCode::kNotFound) {
        // Nothing of the user anywhere: not a forget for the retrain rule
        // or the trims (last_forget stays), only a position.
        if (Status st = log->SetStreamSeq(m.seq, &state); !st.ok()) {
          NoteStreamError(st);
          put_back();
          return false;
        }
        cluster_state = state;
        if (w) AnswerForget(&*w, snapshot.status(), m.seq, cluster_state.last_forget);
        break;
      }
      state.last_forget = m.seq;
      StatusOr<uint64_t> removed =
          snapshot.ok() ? log->DeleteUserAt(record.id, *snapshot, m.seq, state) : snapshot.status();
      if (!removed.ok()) {
        NoteStreamError(removed.status());
        put_back();
        return false;  // again on the retry: every step is idempotent
      }
      const uint64_t previous_forget = cluster_state.last_forget;
      cluster_state = state;
      if (w) AnswerForget(&*w, *removed, m.seq, previous_forget);
      break;
    }
    case RecordKind::kPutItem: {
      Status st = log->PutItem(record.id, record.meta);
      if (st.ok()) st = log->SetStreamSeq(m.seq);
      if (!st.ok()) {
        NoteStreamError(st);
        put_back();
        return false;
      }
      model_queue.Push(PutMetaOp{std::move(record.id), std::move(record.meta),
                                 w && w->done ? std::move(w->done) : noop_done, m.seq});
      break;
    }
    case RecordKind::kDeleteItem: {
      StatusOr<std::optional<ItemMeta>> prior = log->GetItem(record.id);
      Status st = prior.status();
      if (st.ok() && *prior) st = log->DeleteItem(record.id);
      if (st.ok()) st = log->SetStreamSeq(m.seq);
      if (!st.ok()) {
        NoteStreamError(st);
        put_back();
        return false;
      }
      if (*prior) {
        model_queue.Push(RemoveMetaOp{std::move(record.id),
                                      w && w->done ? std::move(w->done) : noop_done, m.seq});
      } else {
        if (w && w->done) {
          w->done(Status::NotFound(fmt::format("item '{}' has no metadata", record.id)));
        }
        MarkTaken(m.seq);
      }
      break;
    }
    case RecordKind::kRetrain: {
      // Starts here on every replica; a pending one is superseded (its
      // install record will be ignored everywhere).
      ClusterState state = cluster_state;
      state.retrain_pending = m.seq;
      if (Status st = log->SetStreamSeq(m.seq, &state); !st.ok()) {
        NoteStreamError(st);
        put_back();
        return false;
      }
      cluster_state = state;
      model_queue.Push(RetrainStartOp{m.seq, w && w->done ? std::move(w->done) : noop_done});
      break;
    }
    case RecordKind::kInstall: {
      const InstallInfo& info = record.install;
      ClusterState state = cluster_state;
      const bool current = state.retrain_pending == info.retrain_seq && info.retrain_seq != 0;
      if (current) {
        auto installed = std::make_shared<std::promise<void>>();
        std::future<void> done = installed->get_future();
        model_queue.Push(
            InstallAtOp{info, state.last_forget > info.retrain_seq, m.seq, std::move(installed)});
        // The model thread installs (training first if this replica has
        // no model for it) and snapshots the result before the position
        // moves past this record: a crash before that takes the record in
        // again, and installing again is idempotent (the trained rows,
        // then the same events stepped on them). The stream also waits so
        // that a forget after this record cannot delete events that
        // training still reads.
        done.wait();
        state.retrain_pending = 0;
      } else {
        // Another replica's copy of an install already taken, or one of a
        // superseded retrain: nothing, on every replica.
        MarkTaken(m.seq);
      }
      if (Status st = log->SetStreamSeq(m.seq, &state); !st.ok()) {
        NoteStreamError(st);
        return false;
      }
      cluster_state = state;
      break;
    }
  }
  stream_taken.store(m.seq);
  return true;
}

}  // namespace streamrec::storage
