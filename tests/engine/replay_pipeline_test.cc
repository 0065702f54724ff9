#include "engine/live/replay_pipeline.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "engine/core/random.h"
#include "engine/live/snapshot.h"

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

}  // namespace
}  // namespace streamrec::engine
