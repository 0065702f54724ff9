// LiveStore: Open/Close and the public entry points. The threads' loops
// are in live_store_threads.cc.
#include "storage/live_store.h"

#include <fmt/format.h>

#include <future>
#include <random>

#include "engine/core/thread_name.h"
#include "engine/live/snapshot.h"
#include "storage/live_store_impl.h"

namespace streamrec::storage {

std::string_view RetrainStateName(RetrainState s) {
  switch (s) {
    case RetrainState::kIdle:
      return "idle";
    case RetrainState::kRunning:
      return "running";
    case RetrainState::kSucceeded:
      return "succeeded";
    case RetrainState::kFailed:
      return "failed";
  }
  return "unknown";
}

LiveStore::LiveStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  replicas_ = impl_->replicas.get();
}

StatusOr<std::unique_ptr<LiveStore>> LiveStore::Open(const std::string& dir,
                                                     const LiveStoreOptions& options,
                                                     const engine::RecommenderOptions& engine,
                                                     engine::EventTypes types) {
  // Before the database is touched: bad options never open it.
  STREAMREC_RETURN_IF_ERROR(engine::Recommender::ValidateOptions(engine));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  // A retrain must produce a model the serving one can take (same rank and
  // seed for rows it does not cover).
  impl->options.training.model = engine.model;
  impl->engine_options = engine;
  impl->types = std::make_unique<engine::EventTypes>(types);
  impl->dir = dir;
  auto log = EventLog::Open(dir, options.store.log);
  if (!log.ok()) return log.status();
  impl->log = std::move(log).value();

  auto first = std::make_unique<engine::Recommender>(engine, types);
  auto recovered = Recover(*impl->log, first.get());
  if (!recovered.ok()) return recovered.status();
  Status catalog = impl->log->ScanItems([&](std::string_view item, const ItemMeta& meta) {
    // Stored metadata passed these checks when it was written; a failure
    // here means the catalog was damaged, which the scan reports.
    return first->SetItemMeta(item, meta).ok();
  });
  STREAMREC_RETURN_IF_ERROR(catalog);
  // The second copy: the first's snapshot state (bit-exact) rather than a
  // second replay of the log, its pages, and under kImplicit its
  // interaction history and Gramians, shared (engine::MakeSecondCopy).
  auto made = engine::MakeSecondCopy(first.get());
  if (!made.ok()) return made.status();
  std::unique_ptr<engine::Recommender> second = std::move(made).value();
  // The catalog is not snapshot state: copied from the log as for the first.
  STREAMREC_RETURN_IF_ERROR(impl->log->ScanItems([&](std::string_view item, const ItemMeta& meta) {
    return second->SetItemMeta(item, meta).ok();
  }));
  // Readers of either copy fold sessions in with its own Gramian, never
  // the shared updater's (Recommender::PrepareForReaders).
  first->PrepareForReaders();
  second->PrepareForReaders();
  auto a = std::make_unique<Replica>(std::move(first));
  auto b = std::make_unique<Replica>(std::move(second));
  a->applied_seq = b->applied_seq = recovered->last_seq;
  impl->replicas = std::make_unique<engine::LeftRight<Replica>>(std::move(a), std::move(b));
  impl->validator = std::make_unique<engine::Recommender>(engine, std::move(types));
  if (options.ids.any()) impl->admission = std::make_unique<IdAdmission>(options.ids);
  impl->recovery = *recovered;
  {
    MutexLock lock(&impl->status_mu);  // no thread runs yet: for the analysis
    impl->snapshot_seq = recovered->snapshot_seq;
    impl->have_snapshot = recovered->snapshot_seq > 0;
    impl->snapshot_time = std::chrono::steady_clock::now();
  }
  if (options.drift.enabled) {
    impl->drift = std::make_unique<LiveDrift>(options.drift, impl->types.get());
    // Drift is a diagnostic: a record it cannot read must not keep the
    // store from serving. The error shows in status().drift; the events
    // read before it stay in the reference.
    if (Status st = impl->drift->Seed(*impl->log, recovered->last_seq); !st.ok()) {
      impl->drift->NoteError(st.ToString());
    }
    impl->MaybePublishDrift();
  }
  // The replay freed much (grown and moved rows, CompactMemory's trims),
  // and so did the drift reference's scan of the log; glibc keeps freed
  // memory below its top: at 500k x 100k x 5M that was ~100 MB of RSS held
  // for nothing, and ~10 MB more after a restart from a snapshot when this
  // ran before the scan. Hand the free pages back so RSS shows what is held.
  MemoryReleaser::ReleaseNow();

  Impl* p = impl.get();
  if (options.cluster) {
    impl->stream = options.cluster.get();
    // Record ids: unique per process start, never reused by a restart.
    std::random_device rd;
    impl->record_prefix = fmt::format("{:08x}{:08x}", rd(), rd());
    impl->stream_taken.store(impl->log->stream_seq());
    impl->cluster_state = impl->log->cluster_state();
    impl->config_fingerprint = ConfigFingerprint(*impl->validator);
    // No thread runs yet: both copies are the writer's.
    impl->replicas->standby().stream_seq = impl->log->stream_seq();
    impl->PublishStandby();
    impl->replicas->standby().stream_seq = impl->log->stream_seq();
    for (int k = 0; k < Impl::kPublishThreads; ++k) {
      impl->publish_threads.emplace_back([p] { p->PublishLoop(); });
    }
    impl->stream_thread = std::thread([p] { p->StreamLoop(); });
    impl->image_thread = std::thread([p] { p->ImageLoop(); });
  } else {
    impl->log_thread = std::thread([p] { p->LogLoop(); });
  }
  impl->model_thread = std::thread([p] { p->ModelLoop(); });
  // Its activity is the events readers see: ingest is what frees memory
  // (storage/memory_release.h).
  impl->memory = std::make_unique<MemoryReleaser>(options.memory, [p] {
    return p->replicas->Read([](const Replica& r) { return r.applied_seq; });
  });
  return std::unique_ptr<LiveStore>(new LiveStore(std::move(impl)));
}

LiveStore::~LiveStore() {
  // Swallowed on purpose: a destructor cannot report; callers that care
  // call Close() and check it.
  (void)Close();
}

Status LiveStore::Validate(const std::vector<StoredEvent>& batch) const {
  if (batch.empty()) return Status::InvalidArgument("the batch holds no events");
  return ValidateEvents(*impl_->validator, batch);
}

void LiveStore::IngestAsync(std::vector<StoredEvent> batch, IngestCallback done) {
  if (impl_->closed.load()) {
    done(Status::FailedPrecondition("the store is shutting down"));
    return;
  }
  if (Status st = Validate(batch); !st.ok()) {
    done(st);
    return;
  }
  const uint64_t n = batch.size();
  const uint64_t before = impl_->pending_events.fetch_add(n);
  // One batch larger than the limit is still taken when nothing else is
  // pending, so a limit below the batch cap cannot refuse it forever.
  if (before > 0 && before + n > impl_->options.max_pending_events) {
    impl_->pending_events.fetch_sub(n);
    done(Status::ResourceExhausted(
        fmt::format("{} events are already waiting to be stored; retry shortly", before)));
    return;
  }
  AppendJob job{std::move(batch), std::move(done)};
  if (!impl_->log_queue.Push(std::move(job))) {
    impl_->pending_events.fetch_sub(n);
    job.done(Status::FailedPrecondition("the store is shutting down"));
  }
}

namespace {

// Runs an async call and waits for its callback.
template <typename T, typename Start>
T Wait(Start&& start) {
  auto promise = std::make_shared<std::promise<T>>();
  std::future<T> f = promise->get_future();
  start([promise](T v) { promise->set_value(std::move(v)); });
  return f.get();
}

}  // namespace

StatusOr<AppendResult> LiveStore::Ingest(std::vector<StoredEvent> batch) {
  return Wait<StatusOr<AppendResult>>(
      [&](IngestCallback cb) { IngestAsync(std::move(batch), std::move(cb)); });
}

StatusOr<std::vector<StoredEvent>> LiveStore::RecentEvents(std::string_view user,
                                                           size_t max) const {
  std::vector<StoredEvent> events;
  STREAMREC_RETURN_IF_ERROR(impl_->log->RecentUserEvents(user, max, &events));
  return events;
}

void LiveStore::ForgetUserAsync(std::string user, CountCallback done) {
  if (user.empty()) {
    done(Status::InvalidArgument("user id is empty"));
    return;
  }
  ForgetJob job{std::move(user), std::move(done)};
  if (!impl_->log_queue.Push(std::move(job))) {
    job.done(Status::FailedPrecondition("the store is shutting down"));
  }
}

void LiveStore::PutItemAsync(std::string item, engine::ItemMeta meta, DoneCallback done) {
  if (Status st = impl_->validator->ValidateItemMeta(item, meta); !st.ok()) {
    done(st);
    return;
  }
  PutItemJob job{std::move(item), std::move(meta), std::move(done)};
  if (!impl_->log_queue.Push(std::move(job))) {
    job.done(Status::FailedPrecondition("the store is shutting down"));
  }
}

void LiveStore::DeleteItemAsync(std::string item, DoneCallback done) {
  DeleteItemJob job{std::move(item), std::move(done)};
  if (!impl_->log_queue.Push(std::move(job))) {
    job.done(Status::FailedPrecondition("the store is shutting down"));
  }
}

void LiveStore::WaitForSeqAsync(uint64_t seq, std::chrono::milliseconds timeout,
                                DoneCallback done) {
  bool visible = false;
  Read([&](const Replica& r) { visible = r.applied_seq >= seq; });
  if (visible) return done(Status::OK());
  if (impl_->closed.load()) return done(Status::FailedPrecondition("the store is shutting down"));
  {
    MutexLock lock(&impl_->seq_waiters_mu);
    impl_->seq_waiters.push_back(
        SeqWaiter{seq, std::chrono::steady_clock::now() + timeout, std::move(done)});
  }
  // Wakes the model thread, so that it waits with the short timeout; it
  // also answers this waiter if the seq became visible meanwhile.
  impl_->model_queue.Push(WakeOp{});
}

void LiveStore::ReadOnWriterAsync(WriterReadCallback read, DoneCallback refused) {
  if (!impl_->model_queue.Push(WriterReadOp{std::move(read)})) {
    refused(Status::FailedPrecondition("the store is shutting down"));
  }
}

void LiveStore::SnapshotAsync(CountCallback done) {
  SnapshotOp op{std::move(done)};
  if (!impl_->model_queue.Push(std::move(op))) {
    op.done(Status::FailedPrecondition("the store is shutting down"));
  }
}

Status CheckRetrainAlgorithm(engine::Objective objective, engine::Algorithm algorithm) {
  using engine::Algorithm;
  bool fits = engine::PredictsRatings(algorithm);
  std::string_view which = "sgd, als, bpmf or online";
  if (objective == engine::Objective::kImplicit) {
    fits = algorithm == Algorithm::kIals;
    which = "ials";
  } else if (objective == engine::Objective::kBpr) {
    fits = algorithm == Algorithm::kBpr;
    which = "bpr";
  }
  if (fits) return Status::OK();
  // A model of another objective installed under the online updates would
  // be stepped towards a different optimum by every later event (and a
  // baseline has no factors to install).
  return Status::FailedPrecondition(
      fmt::format("[training] algorithm '{}' cannot be installed in the live {} model; use {}",
                  engine::AlgorithmName(algorithm), engine::ObjectiveName(objective), which));
}

Status LiveStore::Retrain() {
  // Close() joins the retrain thread under this lock: none may start after.
  MutexLock close_lock(&impl_->close_mu);
  if (impl_->closed.load()) return Status::FailedPrecondition("the store is shutting down");
  STREAMREC_RETURN_IF_ERROR(
      CheckRetrainAlgorithm(impl_->engine_options.objective, impl_->options.training.algorithm));
  if (impl_->stream != nullptr) {
    // Cluster mode: a retrain record in the stream, so that every replica
    // trains on the same prefix and installs at the same later record
    // (section 10). Answered once this replica has taken the record in.
    auto promise = std::make_shared<std::promise<Status>>();
    std::future<Status> started = promise->get_future();
    RetrainJob job{[promise](Status st) { promise->set_value(std::move(st)); }};
    if (!impl_->log_queue.Push(std::move(job))) {
      return Status::FailedPrecondition("the store is shutting down");
    }
    close_lock.Unlock();  // Close answers the job if it comes first
    if (started.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
      return Status::Unavailable("the retrain record was not taken in within 60 s; see status");
    }
    return started.get();
  }
  if (impl_->retrain_running.exchange(true)) {
    return Status::FailedPrecondition("a retrain is already running");
  }
  if (impl_->retrain_thread.joinable()) impl_->retrain_thread.join();  // the previous, finished
  // The ids as of the published seq: the retrain trains exactly the log
  // prefix these ids came from, in the serving model's row order.
  uint64_t through = 0, epoch = 0;
  std::vector<std::string> users, items;
  impl_->ReadIds(&through, &users, &items, &epoch);
  {
    MutexLock lock(&impl_->status_mu);
    impl_->StartRetrainLocked();
    impl_->retrain.trained_through_seq = through;
    impl_->retrain.algorithm =
        std::string(engine::AlgorithmName(impl_->options.training.algorithm));
  }
  Impl* p = impl_.get();
  impl_->retrain_thread =
      std::thread([p, through, epoch, u = std::move(users), i = std::move(items)]() mutable {
        engine::NameThisThread("sr-retrain");
        p->RunRetrain(through, std::move(u), std::move(i), epoch);
      });
  return Status::OK();
}

LiveStatus LiveStore::status() const {
  LiveStatus s;
  Read([&](const Replica& r) {
    const engine::Recommender& rec = *r.rec;
    s.applied_seq = r.applied_seq;
    s.cluster.applied_stream_seq = r.stream_seq;
    s.events_applied = rec.events_applied();
    s.users = rec.users().live();  // not the forgotten users' rows
    s.items = rec.items().live();
    s.catalog_items = rec.catalog().size();
    s.rank = rec.model().rank();
    s.objective = rec.options().objective;
    const uint64_t rows = uint64_t{rec.model().num_users()} + rec.model().num_items();
    s.model_bytes = rows * (static_cast<uint64_t>(s.rank) + 1) * sizeof(float);
  });
  s.durable_seq = impl_->log->next_seq() - 1;
  s.log_memory_bytes = impl_->log->MemoryBytes();
  s.pending_events = impl_->pending_events.load();
  s.store = impl_->log->health();
  s.closed = impl_->closed.load();
  s.memory = impl_->memory->status();
  if (impl_->stream != nullptr) {
    s.cluster.enabled = true;
    s.cluster.stream = impl_->stream->Describe();
    s.cluster.stream_last_seq =
        std::max(impl_->stream_last_seq.load(), s.cluster.applied_stream_seq);
    s.cluster.lag = s.cluster.stream_last_seq - s.cluster.applied_stream_seq;
    s.cluster.published = impl_->records_published.load();
    s.cluster.publish_failures = impl_->publish_failures.load();
    s.cluster.config_mismatches = impl_->config_mismatches.load();
    s.cluster.behind_trim = impl_->behind_trim.load();
  }
  MutexLock lock(&impl_->status_mu);
  if (impl_->stream != nullptr) {
    s.cluster.last_error = impl_->stream_error;
    s.cluster.images = impl_->images;
  }
  s.snapshot_seq = impl_->snapshot_seq;
  if (impl_->have_snapshot) {
    s.snapshot_age_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - impl_->snapshot_time)
            .count();
  }
  s.snapshots_written = impl_->snapshots_written;
  s.recovery = impl_->recovery;
  s.retrain = impl_->retrain;
  s.retrain_history.assign(impl_->retrain_history.begin(), impl_->retrain_history.end());
  s.snapshot_history.assign(impl_->snapshot_history.begin(), impl_->snapshot_history.end());
  s.last_error = impl_->last_error;
  s.drift = impl_->drift_status;
  if (s.drift.enabled) {
    s.drift.report_age_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - s.drift.computed_at)
            .count();
  }
  return s;
}

Status LiveStore::Close() {
  MutexLock lock(&impl_->close_mu);
  if (impl_->closed.exchange(true)) return impl_->close_status;
  impl_->memory->Stop();  // its activity reads the replicas
  // A running retrain finishes and queues its install before the model
  // thread stops, so its work is not lost.
  if (impl_->retrain_thread.joinable()) impl_->retrain_thread.join();
  // The log thread feeds the model thread: drain it first.
  impl_->log_queue.Stop();
  if (impl_->log_thread.joinable()) impl_->log_thread.join();
  for (std::thread& t : impl_->publish_threads) t.join();
  if (impl_->stream_thread.joinable()) {
    // Cluster mode: what this replica published is answered from the
    // stream; take it in first (bounded: the stream may be unreachable).
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (impl_->stream_taken.load() < impl_->last_published.load() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    impl_->stream_stop.store(true);
    impl_->stream_thread.join();
    // Its forgets' images and trims finish (and answer) first.
    impl_->image_queue.Stop();
    impl_->image_thread.join();
    // Cluster trainings: their install records come from the stream, which
    // is no longer read; the next start trains at the install if needed.
    std::map<uint64_t, std::thread> trainers;
    {
      MutexLock t(&impl_->trainers_mu);
      trainers.swap(impl_->trainers);
    }
    for (auto& [seq, thread] : trainers) thread.join();
    // Callers whose records were published but not taken in.
    std::unordered_map<std::string, RecordWaiter> left;
    {
      MutexLock w(&impl_->waiters_mu);
      left.swap(impl_->waiters);
    }
    const Status closing = Status::Unavailable(
        "the replica shut down before the write came back from the stream; it may have been "
        "stored: retry with the same event_ids");
    for (auto& [origin, waiter] : left) impl_->FailWaiter(&waiter, closing);
  }
  impl_->model_queue.Stop();
  impl_->model_thread.join();
  impl_->MaybePublishDrift();  // the model thread is gone: its state is ours
  Status st = impl_->WriteSnapshotNow(/*force=*/false, "close").status();
  Status flush = impl_->log->Flush();
  if (st.ok()) st = flush;
  if (st.ok()) {
    MutexLock s(&impl_->status_mu);
    if (!impl_->last_error.empty()) st = Status::Internal(impl_->last_error);
  }
  impl_->close_status = st;
  return st;
}

}  // namespace streamrec::storage
