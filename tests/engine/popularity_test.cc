#include "engine/model/popularity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

namespace streamrec::engine {
namespace {

constexpr int64_t kHalfLife = 1000;

Popularity Make() {
  PopularityOptions o;
  o.half_life_ms = kHalfLife;
  return Popularity(o);
}

std::vector<uint32_t> Ids(const std::vector<ScoredItem>& v) {
  std::vector<uint32_t> ids;
  for (const auto& s : v) ids.push_back(s.item);
  return ids;
}

TEST(PopularityTest, DefaultHalfLifeIsAWeek) {
  EXPECT_DOUBLE_EQ(Popularity().options().half_life_ms, 7.0 * 24 * 3600 * 1000);
}

TEST(PopularityTest, EmptyHasNothing) {
  const Popularity p = Make();
  EXPECT_EQ(p.num_items(), 0u);
  EXPECT_EQ(p.Score(0), 0.0);
  EXPECT_TRUE(p.Top(10).empty());
}

TEST(PopularityTest, WeightHalvesAfterOneHalfLife) {
  Popularity p = Make();
  p.Add(0, 1.0f, 0);
  p.Add(1, 1.0f, kHalfLife);
  EXPECT_EQ(p.newest_ts_ms(), kHalfLife);
  EXPECT_DOUBLE_EQ(p.Score(1), 1.0);
  EXPECT_DOUBLE_EQ(p.Score(0), 0.5);
  p.Add(2, 1.0f, 3 * kHalfLife);
  EXPECT_DOUBLE_EQ(p.Score(2), 1.0);
  EXPECT_DOUBLE_EQ(p.Score(1), 0.25);
  EXPECT_DOUBLE_EQ(p.Score(0), 0.125);
  // Half a half-life: a factor of 1/sqrt(2).
  p.Add(3, 1.0f, 3 * kHalfLife - kHalfLife / 2);
  EXPECT_NEAR(p.Score(3), 1.0 / std::sqrt(2.0), 1e-12);
  EXPECT_EQ(p.Score(99), 0.0);
  EXPECT_EQ(p.num_items(), 4u);
}

TEST(PopularityTest, WeightsAddUp) {
  Popularity p = Make();
  p.Add(0, 0.25f, 0);
  p.Add(0, 1.0f, 0);
  p.Add(1, 0.5f, kHalfLife);
  p.Add(1, 0.5f, 2 * kHalfLife);
  // item 0: 1.25 · 2^-2; item 1: 0.5 · 2^-1 + 0.5
  EXPECT_DOUBLE_EQ(p.Score(0), 0.3125);
  EXPECT_DOUBLE_EQ(p.Score(1), 0.75);
}

TEST(PopularityTest, OlderEventsArrivingLateCountLess) {
  Popularity p = Make();
  p.Add(0, 1.0f, 10 * kHalfLife);
  p.Add(1, 1.0f, 9 * kHalfLife);  // before the anchor
  p.Add(2, 1.0f, 10 * kHalfLife);
  EXPECT_EQ(p.newest_ts_ms(), 10 * kHalfLife);
  EXPECT_DOUBLE_EQ(p.Score(0), 1.0);
  EXPECT_DOUBLE_EQ(p.Score(1), 0.5);
  EXPECT_EQ(Ids(p.Top(3)), (std::vector<uint32_t>{0, 2, 1}));
}

TEST(PopularityTest, TopOrdersByScoreThenId) {
  Popularity p = Make();
  p.Add(4, 1.0f, 0);
  p.Add(2, 1.0f, kHalfLife);
  p.Add(7, 2.0f, 0);  // 2 · 1/2 = 1: ties with item 2
  p.Add(1, 3.0f, kHalfLife);
  p.Add(9, 0.1f, kHalfLife);
  const std::vector<ScoredItem> top = p.Top(10);
  EXPECT_EQ(Ids(top), (std::vector<uint32_t>{1, 2, 7, 4, 9}));
  ASSERT_EQ(top.size(), 5u);  // never-seen ids 0, 3, 5, 6, 8 are not listed
  EXPECT_FLOAT_EQ(top[0].score, 3.0f);
  EXPECT_FLOAT_EQ(top[1].score, 1.0f);
  EXPECT_FLOAT_EQ(top[2].score, 1.0f);
  EXPECT_FLOAT_EQ(top[3].score, 0.5f);
  EXPECT_EQ(Ids(p.Top(2)), (std::vector<uint32_t>{1, 2}));
  EXPECT_TRUE(p.Top(0).empty());
}

TEST(PopularityTest, TopSkipsExcludedAndDisallowed) {
  Popularity p = Make();
  for (uint32_t i = 0; i < 10; ++i) p.Add(i, static_cast<float>(10 - i), 0);  // 0 best
  const std::vector<uint32_t> exclude = {0, 0, 3, 4, 4, 50, 1000};
  EXPECT_EQ(Ids(p.Top(4, exclude)), (std::vector<uint32_t>{1, 2, 5, 6}));
  std::vector<uint8_t> allowed(10, 1);
  allowed[1] = allowed[6] = 0;
  EXPECT_EQ(Ids(p.Top(4, {}, allowed.data())), (std::vector<uint32_t>{0, 2, 3, 4}));
  EXPECT_EQ(Ids(p.Top(4, exclude, allowed.data())), (std::vector<uint32_t>{2, 5, 7, 8}));
  EXPECT_EQ(p.Top(100, exclude, allowed.data()).size(), 5u);  // 10 - 3 excluded - 2
}

// What Top must return: every item with a positive score, not excluded
// and allowed, ranked by its float score, ties by id (the whole catalog
// read, as Top did before it skipped blocks).
std::vector<ScoredItem> ScanAll(const Popularity& p, size_t n, const std::vector<uint32_t>& exclude,
                                const uint8_t* allowed) {
  std::vector<ScoredItem> all;
  for (uint32_t i = 0; i < p.num_items(); ++i) {
    if (std::binary_search(exclude.begin(), exclude.end(), i)) continue;
    if (allowed != nullptr && allowed[i] == 0) continue;
    if (!(p.raw_scores()[i] > 0.0)) continue;
    all.push_back({i, static_cast<float>(p.Score(i))});
  }
  std::sort(all.begin(), all.end(), RanksBefore);
  if (all.size() > n) all.resize(n);
  return all;
}

// Top reads the best blocks of items first and stops early; whatever the
// scores (skewed, tied across blocks, decreased by Remove, rescaled by an
// anchor move, restored), exclusions and masks, it returns what reading
// every item returns.
TEST(PopularityTest, TopIsWhatReadingEveryItemGives) {
  std::mt19937 rng(7);
  for (int round = 0; round < 40; ++round) {
    Popularity p = Make();
    const uint32_t items = 1 + rng() % 3000;
    struct Ev {
      uint32_t item;
      float weight;
      int64_t ts;
    };
    std::vector<Ev> events;
    for (int e = 0; e < 4000; ++e) {
      // Skewed (low ids hot), some items tied on whole weights at one
      // time, a few late or negative.
      const auto u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      const auto item = static_cast<uint32_t>(items * u * u * u);
      const float weight = rng() % 50 == 0 ? -1.0f : static_cast<float>(1 + rng() % 3);
      const int64_t ts = round % 2 == 0 ? 0 : static_cast<int64_t>(rng() % 5000);
      p.Add(item, weight, ts);
      events.push_back({item, weight, ts});
    }
    if (round % 4 == 3) {
      // Far later events move the anchor (every score rescaled).
      p.Add(rng() % items, 1.0f, int64_t{kHalfLife} * 300);
    }
    for (int r = 0; r < 300; ++r) {
      const Ev& e = events[rng() % events.size()];
      p.Remove(e.item, e.weight, e.ts);
    }
    Popularity restored = Make();
    restored.Restore(p.anchor_ms(), p.newest_ts_ms(), p.raw_scores());
    std::vector<uint32_t> exclude;
    for (int k = 0; k < 40; ++k) exclude.push_back(rng() % (items + 10));
    std::sort(exclude.begin(), exclude.end());
    std::vector<uint8_t> allowed(items);
    for (auto& a : allowed) a = rng() % 3 != 0;
    for (const size_t n : {size_t{1}, size_t{10}, size_t{100}, size_t{items}}) {
      for (const Popularity* q : {&p, &restored}) {
        const auto check = [&](const std::vector<uint32_t>& ex, const uint8_t* mask) {
          const std::vector<ScoredItem> want = ScanAll(*q, n, ex, mask);
          const std::vector<ScoredItem> got = q->Top(n, ex, mask);
          ASSERT_EQ(got.size(), want.size()) << "round " << round << " n " << n;
          for (size_t k = 0; k < want.size(); ++k) {
            ASSERT_EQ(got[k].item, want[k].item) << "round " << round << " n " << n << " k " << k;
            ASSERT_EQ(got[k].score, want[k].score);
          }
        };
        check({}, nullptr);
        check(exclude, nullptr);
        check(exclude, allowed.data());
      }
    }
  }
}

TEST(PopularityTest, HugeNReturnsEveryItem) {
  Popularity p = Make();
  p.Add(0, 1.0f, 0);
  p.Add(2, 2.0f, 0);
  EXPECT_EQ(Ids(p.Top(std::numeric_limits<size_t>::max())), (std::vector<uint32_t>{2, 0}));
}

TEST(PopularityTest, AnchorRescaleKeepsScoresFinite) {
  Popularity p = Make();
  p.Add(0, 1.0f, 0);
  p.Add(1, 1.0f, 300 * kHalfLife);
  p.Add(2, 1.0f, 600 * kHalfLife + 1);
  EXPECT_GT(p.anchor_ms(), 0);  // it moved
  for (double raw : p.raw_scores()) EXPECT_TRUE(std::isfinite(raw)) << raw;
  for (uint32_t i = 0; i < 3; ++i) EXPECT_TRUE(std::isfinite(p.Score(i))) << i;
  EXPECT_NEAR(p.Score(2), 1.0, 1e-9);
  // Item 1 is 300 half-lives and 1 ms older than the newest event.
  EXPECT_NEAR(p.Score(1) / std::exp2(-300.0 - 1.0 / kHalfLife), 1.0, 1e-9);
  EXPECT_GT(p.Score(1), p.Score(0));
  EXPECT_GE(p.Score(0), 0.0);
  const std::vector<ScoredItem> top = p.Top(3);
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(top[0].item, 2u);
  EXPECT_NEAR(top[0].score, 1.0f, 1e-6);
  for (const auto& s : top) EXPECT_TRUE(std::isfinite(s.score));
}

TEST(PopularityTest, LongSteadyStreamRanksTheNewestHighest) {
  // 2001 events one half-life apart: without rescaling 2^2000 overflows.
  Popularity p = Make();
  for (int64_t n = 0; n <= 2000; ++n) p.Add(static_cast<uint32_t>(n % 10), 1.0f, n * kHalfLife);
  for (double raw : p.raw_scores()) ASSERT_TRUE(std::isfinite(raw));
  // Item 0 got the newest event (n = 2000), item 9 the one before, ...
  EXPECT_EQ(Ids(p.Top(10)), (std::vector<uint32_t>{0, 9, 8, 7, 6, 5, 4, 3, 2, 1}));
  // Geometric series: 1 / (1 - 2^-10) for item 0, half that for item 9.
  EXPECT_NEAR(p.Score(0), 1.0 / (1.0 - std::exp2(-10.0)), 1e-9);
  EXPECT_NEAR(p.Score(9), 0.5 / (1.0 - std::exp2(-10.0)), 1e-9);
}

TEST(PopularityTest, RestoreRoundTrip) {
  Popularity p = Make();
  for (int64_t n = 0; n < 500; ++n) {
    p.Add(static_cast<uint32_t>((n * 7) % 13), 0.5f + static_cast<float>(n % 3),
          n * kHalfLife + (n % 5) * 37);
  }
  Popularity q = Make();
  q.Restore(p.anchor_ms(), p.newest_ts_ms(), p.raw_scores());
  EXPECT_EQ(q.anchor_ms(), p.anchor_ms());
  EXPECT_EQ(q.newest_ts_ms(), p.newest_ts_ms());
  EXPECT_EQ(q.num_items(), p.num_items());
  for (uint32_t i = 0; i < 13; ++i) EXPECT_EQ(q.Score(i), p.Score(i)) << i;
  EXPECT_EQ(q.Top(13), p.Top(13));
  // Both continue identically, including an older event and an anchor move.
  const int64_t now = p.newest_ts_ms();
  for (Popularity* x : {&p, &q}) {
    x->Add(3, 1.0f, now - 5 * kHalfLife);
    x->Add(20, 2.0f, now + 10);
    x->Add(5, 1.0f, now + 400 * kHalfLife);
  }
  EXPECT_EQ(p.newest_ts_ms(), now + 400 * kHalfLife);
  EXPECT_EQ(q.raw_scores(), p.raw_scores());
  EXPECT_EQ(q.anchor_ms(), p.anchor_ms());
  EXPECT_EQ(q.Top(25), p.Top(25));
}

// Whatever int64 times events carry, the arithmetic neither overflows nor
// yields a non-finite or negative score.
TEST(PopularityTest, ExtremeTimesAreSafe) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kNow = 1'700'000'000'000;
  // A first event at INT64_MIN anchors there; later events must still count
  // (it overflowed in ts - anchor and scored everything 0).
  Popularity p = Make();
  p.Add(0, 1.0f, kMin);
  p.Add(1, 1.0f, kNow);
  p.Add(1, 1.0f, kNow);
  p.Add(2, 1.0f, kNow);
  EXPECT_EQ(Ids(p.Top(3)), (std::vector<uint32_t>{1, 2}));
  EXPECT_NEAR(p.Score(1), 2.0, 1e-9);
  EXPECT_NEAR(p.Score(2), 1.0, 1e-9);
  EXPECT_EQ(p.Score(0), 0.0);  // infinitely old: decayed away

  // Every order of the extremes and a normal time.
  const std::vector<int64_t> times = {kMin, kMin + 1, -1, 0, kNow, kMax - 1, kMax};
  for (int64_t first : times) {
    for (int64_t second : times) {
      Popularity q = Make();
      q.Add(0, 1.0f, first);
      q.Add(1, 2.0f, second);
      q.Add(2, 1.0f, kNow);
      for (uint32_t i = 0; i < 3; ++i) {
        const double s = q.Score(i);
        EXPECT_TRUE(std::isfinite(s) && s >= 0.0) << first << " " << second << " item " << i;
      }
      for (const ScoredItem& x : q.Top(3)) EXPECT_TRUE(std::isfinite(x.score) && x.score > 0.0f);
      // The newest event always scores its full weight.
      const int64_t newest = std::max({first, second, kNow});
      if (newest == kNow) {
        EXPECT_NEAR(q.Score(2), 1.0, 1e-9) << first << " " << second;
      }
      if (newest == second && second != kNow) {
        EXPECT_NEAR(q.Score(1), 2.0, 1e-9);
      }
    }
  }
}

}  // namespace
}  // namespace streamrec::engine
