#include "engine/eval/prequential.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/core/random.h"

namespace streamrec::engine {
namespace {

using M = PrequentialMethod;

struct LogEvent {
  std::string user, item;
};

// The hand-checked log. K = 2, every event a "view" at the same time, so
// popularity is a plain count (ties: lower item index first, and items are
// indexed in order of first sight: a=0, b=1, c=2). Every user has fewer
// than 3 items when scored, so the online model answers with popular items
// too (cold start).
//
//  #  event     before the event                 judged       top-2         rank
//  1  u1 a      a unknown                        cold item    -
//  2  u2 b      b unknown                        cold item    -
//  3  u2 a      a:1 b:1, u2 has {b}               scored       [a]           1
//  4  u3 b      a:2 b:1, u3 new                   scored       [a, b]        2
//  5  u1 a      u1 has {a}                        repeat       -
//  6  u3 c      c unknown                         cold item    -
//  7  u4 c      a:3 b:2 c:1, u4 new               scored       [a, b]        0
//  8  u1 c      a:3 b:2 c:2, u1 has {a}           scored       [b, c]        2
//
// HR@2   = 3/4 = 0.75
// NDCG@2 = (1 + 1/log2(3) + 0 + 1/log2(3)) / 4 = (1 + 2·0.630930) / 4 = 0.565465
// MRR@2  = (1 + 1/2 + 0 + 1/2) / 4 = 0.5
// Windows of 4 events: events 1-4 score #3, #4 (2 hits of 2) and events
// 5-8 score #7, #8 (1 hit of 2).
const std::vector<LogEvent> kLog = {{"u1", "a"}, {"u2", "b"}, {"u2", "a"}, {"u3", "b"},
                                    {"u1", "a"}, {"u3", "c"}, {"u4", "c"}, {"u1", "c"}};

PrequentialResult RunTinyLog(const PrequentialOptions& o) {
  const EventTypes types = EventTypes::Defaults();
  const EventTypeId view = *types.Find("view");
  RecommenderOptions ro;
  ro.model.rank = 4;
  auto ev = PrequentialEvaluator::Create(ro, types, o);
  EXPECT_TRUE(ev.ok()) << ev.status().ToString();
  for (const LogEvent& e : kLog) {
    EXPECT_TRUE((*ev)->Observe({e.user, e.item, view, 0.0f, 0}).ok());
  }
  return (*ev)->Result();
}

PrequentialOptions TinyOptions() {
  PrequentialOptions o;
  o.k = 2;
  o.window = 4;
  o.retrain_every = 4;
  o.methods = {M::kOnline, M::kRetrained, M::kOnlineRetrained, M::kPopularity, M::kRandom};
  return o;
}

TEST(PrequentialTest, HandCheckedTinyLog) {
  const PrequentialResult r = RunTinyLog(TinyOptions());
  EXPECT_EQ(r.events, 8u);
  EXPECT_EQ(r.cold_items, 3u);
  EXPECT_EQ(r.repeats, 1u);
  EXPECT_EQ(r.eligible, 4u);
  EXPECT_EQ(r.scored, 4u);
  EXPECT_EQ(r.cold_users, 2u);
  EXPECT_EQ(r.retrains, 2u);  // after events 4 and 8
  EXPECT_EQ(r.window_end, (std::vector<uint64_t>{4, 8}));
  ASSERT_EQ(r.methods.size(), 5u);
  // online, both retrained variants and popularity answer with popular
  // items here (cold users, or users with < 3 items at the retrain).
  for (size_t m = 0; m < 4; ++m) {
    const PrequentialMethodResult& x = r.methods[m];
    SCOPED_TRACE(x.name);
    EXPECT_EQ(x.scored, 4u);
    EXPECT_DOUBLE_EQ(x.hit_rate, 0.75);
    EXPECT_NEAR(x.ndcg, (1.0 + 2.0 / std::log2(3.0)) / 4.0, 1e-12);
    EXPECT_NEAR(x.ndcg, 0.565465, 1e-6);
    EXPECT_DOUBLE_EQ(x.mrr, 0.5);
    EXPECT_EQ(x.hr_by_window, (std::vector<double>{1.0, 0.5}));
  }
  EXPECT_EQ(r.methods[0].name, "online");
  EXPECT_EQ(r.methods[2].name, "online+retrain");
  // Random: #3 and #8 have one or two unseen items, all of which fit in
  // K = 2 (always hits); #4 too (a and b); only #7 (2 of a, b, c) may miss.
  const PrequentialMethodResult& rnd = r.methods[4];
  EXPECT_EQ(rnd.name, "random");
  EXPECT_TRUE(rnd.hit_rate == 0.75 || rnd.hit_rate == 1.0) << rnd.hit_rate;
}

TEST(PrequentialTest, RepeatsCanBeScoredAsMisses) {
  PrequentialOptions o = TinyOptions();
  o.skip_repeats = false;
  o.methods = {M::kPopularity};
  const PrequentialResult r = RunTinyLog(o);
  // #5 (u1 a again) is scored too: a is excluded as seen, so a miss.
  EXPECT_EQ(r.repeats, 1u);
  EXPECT_EQ(r.scored, 5u);
  EXPECT_DOUBLE_EQ(r.methods[0].hit_rate, 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(r.methods[0].mrr, 2.0 / 5.0);
}

TEST(PrequentialTest, SamplingScoresEveryNthEligibleEvent) {
  PrequentialOptions o = TinyOptions();
  o.sample_every = 2;
  o.methods = {M::kPopularity};
  const PrequentialResult r = RunTinyLog(o);
  // Eligible #3, #4, #7, #8: the 1st and 3rd are scored, a hit and a miss.
  EXPECT_EQ(r.eligible, 4u);
  EXPECT_EQ(r.scored, 2u);
  EXPECT_DOUBLE_EQ(r.methods[0].hit_rate, 0.5);
  EXPECT_EQ(r.methods[0].hr_by_window, (std::vector<double>{1.0, 0.0}));
}

TEST(PrequentialTest, PartialLastWindowAndEmptyWindows) {
  PrequentialOptions o = TinyOptions();
  o.window = 3;
  o.methods = {M::kPopularity};
  const PrequentialResult r = RunTinyLog(o);
  // Windows 1-3 (#3 hit), 4-6 (#4 hit), 7-8 (#7 miss, #8 hit).
  EXPECT_EQ(r.window_end, (std::vector<uint64_t>{3, 6, 8}));
  EXPECT_EQ(r.methods[0].hr_by_window, (std::vector<double>{1.0, 1.0, 0.5}));
  o.window = 1;
  const PrequentialResult w = RunTinyLog(o);
  ASSERT_EQ(w.methods[0].hr_by_window.size(), 8u);
  EXPECT_TRUE(std::isnan(w.methods[0].hr_by_window[0]));  // #1: nothing scored
  EXPECT_EQ(w.methods[0].hr_by_window[2], 1.0);
}

TEST(PrequentialTest, RejectsBadOptionsAndEvents) {
  const EventTypes types = EventTypes::Defaults();
  PrequentialOptions o;
  o.k = 0;
  EXPECT_FALSE(PrequentialEvaluator::Create({}, types, o).ok());
  o = {};
  o.sample_every = 0;
  EXPECT_FALSE(PrequentialEvaluator::Create({}, types, o).ok());
  o = {};
  o.retrain_every = 0;  // the defaults include "retrained"
  EXPECT_FALSE(PrequentialEvaluator::Create({}, types, o).ok());
  o.methods = {M::kOnline, M::kPopularity};
  auto ev = PrequentialEvaluator::Create({}, types, o);
  ASSERT_TRUE(ev.ok());
  EXPECT_FALSE((*ev)->Observe({"", "i", *types.Find("view"), 0.0f, 0}).ok());
  EXPECT_EQ((*ev)->Result().events, 0u);
  EXPECT_EQ(ParsePrequentialMethod("online+retrain").value(), M::kOnlineRetrained);
  EXPECT_FALSE(ParsePrequentialMethod("nope").ok());
}

// A stream with planted taste: 5 clusters of 20 items; each user rates
// mostly (90%) items of their cluster, 4-5 stars, and others 1-2 stars.
// Every item is about as popular as any other, so popularity is no help;
// a model that learns the clusters is.
TEST(PrequentialTest, ModelsBeatBaselinesOnPlantedStructure) {
  const EventTypes types = EventTypes::Defaults();
  const EventTypeId rating = *types.Find("rating");
  SplitMix64 rng(7);
  struct E {
    std::string user, item;
    float value;
  };
  std::vector<E> log;
  for (int n = 0; n < 8000; ++n) {
    const int u = static_cast<int>(rng.Uniform(200)), cluster = u % 5;
    const bool liked = rng.NextDouble() < 0.9;
    const int c = liked ? cluster : static_cast<int>(rng.Uniform(5));
    const int item = c * 20 + static_cast<int>(rng.Uniform(20));
    const float v = c == cluster ? 4.0f + rng.Uniform(2) : 1.0f + rng.Uniform(2);
    log.push_back({fmt::format("u{}", u), fmt::format("i{}", item), v});
  }
  RecommenderOptions ro;
  ro.model.rank = 16;
  PrequentialOptions o;
  o.retrain_every = 2000;
  o.window = 2000;
  o.methods = {M::kOnline, M::kRetrained, M::kOnlineRetrained, M::kPopularity, M::kRandom};
  auto ev = PrequentialEvaluator::Create(ro, types, o);
  ASSERT_TRUE(ev.ok());
  for (const E& e : log) ASSERT_TRUE((*ev)->Observe({e.user, e.item, rating, e.value, 0}).ok());
  const PrequentialResult r = (*ev)->Result();
  double hr[5];
  for (size_t m = 0; m < 5; ++m) {
    const PrequentialMethodResult& x = r.methods[m];
    hr[m] = x.hit_rate;
    // One target per event: 1/r <= 1/log2(r+1) <= 1 for every rank r >= 1.
    EXPECT_LE(x.mrr, x.ndcg + 1e-12) << x.name;
    EXPECT_LE(x.ndcg, x.hit_rate + 1e-12) << x.name;
    RecordProperty(x.name, std::to_string(x.hit_rate));
  }
  const double online = hr[0], retrained = hr[1], hybrid = hr[2], popular = hr[3], random = hr[4];
  // Batch training finds the clusters (HR@10 0.26 / 0.28 against 0.09 for
  // popularity and 0.12 for random when written).
  EXPECT_GT(retrained, 2 * popular);
  EXPECT_GT(retrained, 2 * random);
  EXPECT_GT(hybrid, 2 * random);
  // One SGD pass of the rating model from a random start barely moves the
  // item vectors, so its ranking is near random here (0.11): the online
  // learner needs a retrain (or an implicit online model) to rank well.
  EXPECT_GT(online, 0.5 * random);
  EXPECT_LT(random, 0.25);
  EXPECT_GT(r.rating.count, 7000u);
  EXPECT_EQ(r.retrains, 4u);
}

}  // namespace
TEST(PrequentialTest, DiversityTradesHitsForCoverage) {
  const EventTypes types = EventTypes::Defaults();
  const EventTypeId click = *types.Find("click");
  SplitMix64 rng(11);
  std::vector<std::pair<std::string, std::string>> log;
  for (int n = 0; n < 6000; ++n) {
    // Skewed within each taste: a few items take most events.
    const int u = static_cast<int>(rng.Uniform(150)), cluster = u % 4;
    const double r = rng.NextDouble();
    const int item = cluster * 250 + static_cast<int>(250 * r * r * r);
    log.emplace_back(fmt::format("u{}", u), fmt::format("i{}", item));
  }
  RecommenderOptions ro;
  ro.objective = Objective::kImplicit;
  ro.model.rank = 8;
  auto run = [&](float diversity) {
    PrequentialOptions o;
    o.methods = {M::kOnline, M::kPopularity};
    o.retrain_every = 0;
    o.online_rules.diversity = diversity;
    auto ev = PrequentialEvaluator::Create(ro, types, o);
    EXPECT_TRUE(ev.ok());
    for (const auto& [u, i] : log) EXPECT_TRUE((*ev)->Observe({u, i, click, 0.0f, 0}).ok());
    return (*ev)->Result();
  };
  const PrequentialResult plain = run(0.0f), diverse = run(0.8f);
  const double c0 = plain.methods[0].coverage, c1 = diverse.methods[0].coverage;
  EXPECT_GT(c0, 0.0);
  EXPECT_LE(c0, 1.0);
  EXPECT_GT(c1, c0);                                   // more of the catalog shown
  EXPECT_TRUE(std::isnan(plain.methods[1].coverage));  // popularity lists nothing here
  RecordProperty("coverage", std::to_string(c0) + " -> " + std::to_string(c1));
}

// Users who arrive after a retrain: "retrained" answers them with popular
// items until the next retrain, "retrained+fold-in" folds them in against
// the frozen item vectors from their events, and finds their taste.
TEST(PrequentialTest, FoldingInUsersTheBatchDidNotModelFindsTheirTaste) {
  const EventTypes types = EventTypes::Defaults();
  for (const Objective objective : {Objective::kImplicit, Objective::kRating}) {
    SCOPED_TRACE(static_cast<int>(objective));
    const EventTypeId type = *types.Find(objective == Objective::kRating ? "rating" : "click");
    SplitMix64 rng(17);
    // 4 tastes of 25 items; a new wave of users every 1,000 events, each
    // user with ~30 events, 80% of their taste (rated 5; others 1).
    struct E {
      std::string user, item;
      float value;
    };
    std::vector<E> log;
    for (int wave = 0; wave < 6; ++wave) {
      for (int n = 0; n < 1000; ++n) {
        const int u = wave * 33 + static_cast<int>(rng.Uniform(33));
        const bool own = rng.NextDouble() < 0.8;
        const int cluster = own ? u % 4 : static_cast<int>(rng.Uniform(4));
        log.push_back({fmt::format("u{}", u),
                       fmt::format("i{}", cluster * 25 + static_cast<int>(rng.Uniform(25))),
                       cluster == u % 4 ? 5.0f : 1.0f});
      }
    }
    RecommenderOptions ro;
    ro.objective = objective;
    ro.model.rank = 8;
    PrequentialOptions o;
    o.methods = {M::kRetrained, M::kRetrainedFoldIn};
    o.retrain_every = 1000;
    o.retrain.algorithm = objective == Objective::kRating ? Algorithm::kAls : Algorithm::kIals;
    auto ev = PrequentialEvaluator::Create(ro, types, o);
    ASSERT_TRUE(ev.ok()) << ev.status().ToString();
    for (const E& e : log) {
      ASSERT_TRUE((*ev)->Observe({e.user, e.item, type, e.value, 0}).ok());
    }
    const PrequentialResult r = (*ev)->Result();
    const PrequentialMethodResult &frozen = r.methods[0], &folded = r.methods[1];
    EXPECT_EQ(folded.name, "retrained+fold-in");
    EXPECT_LT(folded.popular_answers * 3, frozen.popular_answers);
    EXPECT_GT(folded.hit_rate, 1.5 * frozen.hit_rate);
    RecordProperty("hr", fmt::format("{} -> {}", frozen.hit_rate, folded.hit_rate));
  }
}

}  // namespace streamrec::engine
