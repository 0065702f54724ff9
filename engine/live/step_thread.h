// StepThread: the live model thread's long runs of events on two threads,
// bit-identical to Recommender::Apply event by event.
//
// Apply is two parts (LookaheadApplier, ReplayPipeline): the front
// (validation, ids, catalog, seen items: Recommender::IndexLeading) and
// the step (Recommender::Step: the learner's update of the rows, then the
// upkeep of the int8 mirror or IVF index, popularity and counts). Under
// kImplicit nothing a step reads is written by a front: the step reads the
// model, the updater and the event's indices, and its upkeep the model and
// the updater (its probe sample tells cold users by the updater's history,
// not the seen lists); a front writes the ids, the catalog, the seen lists
// and the leader's list of indices for its follower, which no step reads.
// So the caller's thread runs each event's front at once and hands the
// resolved event to this object's thread (`sr-step`), which steps them in
// the caller's order: the same steps on the same rows as Apply, with the
// fronts run earlier. LookaheadApplier runs them earlier on one thread;
// here they run beside the steps, on the second core, and the model
// thread's run takes the steps' time instead of the sum of both.
//
// Unlike ReplayPipeline's, a step here keeps the index up as Apply does
// (popularity and counts run after the learner, on the step's thread, not
// with the front): nothing has to wait for the end of a replay, and a run
// may be published as soon as Finish returns.
//
// Only under kImplicit and where a second core exists (split()); otherwise
// Apply is Recommender::Apply, event by event. kBpr's step reads the seen
// lists (its negatives) and kRating's is cheaper than a hand-over.
//
// Thread-safety: one caller. Between Begin and Finish the recommender may
// be used by nothing but this object; after Finish it is whole, and the
// steps' writes happen before Finish returns.
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

class StepThread {
 public:
  // Starts the step thread where a second core exists.
  StepThread();
  ~StepThread();  // no run may be open
  StepThread(const StepThread&) = delete;
  StepThread& operator=(const StepThread&) = delete;

  // Whether runs under kImplicit split (a thread is running).
  bool split() const { return thread_.joinable(); }

  // A run on `rec` (the leader copy: Recommender::IndexLeading notes the
  // indices for its follower), which must outlive Finish.
  void Begin(Recommender* rec);
  // Recommender::Apply: a validation error is returned at once and nothing
  // of the event is applied; otherwise the front is done now and the step
  // queued (done by Finish at the latest). The event's ids are not kept.
  Status Apply(const Event& e);
  // Waits for every queued step: the recommender is whole again.
  void Finish();
  // The open run's recommender: only what no step writes may be read
  // through it before Finish (its options and event types).
  const Recommender& recommender() const { return *rec_; }

  // Resolved events handed over at a time: small enough that the step
  // thread starts soon after a run does, large enough that the hand-over
  // (a lock, a wake-up) is a small share of the steps' time.
  static constexpr size_t kBatch = 64;
  // The shortest run worth splitting: a run shorter than two hand-overs
  // steps mostly after its fronts, and a single event would wait for a
  // thread's wake-up (LiveStore applies shorter runs through a
  // LookaheadApplier).
  static constexpr size_t kMinRun = 2 * kBatch;

 private:
  struct Batch {
    Recommender* rec = nullptr;
    std::vector<IndexedEvent> events;
  };

  void Hand();
  void Loop();

  Recommender* rec_ = nullptr;         // the open run's; the caller's thread only
  bool splitting_ = false;             // the open run's events go to the thread
  std::vector<IndexedEvent> filling_;  // the caller's thread only
  Mutex mu_;
  CondVar changed_;
  std::deque<Batch> queue_ GUARDED_BY(mu_);
  std::vector<std::vector<IndexedEvent>> spare_ GUARDED_BY(mu_);  // stepped, for reuse
  size_t unfinished_ GUARDED_BY(mu_) = 0;  // batches handed and not yet stepped
  bool closing_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace streamrec::engine
