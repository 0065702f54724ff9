// The ways a run of events is applied faster than Apply one at a time, all
// bit-identical to it: ReplayPipeline (a replay, on two threads),
// LookaheadApplier (the live model thread's short runs, memory fetched
// ahead) and StepThread (its long runs, the steps on a second thread).
#include "engine/live/replay_pipeline.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/random.h"
#include "engine/live/lookahead_applier.h"
#include "engine/live/snapshot.h"
#include "engine/live/step_thread.h"

namespace streamrec::engine {
namespace {

struct OwnedEvent {
  std::string user, item;
  EventTypeId type = 0;
  float value = 0.0f;
  int64_t ts_ms = 0;
  Event view() const { return {user, item, type, value, ts_ms}; }
};

// A seeded stream of mixed types over 300 users and 200 items: more than
// three of the pipeline's batches, so whole batches and a partial one are
// handed over.
std::vector<OwnedEvent> Stream(const EventTypes& types, size_t n) {
  SplitMix64 rng(7);
  const char* names[] = {"view", "click", "cart", "purchase", "rating"};
  std::vector<OwnedEvent> out;
  for (size_t k = 0; k < n; ++k) {
    const std::string_view name = names[rng.Uniform(5)];
    out.push_back({fmt::format("u{}", rng.Uniform(300)), fmt::format("i{}", rng.Uniform(200)),
                   *types.Find(name),
                   name == "rating" ? static_cast<float>(1 + rng.Uniform(5)) : 0.0f,
                   1'700'000'000'000 + static_cast<int64_t>(k) * 1000});
  }
  return out;
}

RecommenderOptions Options(Objective objective) {
  RecommenderOptions o;
  o.objective = objective;
  o.model.rank = 8;
  o.learner.fold_in_max_events = 5;
  // The index is kept from 100 items on, so EndReplay builds one.
  o.topn.method = TopNMethod::kIvf;
  return o;
}

TEST(ReplayPipelineTest, SplitReplayEqualsApplyEventByEventBitForBit) {
  const EventTypes types = EventTypes::Defaults();
  const auto events = Stream(types, 3 * 4096 + 17);
  for (Objective objective : {Objective::kRating, Objective::kImplicit}) {
    SCOPED_TRACE(ObjectiveName(objective));
    Recommender one_by_one(Options(objective), types);
    one_by_one.BeginReplay();
    for (const OwnedEvent& e : events) ASSERT_TRUE(one_by_one.Apply(e.view()).ok());
    one_by_one.EndReplay();

    Recommender split(Options(objective), types);
    split.BeginReplay();
    {
      ReplayPipeline pipeline(&split);
      EXPECT_EQ(pipeline.split(), std::thread::hardware_concurrency() > 1);
      for (const OwnedEvent& e : events) ASSERT_TRUE(pipeline.Apply(e.view()).ok());
      pipeline.Finish();
    }
    split.EndReplay();
    EXPECT_EQ(split.events_applied(), events.size());
    EXPECT_TRUE(EncodeSnapshot(split) == EncodeSnapshot(one_by_one))
        << "the split replay differs from Apply event by event";
    // The index EndReplay built reads the same rows.
    RecommendRequest req;
    req.n = 10;
    const auto a = split.RecommendForUser("u1", req);
    const auto b = one_by_one.RecommendForUser("u1", req);
    ASSERT_EQ(a.items.size(), b.items.size());
    for (size_t k = 0; k < a.items.size(); ++k) {
      EXPECT_EQ(a.items[k].item, b.items[k].item);
      EXPECT_EQ(a.items[k].score, b.items[k].score);
    }
  }
}

TEST(ReplayPipelineTest, RunsEventByEventOutsideAReplayAndUnderBpr) {
  const EventTypes types = EventTypes::Defaults();
  Recommender live(Options(Objective::kImplicit), types);
  EXPECT_FALSE(ReplayPipeline(&live).split());  // no BeginReplay: the index is kept up per event
  Recommender bpr(Options(Objective::kBpr), types);
  bpr.BeginReplay();
  ReplayPipeline pipeline(&bpr);
  EXPECT_FALSE(pipeline.split());  // its negatives are drawn against the seen lists
  const auto events = Stream(types, 50);
  for (const OwnedEvent& e : events) ASSERT_TRUE(pipeline.Apply(e.view()).ok());
  EXPECT_EQ(bpr.events_applied(), 50u);  // applied at once
  pipeline.Finish();
  bpr.EndReplay();
}

TEST(ReplayPipelineTest, AnInvalidEventIsRefusedAtOnceAndNothingOfItApplied) {
  const EventTypes types = EventTypes::Defaults();
  Recommender rec(Options(Objective::kImplicit), types);
  rec.BeginReplay();
  ReplayPipeline pipeline(&rec);
  const auto events = Stream(types, 10);
  for (const OwnedEvent& e : events) ASSERT_TRUE(pipeline.Apply(e.view()).ok());
  const Status st = pipeline.Apply({"new-user", "", *types.Find("view"), 0.0f, 0});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  const Status rating = pipeline.Apply({"other-user", "i1", *types.Find("rating"), 9.0f, 0});
  EXPECT_EQ(rating.code(), StatusCode::kInvalidArgument) << rating.ToString();
  pipeline.Finish();
  rec.EndReplay();
  EXPECT_EQ(rec.events_applied(), 10u);
  EXPECT_FALSE(rec.users().Find("new-user").has_value());
  EXPECT_FALSE(rec.users().Find("other-user").has_value());
  // The queued steps all ran: the model has a row for every user indexed.
  EXPECT_EQ(rec.model().num_users(), rec.users().size());
}

// Events [begin, end) applied to `one_by_one` one at a time and through
// `applier` (a LookaheadApplier, or a StepThread's open run), with an
// invalid event after every 97th, which both must refuse at once.
template <typename Applier>
void ApplyRun(const EventTypes& types, const std::vector<OwnedEvent>& events, size_t begin,
              size_t end, Recommender* one_by_one, Applier* applier) {
  for (size_t n = begin; n < end; ++n) {
    ASSERT_TRUE(one_by_one->Apply(events[n].view()).ok());
    ASSERT_TRUE(applier->Apply(events[n].view()).ok());
    if (n % 97 == 0) {  // refused by both, nothing of it applied
      const std::string user = fmt::format("bad{}", n);
      const Event bad{user, "", *types.Find("view"), 0.0f, 0};
      EXPECT_EQ(applier->Apply(bad).code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(one_by_one->Apply(bad).code(), StatusCode::kInvalidArgument);
    }
  }
}

// Runs of every length around the window's (a run is one LookaheadApplier,
// finished at its end, as the store's model thread applies one), with
// refused events among them, under each objective and with the IVF index
// kept per event (retrained as the catalog grows): the same state as Apply
// one event at a time, bit for bit, after every run.
TEST(LookaheadApplierTest, RunsOfAnyLengthEqualApplyEventByEventBitForBit) {
  const EventTypes types = EventTypes::Defaults();
  const auto events = Stream(types, 3000);
  const size_t lengths[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 100, 250};
  for (Objective objective : {Objective::kImplicit, Objective::kRating, Objective::kBpr}) {
    SCOPED_TRACE(ObjectiveName(objective));
    Recommender one_by_one(Options(objective), types), windowed(Options(objective), types);
    size_t begin = 0;
    for (size_t run = 0; begin < events.size(); ++run) {
      const size_t end = std::min(events.size(), begin + lengths[run % std::size(lengths)]);
      {
        LookaheadApplier applier(&windowed);
        ASSERT_NO_FATAL_FAILURE(ApplyRun(types, events, begin, end, &one_by_one, &applier));
      }
      begin = end;
      if (run % 10 == 9 || begin == events.size()) {
        ASSERT_EQ(windowed.events_applied(), one_by_one.events_applied());
        ASSERT_TRUE(EncodeSnapshot(windowed) == EncodeSnapshot(one_by_one))
            << "after event " << begin;
      }
    }
    EXPECT_EQ(windowed.ivf_index().lists(), one_by_one.ivf_index().lists());
    for (uint32_t i = 0; i < one_by_one.model().num_items(); ++i) {
      ASSERT_EQ(windowed.ivf_index().ListOf(i), one_by_one.ivf_index().ListOf(i)) << i;
    }
    RecommendRequest req;
    req.n = 10;
    const auto a = windowed.RecommendForUser("u1", req);
    const auto b = one_by_one.RecommendForUser("u1", req);
    ASSERT_EQ(a.items.size(), b.items.size());
    for (size_t k = 0; k < a.items.size(); ++k) EXPECT_EQ(a.items[k].item, b.items[k].item);
  }
}

// One StepThread for every run, as the store's model thread keeps one:
// runs shorter than a hand-over, of exactly one and longer, with refused
// events among them, under each objective (kBpr and kRating event by
// event) and with the IVF index kept per event and retrained as the
// catalog grows. The same state as Apply one event at a time, bit for bit.
TEST(StepThreadTest, RunsOfAnyLengthEqualApplyEventByEventBitForBit) {
  const EventTypes types = EventTypes::Defaults();
  const auto events = Stream(types, 3000);
  const size_t k = StepThread::kBatch;
  const size_t lengths[] = {1, 2, k - 1, k, k + 1, 2 * k + 3, 250, 700};
  StepThread steps;
  for (Objective objective : {Objective::kImplicit, Objective::kRating, Objective::kBpr}) {
    SCOPED_TRACE(ObjectiveName(objective));
    Recommender one_by_one(Options(objective), types), split(Options(objective), types);
    size_t begin = 0;
    for (size_t run = 0; begin < events.size(); ++run) {
      const size_t end = std::min(events.size(), begin + lengths[run % std::size(lengths)]);
      steps.Begin(&split);
      ASSERT_NO_FATAL_FAILURE(ApplyRun(types, events, begin, end, &one_by_one, &steps));
      steps.Finish();
      begin = end;
      ASSERT_EQ(split.events_applied(), one_by_one.events_applied());
      ASSERT_EQ(split.model().num_users(), split.users().size());
      if (run % 4 == 3 || begin == events.size()) {
        ASSERT_TRUE(EncodeSnapshot(split) == EncodeSnapshot(one_by_one)) << "after event " << begin;
      }
    }
    EXPECT_EQ(split.ivf_index().lists(), one_by_one.ivf_index().lists());
    for (uint32_t i = 0; i < one_by_one.model().num_items(); ++i) {
      ASSERT_EQ(split.ivf_index().ListOf(i), one_by_one.ivf_index().ListOf(i)) << i;
    }
  }
}

TEST(StepThreadTest, StepsRunOnTheirOwnThreadOnlyUnderImplicit) {
  const EventTypes types = EventTypes::Defaults();
  StepThread steps;
  EXPECT_EQ(steps.split(), std::thread::hardware_concurrency() > 1);
  const auto events = Stream(types, 10);
  // Under bpr each event is applied at once (its step reads the seen lists
  // the next events' fronts write).
  Recommender bpr(Options(Objective::kBpr), types);
  steps.Begin(&bpr);
  ASSERT_TRUE(steps.Apply(events[0].view()).ok());
  EXPECT_EQ(bpr.events_applied(), 1u);
  steps.Finish();
  // Under implicit the steps wait for Finish at the latest; a refused event
  // is answered at once and nothing of it is applied.
  Recommender rec(Options(Objective::kImplicit), types);
  steps.Begin(&rec);
  for (const OwnedEvent& e : events) ASSERT_TRUE(steps.Apply(e.view()).ok());
  EXPECT_EQ(steps.Apply({"new-user", "", *types.Find("view"), 0.0f, 0}).code(),
            StatusCode::kInvalidArgument);
  steps.Finish();
  EXPECT_EQ(rec.events_applied(), events.size());
  EXPECT_FALSE(rec.users().Find("new-user").has_value());
  EXPECT_EQ(rec.model().num_users(), rec.users().size());
}

TEST(LookaheadApplierTest, ImplicitEventsAreAppliedInTheirTurnAndAllByFinish) {
  const EventTypes types = EventTypes::Defaults();
  const auto events = Stream(types, LookaheadApplier::kWindow + 2);
  Recommender rec(Options(Objective::kImplicit), types);
  LookaheadApplier applier(&rec);
  for (size_t n = 0; n + 1 < LookaheadApplier::kWindow; ++n) {
    ASSERT_TRUE(applier.Apply(events[n].view()).ok());
  }
  EXPECT_EQ(rec.events_applied(), 0u);  // waiting in the window
  // The window full: the oldest is applied.
  ASSERT_TRUE(applier.Apply(events[LookaheadApplier::kWindow - 1].view()).ok());
  EXPECT_EQ(rec.events_applied(), 1u);
  // Refused at once, and never applied.
  EXPECT_EQ(applier.Apply({"new-user", "", *types.Find("view"), 0.0f, 0}).code(),
            StatusCode::kInvalidArgument);
  applier.Finish();
  EXPECT_EQ(rec.events_applied(), LookaheadApplier::kWindow);
  EXPECT_FALSE(rec.users().Find("new-user").has_value());
  EXPECT_EQ(rec.model().num_users(), rec.users().size());

  // Under bpr each event is applied at once (its step reads the seen lists
  // the next events' fronts would write).
  Recommender bpr(Options(Objective::kBpr), types);
  LookaheadApplier at_once(&bpr);
  ASSERT_TRUE(at_once.Apply(events[0].view()).ok());
  EXPECT_EQ(bpr.events_applied(), 1u);
}

}  // namespace
}  // namespace streamrec::engine
