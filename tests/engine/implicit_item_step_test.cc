// ImplicitOnlineOptions::min_item_step: a popular item's row moves on a
// share of its events, by a larger step, instead of by a tiny damped step at
// every event; the user's row moves at every event all the same.
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "engine/core/random.h"
#include "engine/online/implicit_online.h"
#include "tests/engine/implicit_synthetic.h"

namespace streamrec::engine {
namespace {

constexpr int kRank = 8;
constexpr uint32_t kMaxCells = 8;

// A seeded model of `users` x `items`, rank kRank.
MFModel SmallModel(uint32_t users, uint32_t items) {
  ModelOptions mo;
  mo.rank = kRank;
  mo.seed = 3;
  MFModel m(mo);
  m.EnsureUsers(users);
  m.EnsureItems(items);
  return m;
}

std::vector<float> Row(const float* r) { return std::vector<float>(r, r + kRank); }

struct Moves {
  uint32_t item = 0;    // events that moved item 0's row
  uint32_t user = 0;    // events that moved their user's row
  double expected = 0;  // item moves expected: the sum of each event's chance
};

// `users` events (u, 0), each from a new user, so item 0's row grows a cell
// at a time; counts which events moved its row and their users'.
Moves PopularItem(float min_item_step, uint32_t users) {
  MFModel model = SmallModel(users, 4);
  ImplicitOnlineOptions o;
  o.max_user_cells = kMaxCells;
  o.max_item_cells = kMaxCells;
  o.min_item_step = min_item_step;
  ImplicitOnlineUpdater up(o, model);
  Moves moves;
  for (uint32_t u = 0; u < users; ++u) {
    const MFModel& rows = model;
    const std::vector<float> item = Row(rows.item_factors(0));
    const std::vector<float> user = Row(rows.user_factors(u));
    EXPECT_TRUE(up.Apply(&model, u, 0, 1.0f).ok());
    moves.item += Row(rows.item_factors(0)) != item;
    moves.user += Row(rows.user_factors(u)) != user;
    // The row has u + 1 cells now; its damped share of the move.
    const uint32_t n = u + 1;
    const double share = n <= kMaxCells ? 1.0 : double(kMaxCells - 1) / double(n - 1);
    moves.expected += min_item_step > 0 && share < min_item_step ? share / min_item_step : 1.0;
  }
  return moves;
}

TEST(ImplicitItemStepTest, APopularItemMovesOnAShareOfItsEvents) {
  constexpr uint32_t kUsers = 3000;
  const Moves m = PopularItem(0.25f, kUsers);
  // Below a share of 0.25 (past 29 cells) the row moves with chance
  // 4 * 7 / (n - 1): ~29 + 28 ln(3000 / 29) ~ 160 of 3000 events.
  std::printf("item moved on %u of %u events (expected %.1f)\n", m.item, kUsers, m.expected);
  EXPECT_GT(m.expected, 100.0);
  EXPECT_LT(m.expected, 250.0);
  EXPECT_NEAR(m.item, m.expected, 4.0 * std::sqrt(m.expected));
  EXPECT_EQ(m.user, kUsers) << "every user's row moves at its event";
}

TEST(ImplicitItemStepTest, ZeroMovesTheItemAtEveryEvent) {
  const Moves m = PopularItem(0.0f, 500);
  EXPECT_EQ(m.item, 500u);
  EXPECT_EQ(m.user, 500u);
  // A floor at or below the smallest damped share changes nothing either.
  EXPECT_EQ(PopularItem(0.01f, 500).item, 500u);
}

// Up to the first event whose damped share is below the floor, a row with
// the floor moves as one without it; at that event it moves by the floor's
// share of the same move instead of the damped share.
TEST(ImplicitItemStepTest, AMoveTakesTheFloorsShare) {
  constexpr float kFloor = 0.25f;
  constexpr uint32_t kUsers = 40;
  MFModel a = SmallModel(kUsers, 4), b = a.Clone();
  ImplicitOnlineOptions o;
  o.max_user_cells = kMaxCells;
  o.max_item_cells = kMaxCells;
  o.min_item_step = 0.0f;
  ImplicitOnlineUpdater damped(o, a);
  o.min_item_step = kFloor;
  ImplicitOnlineUpdater floored(o, b);
  const MFModel &ra = a, &rb = b;
  for (uint32_t u = 0; u < kUsers; ++u) {
    const uint32_t n = u + 1;  // item 0's cells after the event
    const float share = n <= kMaxCells ? 1.0f : float(kMaxCells - 1) / float(n - 1);
    const Eigen::VectorXf before = Eigen::Map<const Eigen::VectorXf>(ra.item_factors(0), kRank);
    ASSERT_TRUE(damped.Apply(&a, u, 0, 1.0f).ok());
    ASSERT_TRUE(floored.Apply(&b, u, 0, 1.0f).ok());
    const Eigen::VectorXf da =
        Eigen::Map<const Eigen::VectorXf>(ra.item_factors(0), kRank) - before;
    const Eigen::VectorXf db =
        Eigen::Map<const Eigen::VectorXf>(rb.item_factors(0), kRank) - before;
    if (share >= kFloor) {
      ASSERT_TRUE(testdata::SameParameters(a, b)) << "at " << n << " cells";
      continue;
    }
    // n = 30: a share of 7/29. The hash moves the row here (chance 0.97).
    ASSERT_GT(db.norm(), 0.0f) << "the floor's row did not move at " << n << " cells";
    EXPECT_NEAR(db.norm() / da.norm(), kFloor / share, 1e-3f * kFloor / share);
    EXPECT_GT(db.dot(da), 0.0f) << "the same direction";
    return;
  }
  FAIL() << "no event below the floor";
}

// Half the events fall on item 0 (so its row is long and mostly skipped),
// the rest spread; an updater fed the same events (with the hints a batch
// gives: Prefetch) ends bit-identical, and differs from one that moves the
// item at every event.
TEST(ImplicitItemStepTest, SkippedMovesAreDeterministic) {
  constexpr uint32_t kUsers = 400, kItems = 50;
  const MFModel start = SmallModel(kUsers, kItems);
  struct Ev {
    uint32_t u, i;
  };
  std::vector<Ev> evs;
  SplitMix64 rng(11);
  for (int n = 0; n < 4000; ++n) {
    const auto u = static_cast<uint32_t>(rng.Uniform(kUsers));
    evs.push_back({u, rng.NextDouble() < 0.5 ? 0u : static_cast<uint32_t>(rng.Uniform(kItems))});
  }
  auto run = [&](float floor, bool hints) {
    MFModel m = start.Clone();
    ImplicitOnlineOptions o;
    o.max_user_cells = kMaxCells;
    o.max_item_cells = kMaxCells;
    o.min_item_step = floor;
    ImplicitOnlineUpdater up(o, m);
    for (size_t n = 0; n < evs.size(); ++n) {
      for (size_t ahead = 1; hints && ahead <= 3 && n + ahead < evs.size(); ++ahead) {
        up.Prefetch(m, evs[n + ahead].u, evs[n + ahead].i, static_cast<int>(ahead) - 1);
      }
      EXPECT_TRUE(up.Apply(&m, evs[n].u, evs[n].i, 1.0f).ok());
    }
    return m;
  };
  const MFModel a = run(0.25f, false);
  EXPECT_TRUE(testdata::SameParameters(a, run(0.25f, true)));
  EXPECT_FALSE(testdata::SameParameters(a, run(0.0f, false)));
}

TEST(ImplicitItemStepTest, AFloorOutsideZeroToOneIsRefused) {
  for (float bad : {-0.1f, 1.5f, std::numeric_limits<float>::quiet_NaN()}) {
    ImplicitOnlineOptions o;
    o.min_item_step = bad;
    EXPECT_EQ(ImplicitOnlineUpdater::Validate(o).code(), StatusCode::kInvalidArgument) << bad;
  }
  for (float good : {0.0f, 0.125f, 1.0f}) {
    ImplicitOnlineOptions o;
    o.min_item_step = good;
    EXPECT_TRUE(ImplicitOnlineUpdater::Validate(o).ok()) << good;
  }
}

}  // namespace
}  // namespace streamrec::engine
