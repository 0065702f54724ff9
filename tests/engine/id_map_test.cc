#include "engine/core/id_map.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/core/random.h"

namespace streamrec::engine {
namespace {

TEST(IdMapTest, IndicesInOrderOfFirstSight) {
  IdMap m;
  EXPECT_EQ(m.size(), 0u);
  bool inserted = false;
  EXPECT_EQ(m.GetOrAdd("b", &inserted), 0u);
  EXPECT_TRUE(inserted);
  EXPECT_EQ(m.GetOrAdd("a", &inserted), 1u);
  EXPECT_TRUE(inserted);
  EXPECT_EQ(m.GetOrAdd("b", &inserted), 0u);
  EXPECT_FALSE(inserted);
  EXPECT_EQ(m.GetOrAdd("c"), 2u);
  EXPECT_EQ(m.GetOrAdd("a", &inserted), 1u);
  EXPECT_FALSE(inserted);
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.Name(0), "b");
  EXPECT_EQ(m.Name(1), "a");
  EXPECT_EQ(m.Name(2), "c");
}

TEST(IdMapTest, FindUnknownIsNulloptAndDoesNotInsert) {
  IdMap m;
  EXPECT_FALSE(m.Find("x").has_value());
  m.GetOrAdd("x");
  EXPECT_EQ(m.Find("x"), 0u);
  EXPECT_FALSE(m.Find("y").has_value());
  EXPECT_FALSE(m.Find("").has_value());
  EXPECT_FALSE(m.Find("X").has_value());
  EXPECT_EQ(m.size(), 1u);
}

TEST(IdMapTest, StringViewLookupsUseOnlyTheViewedBytes) {
  IdMap m;
  const std::string buffer = "user-17,item-4";
  const std::string_view user = std::string_view(buffer).substr(0, 7);
  const std::string_view item = std::string_view(buffer).substr(8);
  EXPECT_EQ(m.GetOrAdd(user), 0u);
  EXPECT_EQ(m.GetOrAdd(item), 1u);
  EXPECT_EQ(m.Name(0), "user-17");
  EXPECT_EQ(m.Name(1), "item-4");
  EXPECT_EQ(m.Find(std::string_view("user-17")), 0u);
  EXPECT_FALSE(m.Find(std::string_view(buffer).substr(0, 6)).has_value());  // "user-1"
}

TEST(IdMapTest, EmbeddedNulIsPartOfTheId) {
  IdMap m;
  const std::string_view with_nul("a\0b", 3);
  EXPECT_EQ(m.GetOrAdd("a"), 0u);
  EXPECT_EQ(m.GetOrAdd(with_nul), 1u);
  EXPECT_EQ(m.Name(1).size(), 3u);
  EXPECT_EQ(m.Find(with_nul), 1u);
  EXPECT_EQ(m.Find("a"), 0u);
}

TEST(IdMapTest, ManyIdsSurviveRehashingAndReserve) {
  IdMap m;
  m.Reserve(10);
  EXPECT_EQ(m.size(), 0u);
  for (uint32_t n = 0; n < 5000; ++n) {
    ASSERT_EQ(m.GetOrAdd(fmt::format("id{}", n)), n);
  }
  for (uint32_t n = 0; n < 5000; ++n) {
    const std::string id = fmt::format("id{}", n);
    ASSERT_EQ(m.Find(id), n);
    ASSERT_EQ(m.Name(n), id);
  }
  EXPECT_EQ(m.size(), 5000u);
}

TEST(IdMapTest, PrefetchAtAnyStageChangesNothing) {
  IdMap empty;
  for (int stage = -1; stage <= IdMap::kPrefetchStages; ++stage) empty.Prefetch("a", stage);
  for (int stage = -1; stage <= IdMap::kNameStages; ++stage) empty.PrefetchName(0, stage);
  EXPECT_EQ(empty.size(), 0u);
  IdMap m;
  for (int n = 0; n < 1000; ++n) m.GetOrAdd(fmt::format("id{}", n));
  ASSERT_TRUE(m.Forget("id7").has_value());
  // Known, forgotten, unknown and empty ids, every stage and past them.
  for (const std::string id : {"id0", "id999", "id7", "nope", ""}) {
    for (int stage = -1; stage <= IdMap::kPrefetchStages; ++stage) m.Prefetch(id, stage);
  }
  // Names known, forgotten and past the last, every stage and past them.
  for (const uint32_t index : {0u, 7u, 255u, 256u, 999u, 1000u, 4096u, ~0u}) {
    for (int stage = -1; stage <= IdMap::kNameStages; ++stage) m.PrefetchName(index, stage);
  }
  EXPECT_EQ(m.size(), 1000u);
  EXPECT_EQ(m.live(), 999u);
  EXPECT_EQ(m.Find("id0"), 0u);
  EXPECT_EQ(m.Find("id999"), 999u);
  EXPECT_FALSE(m.Find("id7").has_value());
  EXPECT_FALSE(m.Find("nope").has_value());
  EXPECT_EQ(m.Name(7), "");
}

TEST(IdMapTest, CopyIsIndependent) {
  IdMap m;
  m.GetOrAdd("a");
  IdMap copy = m;
  copy.GetOrAdd("b");
  EXPECT_EQ(m.size(), 1u);
  EXPECT_FALSE(m.Find("b").has_value());
  EXPECT_EQ(copy.Find("a"), 0u);
  EXPECT_EQ(copy.Find("b"), 1u);
}

TEST(IdMapTest, ForgetLeavesATombstoneThatFromNamesAccepts) {
  IdMap m;
  m.GetOrAdd("a");
  m.GetOrAdd("b");
  m.GetOrAdd("c");
  EXPECT_EQ(m.Forget("b"), std::optional<uint32_t>(1));
  EXPECT_EQ(m.Forget("b"), std::nullopt);
  EXPECT_FALSE(m.Find("b").has_value());
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m.GetOrAdd("b"), 3u);
  m.Forget("a");
  auto back = IdMap::FromNames(m.Names());  // two tombstones? one, plus "b" at 3
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Find("b"), std::optional<uint32_t>(3));
  EXPECT_FALSE(back->Find("").has_value());
  EXPECT_FALSE(IdMap::FromNames({"", "", "x", "x"}).ok()) << "only empty names may repeat";
  EXPECT_TRUE(IdMap::FromNames({"", "", "x"}).ok());
}

// Random adds, forgets and lookups against a reference, through many
// growths: the flat index's probe runs and backward-shift deletion.
TEST(IdMapTest, RandomAddsAndForgetsMatchAReference) {
  IdMap m;
  std::unordered_map<std::string, uint32_t> want;
  std::vector<std::string> names;
  SplitMix64 rng(3);
  for (int step = 0; step < 100000; ++step) {
    const std::string id = "id" + std::to_string(rng.Uniform(20000));
    if (rng.Uniform(4) == 0) {
      const std::optional<uint32_t> got = m.Forget(id);
      const auto it = want.find(id);
      ASSERT_EQ(got.has_value(), it != want.end()) << id;
      if (it != want.end()) {
        ASSERT_EQ(*got, it->second);
        names[it->second].clear();
        want.erase(it);
      }
    } else {
      bool inserted = false;
      const uint32_t idx = m.GetOrAdd(id, &inserted);
      const auto [it, fresh] = want.try_emplace(id, static_cast<uint32_t>(names.size()));
      ASSERT_EQ(inserted, fresh) << id;
      ASSERT_EQ(idx, it->second) << id;
      if (fresh) names.push_back(id);
    }
    ASSERT_EQ(m.live(), want.size());
  }
  ASSERT_EQ(m.Names(), names);
  for (const auto& [id, idx] : want) ASSERT_EQ(m.Find(id), idx);
  auto rebuilt = IdMap::FromNames(names);
  ASSERT_TRUE(rebuilt.ok());
  for (const auto& [id, idx] : want) ASSERT_EQ(rebuilt->Find(id), idx);
  EXPECT_EQ(rebuilt->live(), want.size());
}

TEST(IdMapTest, AShortIdCostsUnderFortyBytes) {
  IdMap m;
  for (int i = 0; i < 100000; ++i) m.GetOrAdd("user" + std::to_string(i));
  // 9 bytes of id, a 4-byte end, 8-byte slots 3/8 to 3/4 full (3/8 here).
  EXPECT_LE(m.MemoryBytes(), size_t{100000} * 36);
  EXPECT_EQ(m.MemoryBytes(/*shared=*/true), 0u);
}

TEST(IdMapTest, CopiesShareTheirPagesUntilWrittenAndShareBackWhatTheyWrote) {
  IdMap a;
  for (int i = 0; i < 3000; ++i) a.GetOrAdd("id" + std::to_string(i));
  IdMap b;
  b.ShareAll(a);
  EXPECT_EQ(a.OwnPages(), 0u);
  EXPECT_EQ(b.OwnPages(), 0u);
  EXPECT_EQ(b.MemoryBytes(/*shared=*/true), a.MemoryBytes(/*shared=*/true));
  // The same writes to both, leader first: b's copies are equal to a's.
  for (IdMap* m : {&a, &b}) {
    EXPECT_EQ(m->GetOrAdd("new"), 3000u);
    EXPECT_EQ(m->Forget("id17"), 17u);
  }
  EXPECT_GT(b.OwnPages(), 0u);
  EXPECT_EQ(b.Find("id17"), std::nullopt);
  EXPECT_EQ(a.Find("new"), 3000u);
  b.ShareWritten(a);
  EXPECT_EQ(a.OwnPages(), 0u);
  EXPECT_EQ(b.OwnPages(), 0u);
  // A write to one copy is not seen in the other.
  b.GetOrAdd("only-b");
  b.Forget("id5");
  EXPECT_FALSE(a.Find("only-b").has_value());
  EXPECT_EQ(a.Find("id5"), 5u);
  EXPECT_EQ(a.Name(5), "id5");
  EXPECT_EQ(b.Name(5), "");
  EXPECT_EQ(a.size(), 3001u);
  EXPECT_EQ(b.size(), 3002u);
  for (int i = 0; i < 3000; ++i) {
    if (i == 5 || i == 17) continue;
    const std::string id = "id" + std::to_string(i);
    ASSERT_EQ(a.Find(id), static_cast<uint32_t>(i));
    ASSERT_EQ(b.Find(id), static_cast<uint32_t>(i));
    ASSERT_EQ(b.Name(i), id);
  }
}

// A Left-Right follower takes its leader's indices for the ids both know
// and looks up only new ones (Recommender::IndexFollowing), so a lookup
// must not grow the table: the leader, had it grown on the known id that
// ended its run, would hand the follower slot pages of another layout.
TEST(IdMapTest, ALookupNeverGrowsTheTableSoFollowersShareLikeLaidOutPages) {
  IdMap a;
  // 383 ids: the next one fills the 512-slot table to 3/4.
  for (int i = 0; i < 383; ++i) a.GetOrAdd("id" + std::to_string(i));
  IdMap b;
  b.ShareAll(a);
  // The leader's run: a new id, then one it knows, at the threshold.
  EXPECT_EQ(a.GetOrAdd("new"), 383u);
  EXPECT_EQ(a.GetOrAdd("id0"), 0u);
  // The follower's: the new id only.
  EXPECT_EQ(b.GetOrAdd("new"), 383u);
  b.ShareWritten(a);
  EXPECT_EQ(a.OwnPages() + b.OwnPages(), 0u);  // one table, held once
  for (IdMap* m : {&a, &b}) {
    for (int i = 0; i < 383; ++i) ASSERT_EQ(m->Find("id" + std::to_string(i)), uint32_t(i)) << i;
    EXPECT_EQ(m->Find("new"), 383u);
  }
  // The next new id grows both tables alike.
  for (IdMap* m : {&a, &b}) EXPECT_EQ(m->GetOrAdd("next"), 384u);
  b.ShareWritten(a);
  for (IdMap* m : {&a, &b}) {
    for (int i = 0; i < 383; ++i) ASSERT_EQ(m->Find("id" + std::to_string(i)), uint32_t(i)) << i;
    EXPECT_EQ(m->Find("next"), 384u);
  }
}

// Maps of different shapes share nothing: a page of another layout would
// corrupt the one that took it.
TEST(IdMapTest, ShareWrittenBetweenMapsOfDifferentShapesSharesNothing) {
  IdMap a, b;
  for (int i = 0; i < 1000; ++i) a.GetOrAdd("id" + std::to_string(i));
  for (int i = 0; i < 300; ++i) b.GetOrAdd("id" + std::to_string(i));
  b.ShareWritten(a);
  EXPECT_EQ(b.size(), 300u);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(b.Find("id" + std::to_string(i)), uint32_t(i)) << i;
  EXPECT_FALSE(b.Find("id500").has_value());
  EXPECT_GT(b.OwnPages(), 0u);
}

TEST(IdMapTest, AForgottenIdsBytesLeaveItsPage) {
  IdMap m;
  m.GetOrAdd("alice");
  m.GetOrAdd("secret-user-id");
  m.GetOrAdd("carol");
  const size_t before = m.MemoryBytes();
  ASSERT_EQ(m.Forget("secret-user-id"), 1u);
  EXPECT_EQ(m.Name(0), "alice");
  EXPECT_EQ(m.Name(1), "");
  EXPECT_EQ(m.Name(2), "carol");
  EXPECT_EQ(m.Find("carol"), 2u);
  EXPECT_LE(m.MemoryBytes(), before);
  const std::vector<std::string> names = m.Names();
  EXPECT_EQ(names, (std::vector<std::string>{"alice", "", "carol"}));
}

TEST(IdMapTest, FromNamesRejectsAnIdPastTheLimit) {
  const StatusOr<IdMap> m = IdMap::FromNames({"a", std::string(IdMap::kMaxIdBytes + 1, 'x')});
  EXPECT_EQ(m.status().code(), StatusCode::kCorruption);
  EXPECT_TRUE(IdMap::FromNames({"a", std::string(IdMap::kMaxIdBytes, 'x')}).ok());
}

}  // namespace
}  // namespace streamrec::engine
