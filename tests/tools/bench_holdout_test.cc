// MeasureHoldoutHitRate (`bench scale`'s hold-out check) on a real store:
// which hold-out events it scores (known user and item, not had, once per
// pair), and that a cold user's served list and the popular baseline are
// the same list, so they score alike.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "storage/live_store.h"
#include "tests/storage/temp_dir.h"
#include "tools/bench/bench_recall.h"

namespace streamrec::tools {
namespace {

storage::StoredEvent Ev(std::string id, std::string user, std::string item) {
  return {0, std::move(id), std::move(user), std::move(item), "click", 0.0f, 1000};
}

std::unique_ptr<storage::LiveStore> OpenWith(const std::string& dir, uint32_t cold_min_items) {
  engine::RecommenderOptions engine;
  engine.model.rank = 8;
  engine.objective = engine::Objective::kImplicit;
  engine.cold_start_min_items = cold_min_items;
  storage::LiveStoreOptions o;
  o.store.log.durability = storage::Durability::kProcess;
  auto s = storage::LiveStore::Open(dir, o, engine, engine::EventTypes::Defaults());
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (!s.ok()) return nullptr;
  // Popularity: i1 3 events, i2 2, i3 1. Seen: alice {i1, i2}, bob {i1},
  // carol {i1, i2, i3}.
  auto r =
      (*s)->Ingest({Ev("e1", "alice", "i1"), Ev("e2", "bob", "i1"), Ev("e3", "carol", "i1"),
                    Ev("e4", "alice", "i2"), Ev("e5", "carol", "i2"), Ev("e6", "carol", "i3")});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(s).value();
}

const std::vector<std::pair<std::string, std::vector<std::string>>> kHoldout = {
    {"alice", {"i1", "i9", "i3", "i3"}},  // i1 had, i9 unknown: i3 once
    {"dave", {"i1"}},                     // an unknown user
    {"bob", {"i3"}},
    {"carol", {"i2"}},  // had it: nothing scored, not a user of the check
};

TEST(BenchHoldoutTest, ScoresKnownUnseenPairsOnceAndColdUsersGetThePopularList) {
  storage::testing::TempDir dir;
  auto store = OpenWith(dir.path(), /*cold_min_items=*/100);
  ASSERT_NE(store, nullptr);
  // Top 1: alice's popular item not had is i3 (a hit), bob's i2 (i3 a miss).
  const HoldoutHitRate h = MeasureHoldoutHitRate(*store, kHoldout, 1);
  EXPECT_EQ(h.scored, 2u);
  EXPECT_EQ(h.users, 2u);
  EXPECT_EQ(h.model_users, 0u);  // all cold: served the popular list
  EXPECT_DOUBLE_EQ(h.popular, 0.5);
  EXPECT_DOUBLE_EQ(h.served, 0.5);
  // Top 2: bob's i3 is in both lists too.
  const HoldoutHitRate two = MeasureHoldoutHitRate(*store, kHoldout, 2);
  EXPECT_DOUBLE_EQ(two.popular, 1.0);
  EXPECT_DOUBLE_EQ(two.served, 1.0);
}

TEST(BenchHoldoutTest, UsersWithEnoughItemsAreAnsweredByTheModel) {
  storage::testing::TempDir dir;
  auto store = OpenWith(dir.path(), /*cold_min_items=*/2);
  ASSERT_NE(store, nullptr);
  const HoldoutHitRate h = MeasureHoldoutHitRate(*store, kHoldout, 10);
  EXPECT_EQ(h.scored, 2u);
  EXPECT_EQ(h.model_users, 1u);  // alice (2 items); bob has 1
  // With the whole catalog in the list, every scored item is a hit.
  EXPECT_DOUBLE_EQ(h.served, 1.0);
  EXPECT_DOUBLE_EQ(h.popular, 1.0);
}

}  // namespace
}  // namespace streamrec::tools
