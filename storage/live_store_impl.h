// LiveStore's private state, shared by live_store.cc (the public methods and
// Open/Close) and live_store_threads.cc (the log, model and retrain
// threads). Not part of the storage API.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "engine/live/drift.h"
#include "storage/live_drift.h"
#include "storage/live_store.h"

namespace streamrec::storage {

// Work for the log thread, in arrival order.
struct AppendJob {
  std::vector<NewEvent> events;
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
using LogJob = std::variant<AppendJob, ForgetJob, PutItemJob, DeleteItemJob>;

// Work for the model thread, in log order. Every op but SnapshotOp changes
// both engine copies the same way.
struct ApplyOp {
  std::vector<NewEvent> events;  // seq set; duplicates already dropped
  AppendResult result;           // what the caller is told
  LiveStore::IngestCallback done;
};
struct ForgetOp {
  std::string user;
  uint64_t removed = 0;              // events the log deleted
  std::vector<StoredEvent> events;  // those events, for the engine to take back
  LiveStore::CountCallback done;
};
struct PutMetaOp {
  std::string item;
  engine::ItemMeta meta;
  LiveStore::DoneCallback done;
};
struct RemoveMetaOp {
  std::string item;
  LiveStore::DoneCallback done;
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
};
using ModelOp = std::variant<ApplyOp, ForgetOp, PutMetaOp, RemoveMetaOp, SnapshotOp, InstallOp>;

// A queue drained whole by one consumer thread.
template <typename T>
struct WorkQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<T> items;    // GUARDED_BY(mu)
  bool stopping = false;  // GUARDED_BY(mu): no more pushes; drain and exit

  // False (and `item` untouched) once stopping.
  template <typename U>
  bool Push(U&& item) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return false;
      items.emplace_back(std::forward<U>(item));
    }
    cv.notify_one();
    return true;
  }
  // Waits up to `timeout` for work; returns all of it (empty on timeout).
  // *done is set once stopping and drained.
  std::deque<T> Take(std::chrono::milliseconds timeout, bool* done) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, timeout, [&] { return !items.empty() || stopping; });
    std::deque<T> out;
    out.swap(items);
    *done = out.empty() && stopping;
    return out;
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stopping = true;
    }
    cv.notify_all();
  }
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
  std::thread retrain_thread;  // joined by the next Retrain() or Close()

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
  std::mutex forget_mu;
  uint64_t forget_epoch = 0;  // GUARDED_BY(forget_mu)
  std::mutex close_mu;  // serialises Close() callers
  Status close_status;  // GUARDED_BY(close_mu)

  // Model-thread state, read by status() under status_mu.
  mutable std::mutex status_mu;
  RecoveryResult recovery;  // set before the threads start
  uint64_t snapshot_seq = 0;
  std::chrono::steady_clock::time_point snapshot_time;
  bool have_snapshot = false;
  uint64_t snapshots_written = 0;
  // Set by a forget (snapshots dropped): when the coalesced snapshot is due.
  std::optional<std::chrono::steady_clock::time_point> forget_snapshot_due;
  RetrainStatus retrain;
  std::string last_error;        // the model thread's newest failure, if any
  LiveDriftStatus drift_status;  // the newest published drift report

  // Model-thread state (seeded by Open before the thread starts); null
  // when drift is disabled.
  std::unique_ptr<LiveDrift> drift;

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
               std::vector<std::string>* items, uint64_t* epoch);

  // Model thread helpers.
  void ApplyEvents(std::vector<ApplyOp>* run);
  void RunOp(ModelOp* op);
  // Snapshot of the published engine unless it is already stored (or
  // `force`). Returns the stored snapshot's seq.
  StatusOr<uint64_t> WriteSnapshotNow(bool force);
  void MaybeSnapshot();
  // Publishes drift's report to drift_status if one is due.
  void MaybePublishDrift();
  void NoteError(const Status& s);
};

}  // namespace streamrec::storage
