// LookaheadApplier: Recommender::Apply over a run of events (the live
// model thread's runs, storage/live_store_threads.cc), bit-identical to
// Apply event by event, with each model step's memory fetched while the
// steps before it run.
//
// The events' reads are chains of cache misses at 500k users, which Apply
// takes one after another: an event's ids (IdMap's slot, then the page of
// ids it names), then its step's (the user's history, the item's, the
// factor rows both name: 32 picked users for an item). Here each event
// waits in a window of kWindow: while the events before it are stepped, it
// is hinted one link of its id lookups per event (IdMap::Prefetch), then
// its front runs (validation, ids, catalog, seen items: Recommender's
// Index) kAhead events before its step, and it is hinted one link of its
// step's reads per event (Recommender::PrefetchLearn), as the replay's model
// thread does (ReplayPipeline). Steps, and the rest of Apply after each
// (popularity, counts, the int8 mirror or IVF cell), run in the caller's
// order, on the caller's thread.
//
// Why it is Apply, bit for bit: nothing an implicit step or the index
// upkeep after it reads is written by a front. The step reads the model,
// the updater and the event's indices; the upkeep reads the model and the
// updater (its probe sample tells cold users by the updater's history, not
// the seen lists: recommender_index.cc). A front writes the ids, catalog
// and seen lists, which neither reads. Under kBpr (the step draws
// negatives against the seen lists) and kRating there is no lookahead:
// Apply runs at once.
//
// Between Finish and the next Apply the recommender is whole; in between,
// the last events' fronts are done and their steps are not, so nothing may
// read it then (the model thread publishes after Finish).
//
// Thread-safety: one caller, the recommender's writer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "engine/core/event.h"
#include "engine/core/id_map.h"
#include "engine/core/status.h"
#include "engine/live/recommender.h"

namespace streamrec::engine {

class LookaheadApplier {
 public:
  // `rec` must outlive the applier. As a leader (Recommender::Apply): for
  // a follower there is nothing to fetch (ApplyFollowing copies the rows).
  explicit LookaheadApplier(Recommender* rec);
  ~LookaheadApplier();  // Finish
  LookaheadApplier(const LookaheadApplier&) = delete;
  LookaheadApplier& operator=(const LookaheadApplier&) = delete;

  // Recommender::Apply: a validation error is returned at once and nothing
  // of the event is applied; otherwise the event is applied in its turn,
  // at the latest by Finish. The ids `e` views must stay valid until then.
  Status Apply(const Event& e);
  // Applies every event still waiting: the recommender is whole again.
  void Finish();
  const Recommender& recommender() const { return *rec_; }

  // Events whose front runs ahead of the step (one stage of the step's
  // chain of reads each: ImplicitOnlineUpdater::Prefetch), and the window:
  // those, the one stepped, and one per stage of an id lookup.
  static constexpr size_t kAhead = Recommender::kLearnStages;
  static constexpr size_t kWindow = kAhead + 1 + IdMap::kPrefetchStages;

 private:
  struct Waiting {
    Event e;         // as given (its ids until indexed)
    IndexedEvent x;  // once indexed
  };
  Waiting& at(size_t n) { return waiting_[(first_ + n) % kWindow]; }
  // Indexes the events up to the kAhead-th, hints the others, steps the
  // oldest.
  void StepOldest();

  Recommender* const rec_;
  const bool ahead_;  // a window under this objective (kImplicit)
  // The waiting events, oldest at first_: the first indexed_ of them
  // indexed (at most kAhead + 1), the others not yet.
  std::array<Waiting, kWindow> waiting_{};
  size_t first_ = 0;
  size_t count_ = 0;
  size_t indexed_ = 0;
};

}  // namespace streamrec::engine
