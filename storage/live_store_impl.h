// LiveStore's private state, shared by live_store.cc (the public methods and
// Open/Close) and live_store_threads.cc (the log, model and retrain
// threads). Not part of the storage API.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <variant>

#include "engine/core/mutex.h"
#include "engine/live/drift.h"
#include "engine/live/step_thread.h"
#include "storage/live_drift.h"
#include "storage/live_store.h"
#include "storage/memory_release.h"
#include "storage/stream_record.h"

namespace streamrec::storage {

// How long the store's threads sleep with nothing to do before they look
// at their timers (snapshots, drift).
inline constexpr std::chrono::milliseconds kIdleWake{500};

// Cluster mode: the pause before retrying what the stream or the local log
// refused (a full disk, an unreachable stream).
inline constexpr std::chrono::milliseconds kRetryPause{500};

// std::visit over the job and op variants with one lambda per alternative.
template <typename... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <typename... F>
Overloaded(F...) -> Overloaded<F...>;

// Work for the log thread, in arrival order.
struct AppendJob {
  std::vector<StoredEvent> events;
  LiveStore::IngestCallback done;
};
struct ForgetJob {
  std::string user;
  LiveStore::CountCallback done;
};
struct PutItemJob {
  std::string item;
  engine::ItemMeta meta;
  LiveStore::DoneCallback done;
};
struct DeleteItemJob {
  std::string item;
  LiveStore::DoneCallback done;
};
// Cluster mode only: a retrain, published as a record (section 10).
struct RetrainJob {
  LiveStore::DoneCallback done;
};
using LogJob = std::variant<AppendJob, ForgetJob, PutItemJob, DeleteItemJob, RetrainJob>;

// Work for the model thread, in log order. Every op but SnapshotOp changes
// both engine copies the same way.
// stream_seq (cluster mode): the stream message the op came from, 0
// otherwise.
struct ApplyOp {
  std::vector<StoredEvent> events;  // seq set; duplicates already dropped
  AppendResult result;              // what the caller is told
  LiveStore::IngestCallback done;
  uint64_t stream_seq = 0;
  // Whether the events count in pending_events (false for another
  // replica's events, taken in from the stream).
  bool pending = true;
};
struct ForgetOp {
  std::string user;
  uint64_t removed = 0;             // events the log deleted
  std::vector<StoredEvent> events;  // those events, for the engine to take back
  LiveStore::CountCallback done;
  uint64_t stream_seq = 0;
  // Cluster mode: instead of answering `done`, the model thread forgets,
  // writes a snapshot, and sets this to its seq; the stream thread then
  // deletes the events from the log (keeping that snapshot) and answers.
  std::shared_ptr<std::promise<StatusOr<uint64_t>>> snapshotted = nullptr;
  // The log's user_deletes() after this delete: once the model has
  // forgotten the user, snapshots are stored again (EventLog::PutSnapshot).
  uint64_t log_deletes = 0;
};
struct PutMetaOp {
  std::string item;
  engine::ItemMeta meta;
  LiveStore::DoneCallback done;
  uint64_t stream_seq = 0;
};
struct RemoveMetaOp {
  std::string item;
  LiveStore::DoneCallback done;
  uint64_t stream_seq = 0;
};
struct SnapshotOp {
  LiveStore::CountCallback done;
};
struct InstallOp {
  engine::MFModel model;
  RetrainStatus outcome;  // filled in by the retrain thread
  // The drift reference of the data it trained on (drift enabled and built
  // without error), or why it could not be built.
  std::optional<engine::DriftReference> drift_reference;
  std::string drift_error;
  // Single process: `model` once it has caught up with the events applied
  // while it trained (LiveStore::Impl::CatchUpStep), and whether events
  // were applied after the catch-up began; unset, the install steps them
  // itself (cluster mode: every replica installs at the same record).
  std::optional<engine::Recommender::PendingInstall> caught_up;
  bool applied_since = false;
};
// Only wakes the model thread (a Read started waiting for a seq).
struct WakeOp {};
// A read of state only the writer may read (LiveStore::ReadOnWriterAsync).
struct WriterReadOp {
  LiveStore::WriterReadCallback read;
};
// Cluster mode: a retrain record (start training in the background on the
// state as of here) and an install record (install that training's model
// here, training it now if this replica has not).
struct RetrainStartOp {
  uint64_t stream_seq = 0;  // the retrain record's
  LiveStore::DoneCallback done;
};
struct InstallAtOp {
  InstallInfo info;
  bool voided = false;  // a forget record came between the retrain and here
  uint64_t stream_seq = 0;
  std::shared_ptr<std::promise<void>> installed;  // set once done (the stream thread waits)
};
using ModelOp = std::variant<ApplyOp, ForgetOp, PutMetaOp, RemoveMetaOp, SnapshotOp, InstallOp,
                             WakeOp, RetrainStartOp, InstallAtOp, WriterReadOp>;

// A queue drained whole by one consumer thread at a time (cluster mode's
// publish threads share the log queue: each takes what is there).
template <typename T>
struct WorkQueue {
  Mutex mu;
  CondVar cv;
  std::deque<T> items GUARDED_BY(mu);
  bool stopping GUARDED_BY(mu) = false;  // no more pushes; drain and exit

  // False (and `item` untouched) once stopping.
  template <typename U>
  bool Push(U&& item) {
    {
      MutexLock lock(&mu);
      if (stopping) return false;
      items.emplace_back(std::forward<U>(item));
    }
    cv.Signal();
    return true;
  }
  // Waits up to `timeout` for work; returns all of it (empty on timeout).
  // *done is set once stopping and drained.
  std::deque<T> Take(std::chrono::milliseconds timeout, bool* done) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    MutexLock lock(&mu);
    while (items.empty() && !stopping) {
      if (!cv.WaitUntil(&mu, deadline)) break;  // timed out
    }
    std::deque<T> out;
    out.swap(items);
    *done = out.empty() && stopping;
    return out;
  }
  void Stop() {
    {
      MutexLock lock(&mu);
      stopping = true;
    }
    cv.SignalAll();
  }
};

// Cluster mode: the callers waiting for a record this replica published,
// answered when the stream thread takes the record in (or the append
// fails).
struct RecordWaiter {
  std::vector<LiveStore::IngestCallback> ingest;  // per batch of an events record
  std::vector<uint64_t> batch_events;             // their sizes, for pending_events
  std::vector<IdAdmission::Ticket> tickets;       // per batch, with caps on new ids
  LiveStore::CountCallback forget;
  LiveStore::DoneCallback done;  // put or delete item
  // An events record stored in the stream (at stream_seq) whose callers
  // are answered Unavailable if it is not taken in by then
  // (AnswerLateRecords); max until the stream has it, and once answered.
  std::chrono::steady_clock::time_point take_in_deadline =
      std::chrono::steady_clock::time_point::max();
  uint64_t stream_seq = 0;
};

// A Read waiting for a seq (WaitForSeqAsync).
struct SeqWaiter {
  uint64_t seq = 0;
  std::chrono::steady_clock::time_point deadline;
  LiveStore::DoneCallback done;
};

struct LiveStore::Impl {
  LiveStoreOptions options;
  engine::RecommenderOptions engine_options;
  std::unique_ptr<engine::EventTypes> types;  // a copy for validation and retrains
  std::unique_ptr<EventLog> log;
  std::unique_ptr<engine::LeftRight<Replica>> replicas;
  // A Recommender used only to validate (it holds options and types; its
  // state stays empty), so validation never touches a replica.
  std::unique_ptr<engine::Recommender> validator;

  WorkQueue<LogJob> log_queue;
  WorkQueue<ModelOp> model_queue;
  std::thread log_thread;
  std::thread model_thread;
  // The model thread's: the steps of its long runs (StepThread::kMinRun
  // events or more) on the second core; made at the first such run, ended
  // with the model thread.
  std::unique_ptr<engine::StepThread> step_thread;
  std::thread retrain_thread;  // joined by the next Retrain() or Close()
  // Gives freed heap back to the system (started by Open, stopped first by
  // Close; status() reads it at any time).
  std::unique_ptr<MemoryReleaser> memory;

  // Log-thread state: the caps on new ids; null when there are none.
  std::unique_ptr<IdAdmission> admission;

  std::atomic<uint64_t> pending_events{0};
  std::atomic<bool> closed{false};
  std::atomic<bool> retrain_running{false};
  // Orders forgets against retrains: the log thread adds 1 before
  // DeleteUser and 1 after pushing the ForgetOp (odd: a delete is under
  // way). A retrain queues its install only if the count is what it was,
  // and even, when it read the ids; otherwise the model may have learnt
  // from deleted events and is trained again (RunRetrain).
  Mutex forget_mu;
  uint64_t forget_epoch GUARDED_BY(forget_mu) = 0;
  Mutex close_mu;  // serialises Close() callers
  Status close_status GUARDED_BY(close_mu);

  // Model-thread state, read by status() under status_mu.
  mutable Mutex status_mu;
  RecoveryResult recovery;  // set before the threads start
  uint64_t snapshot_seq GUARDED_BY(status_mu) = 0;
  std::chrono::steady_clock::time_point snapshot_time GUARDED_BY(status_mu);
  bool have_snapshot GUARDED_BY(status_mu) = false;
  uint64_t snapshots_written GUARDED_BY(status_mu) = 0;
  // Set by a forget (snapshots dropped): when the coalesced snapshot is due.
  std::optional<std::chrono::steady_clock::time_point> forget_snapshot_due GUARDED_BY(status_mu);
  RetrainStatus retrain GUARDED_BY(status_mu);
  std::deque<RetrainStatus> retrain_history GUARDED_BY(status_mu);
  std::deque<SnapshotRecord> snapshot_history GUARDED_BY(status_mu);
  // A scheduled snapshot's write to the log (MaybeSnapshot): the model
  // thread encodes it, then this thread stores it, so events wait only for
  // the encoding (at 500k users the write took ~5 s of 6). One at a time;
  // started and joined by the model thread only (and by Close once that
  // thread is gone). Anything that needs the stored snapshots settled (a
  // synchronous snapshot, a forget dropping them) joins it first.
  std::thread snapshot_writer;
  // Model thread only: the log's user deletes (EventLog::user_deletes())
  // the model has forgotten; a snapshot is encoded with it.
  uint64_t log_deletes_applied = 0;
  std::atomic<bool> snapshot_writing{false};  // set until its write is noted
  void JoinSnapshotWriter();
  // Records a stored snapshot: its seq and time, the history.
  void NoteSnapshot(uint64_t seq, std::chrono::steady_clock::time_point started,
                    double encode_seconds, std::string_view reason) EXCLUDES(status_mu);
  // Marks `retrain` started (state, runs, clears the last run's fields) or
  // finished (state and error from `st`; joins the history).
  void StartRetrainLocked() REQUIRES(status_mu);
  void FinishRetrainLocked(const Status& st) REQUIRES(status_mu);
  std::string last_error GUARDED_BY(status_mu);        // the model thread's newest failure, if any
  LiveDriftStatus drift_status GUARDED_BY(status_mu);  // the newest published drift report

  // Model-thread state (seeded by Open before the thread starts); null
  // when drift is disabled.
  std::unique_ptr<LiveDrift> drift;

  // Reads waiting for a seq, answered by the model thread.
  Mutex seq_waiters_mu;
  std::vector<SeqWaiter> seq_waiters GUARDED_BY(seq_waiters_mu);
  // Answers the waiters whose seq is visible, and (check_deadlines) those
  // past their deadline, or (expire_all: closing) all the others, with
  // Unavailable.
  void AnswerSeqWaiters(bool check_deadlines, bool expire_all = false) EXCLUDES(seq_waiters_mu);

  // ---- cluster mode (live_store_cluster*.cc); stream null otherwise ----
  ReplicatedLog* stream = nullptr;  // options.cluster
  std::thread stream_thread;        // takes the stream in (StreamLoop)
  std::atomic<bool> stream_stop{false};
  // This process's prefix of record ids (random per Open, so ids never
  // repeat across restarts or replicas) and the next record's number.
  std::string record_prefix;
  std::atomic<uint64_t> next_record{0};
  uint64_t config_fingerprint = 0;             // ConfigFingerprint, stamped on every record
  std::atomic<uint64_t> config_mismatches{0};  // records from replicas configured otherwise
  // More publish threads than the log thread they replace: a publish waits
  // for the stream's replicas (a round trip or two), so one thread would
  // cap single-event writes at one record per round trip.
  static constexpr int kPublishThreads = 4;
  std::vector<std::thread> publish_threads;
  Mutex waiters_mu;
  std::unordered_map<std::string, RecordWaiter> waiters GUARDED_BY(waiters_mu);
  // The caps on new ids are checked when a record is published and
  // committed when it is taken in: two threads.
  Mutex admission_mu;
  std::atomic<uint64_t> stream_taken{0};     // newest message in the local log
  std::atomic<uint64_t> stream_last_seq{0};  // the stream's newest, as last read
  std::atomic<uint64_t> last_published{0};   // newest seq this replica appended
  std::atomic<uint64_t> records_published{0};
  std::atomic<uint64_t> publish_failures{0};
  std::string stream_error GUARDED_BY(status_mu);
  // The stream thread's retrain bookkeeping (mirrors the log's).
  ClusterState cluster_state;
  // Background trainings, by the stream seq of their retrain record, and
  // what each produced; a newer retrain record supersedes an older one
  // (its install record is then ignored by every replica).
  Mutex trainers_mu;
  std::map<uint64_t, std::thread> trainers GUARDED_BY(trainers_mu);
  std::map<uint64_t, StatusOr<InstallOp>> trained GUARDED_BY(trainers_mu);
  // Trainings still reading the local log: a forget waits for them, so a
  // training installed before the forget read every event it should.
  std::atomic<int> trainings_reading{0};
  // A retrain thread: trains as `info` says and publishes the install
  // record (the first replica's is stored; the others' are duplicates).
  void ClusterTrain(InstallInfo info, std::vector<std::string> users,
                    std::vector<std::string> items, RetrainStatus outcome);
  void RunClusterOp(ModelOp* op);  // RetrainStartOp, InstallAtOp

  // Images and trims (section 10): once this replica's forget record F is
  // taken in, the image thread stores an image of the local log (at some
  // P >= F), drops older images and trims the stream through F, and only
  // then answers the DELETE. A trim that failed is tried again every
  // kTrimRetry until it succeeds; a forget record any replica sees left in
  // the stream for kTrimTakeover (its replica died before trimming) is
  // trimmed by that replica.
  struct ImageJob {
    uint64_t forget_seq = 0;
    StatusOr<uint64_t> removed;
    LiveStore::CountCallback done;
    // A DELETE of an unknown user: trims forget_seq (an earlier forget)
    // only if the stream still holds it.
    bool if_untrimmed = false;
  };
  static constexpr std::chrono::seconds kTrimRetry{5};
  static constexpr std::chrono::seconds kTrimTakeover{30};
  // How long a trim waits for the running replicas to be handed the
  // messages it removes.
  static constexpr std::chrono::seconds kTrimWaitForReaders{5};
  WorkQueue<ImageJob> image_queue;
  std::thread image_thread;
  std::string dir;  // the local log's directory (images are written beside it)
  void ImageLoop();
  // An image at or after `through`, older images dropped, the stream
  // trimmed through `through`.
  Status ImageAndTrim(uint64_t through) EXCLUDES(status_mu);
  // Answers this replica's forget record, taken in at stream seq `seq`
  // (`previous_forget`: the forget record before it, 0 if none): a forget
  // that removed events goes through the image thread first.
  void AnswerForget(RecordWaiter* w, StatusOr<uint64_t> removed, uint64_t seq,
                    uint64_t previous_forget);
  // Set when the stream was trimmed past this replica's position: it
  // cannot go on and must restart (loading an image). Writes then fail
  // fast.
  std::atomic<bool> behind_trim{false};
  void StopBehindTrim() EXCLUDES(waiters_mu);
  static Status BehindTrimError();
  ImageStatus images GUARDED_BY(status_mu);

  // The log thread in cluster mode: publishes queued writes, one record per
  // run of appends (up to the stream's message size) or per other write.
  void PublishLoop();
  void PublishRecord(StreamRecord record, RecordWaiter waiter);
  // The stream thread: reads the stream from the local log's position on,
  // writes each message into the local log and queues it for the model
  // thread.
  void StreamLoop();
  // One message; false if the local log could not take it (retry it).
  bool TakeIn(const StreamMessage& m);
  std::optional<RecordWaiter> TakeWaiter(const std::string& origin) EXCLUDES(waiters_mu);
  // Answers Unavailable the callers of each events record stored in the
  // stream but not taken in by its take_in_deadline. The record stays
  // registered, with callbacks that do nothing: taken in later, it is
  // applied and counted as usual. The model thread calls it on each wake.
  void AnswerLateRecords() EXCLUDES(waiters_mu);
  // Answers every caller of `w` with `st` (a record that failed to publish,
  // or was never taken in before Close), giving back its pending events
  // and the ids its caps held.
  void FailWaiter(RecordWaiter* w, const Status& st) EXCLUDES(admission_mu);
  // Moves the replica's stream position past message `seq` through the
  // model thread, for a message that changes nothing.
  void MarkTaken(uint64_t seq);
  void NoteStreamError(const Status& s) EXCLUDES(status_mu);

  void LogLoop();
  void ModelLoop();
  // The retrain thread: trains on the log through `through_seq` with the
  // serving ids `users`/`items` read at forget epoch `epoch`, and queues the
  // install; if a user was forgotten meanwhile, reads the ids again and
  // retrains (up to kRetrainAttempts times, then fails).
  static constexpr int kRetrainAttempts = 5;
  void RunRetrain(uint64_t through_seq, std::vector<std::string> users,
                  std::vector<std::string> items, uint64_t epoch);
  // One training run; the InstallOp to queue, or the failure.
  StatusOr<InstallOp> TrainOnce(uint64_t through_seq, std::vector<std::string> users,
                                std::vector<std::string> items, RetrainStatus outcome);
  // The published ids, their seq and the forget epoch, read together.
  void ReadIds(uint64_t* through_seq, std::vector<std::string>* users,
               std::vector<std::string>* items, uint64_t* epoch) EXCLUDES(forget_mu);

  // A retrained model catching up, single process (docs/DESIGN.md section
  // 7): between live runs the model thread steps it with the events
  // applied while it trained, a chunk at a time, each live run joining
  // the tail, and installs it once the tail is short. Writes are never held
  // for the whole tail (an install that stepped it at once held them ~50 s
  // after a 200 s training under ingest at 500k x 100k). Model thread only.
  struct CatchUpState {
    InstallOp install;         // its model moved into install.caught_up
    uint64_t next_seq = 0;     // the first log seq not yet stepped
    uint64_t live_events = 0;  // applied since the last chunk
  };
  std::optional<CatchUpState> catch_up;
  // Smallest and largest chunk of the tail stepped between two live runs
  // (a chunk is twice the events the live runs applied since the last,
  // so the tail shrinks by at least their count each time), and the tail
  // installed at once.
  static constexpr uint64_t kMinCatchUpChunk = 4096;
  static constexpr uint64_t kMaxCatchUpChunk = 65536;
  // The log's events with seqs in [from, through] (*stored) and their
  // engine events of known types (*events, pointing into *stored): what a
  // retrained model steps again, in a catch-up's chunk or a whole install.
  Status ReadTail(uint64_t from, uint64_t through, std::vector<StoredEvent>* stored,
                  std::vector<engine::Event>* events);
  // From the InstallOp the retrain thread queued.
  void BeginCatchUp(InstallOp* op);
  // Steps the next chunk; installs (RunOp) once the rest fits in one, or
  // at once if `finish` (a forget comes next, or the store is closing).
  void CatchUpStep(bool finish);

  // Model thread helpers.
  void ApplyEvents(std::vector<ApplyOp>* run);
  // Makes the standby copy the one readers see, after taking what its
  // readers read of the shared implicit updater as of now
  // (Recommender::PrepareForReaders). Every Publish goes through here.
  void PublishStandby();
  void RunOp(ModelOp* op);
  // Snapshot of the published engine unless it is already stored (or
  // `force`). Returns the stored snapshot's seq.
  // `reason` names it in the snapshot history (SnapshotRecord::reason).
  StatusOr<uint64_t> WriteSnapshotNow(bool force, std::string_view reason) EXCLUDES(status_mu);
  void MaybeSnapshot() EXCLUDES(status_mu);
  // Publishes drift's report to drift_status if one is due.
  void MaybePublishDrift() EXCLUDES(status_mu);
  void NoteError(const Status& s) EXCLUDES(status_mu);
};

}  // namespace streamrec::storage
