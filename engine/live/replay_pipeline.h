// ReplayPipeline: a replay of many events into a fresh recommender
// (storage's recovery from the log alone) on two threads, bit-identical to
// Recommender::Apply event by event.
//
// Apply is two parts that share no state: the front (validation, ids,
// catalog, seen items, popularity, counts) and the model step (the learner
// and the factors it moves). The caller's thread runs the front of each
// event and queues the resolved event; a second thread runs the model steps
// in the same order. Nothing a step reads is written by a front, and the
// order of the steps is the log's, so the factors, the learner's state and
// everything else end as Apply would leave them (recovery_test.cc compares
// the snapshots bit for bit). At 5M events the model step is about two
// thirds of Apply (ImplicitOnlineUpdater), so on two cores a replay runs
// at the model step's speed instead of the sum of both.
//
// Only inside BeginReplay / EndReplay: there Apply's last part, the upkeep of
// the int8 mirror or IVF index (which reads the factors), waits for
// EndReplay, and that is what lets the front run ahead of the model. Event
// by event in the caller's thread instead (no second thread): outside a
// replay, under kBpr (its negatives are drawn against the seen lists the
// front writes), and on a machine with one core.
//
// Thread-safety: one caller. The recommender may not be used otherwise
// between construction and Finish.
#pragma once

#include <cstddef>
#include <deque>
#include <thread>
#include <vector>

#include "engine/core/event.h"
#include "engine/core/mutex.h"
#include "engine/core/status.h"
#include "engine/core/thread_annotations.h"
#include "engine/live/recommender.h"

namespace streamrec::engine {

class ReplayPipeline {
 public:
  // `rec` must outlive the pipeline.
  explicit ReplayPipeline(Recommender* rec);
  ~ReplayPipeline();  // Finish
  ReplayPipeline(const ReplayPipeline&) = delete;
  ReplayPipeline& operator=(const ReplayPipeline&) = delete;

  // Recommender::Apply: a validation error is returned at once and nothing
  // of the event is applied; otherwise its front is done and its model
  // step is queued (done by Finish at the latest).
  Status Apply(const Event& e);
  // Waits for every queued model step and ends the second thread: the
  // recommender is whole again. Later Applies run event by event.
  void Finish();
  // Whether the model steps run on a thread of their own.
  bool split() const { return thread_.joinable(); }
  const Recommender& recommender() const { return *rec_; }

 private:
  // Resolved events handed over at a time, and how many batches may wait
  // (a bound on the front's lead: ~1 MB).
  static constexpr size_t kBatch = 4096;
  static constexpr size_t kMaxQueued = 8;

  // A resolved event and the events applied before it (Learn's ordinal:
  // the front's count runs ahead of the steps).
  struct Step {
    IndexedEvent x;
    uint64_t ordinal;
  };

  void Hand(std::vector<Step> batch);
  void ModelLoop();

  Recommender* const rec_;
  std::vector<Step> filling_;  // the caller's thread only
  Mutex mu_;
  CondVar changed_;
  std::deque<std::vector<Step>> queue_ GUARDED_BY(mu_);
  std::vector<std::vector<Step>> spare_ GUARDED_BY(mu_);  // stepped, for reuse
  bool closing_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace streamrec::engine
