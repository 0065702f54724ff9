#include "engine/core/flat_map.h"

#include <gtest/gtest.h>

#include <unordered_map>

#include "engine/core/random.h"

namespace streamrec::engine {
namespace {

// Random inserts, updates, lookups and erases against std::unordered_map,
// on a key range small enough that probe runs collide and wrap.
TEST(FlatMapTest, BehavesLikeUnorderedMapUnderRandomOperations) {
  FlatMap64<uint32_t> map;
  std::unordered_map<uint64_t, uint32_t> want;
  SplitMix64 rng(1);
  for (int step = 0; step < 200000; ++step) {
    const uint64_t key = rng.Uniform(3000) * 0x100000001ull;  // (u << 32 | i)-like keys
    const auto op = rng.Uniform(4);
    if (op == 0) {
      const auto value = static_cast<uint32_t>(rng.Next());
      const auto [v, inserted] = map.try_emplace(key, value);
      const auto [it, want_inserted] = want.try_emplace(key, value);
      ASSERT_EQ(inserted, want_inserted);
      ASSERT_EQ(*v, it->second);
    } else if (op == 1) {
      ASSERT_EQ(map.erase(key), want.erase(key) == 1);
    } else if (op == 2) {
      const uint32_t* v = map.find(key);
      const auto it = want.find(key);
      ASSERT_EQ(v != nullptr, it != want.end());
      if (v != nullptr) {
        ASSERT_EQ(*v, it->second);
      }
    } else if (uint32_t* v = map.find(key)) {
      *v += 1;
      want[key] += 1;
    }
    ASSERT_EQ(map.size(), want.size());
  }
  for (const auto& [key, value] : want) ASSERT_EQ(map.at(key), value);
  map.clear();
  EXPECT_TRUE(map.empty());
  EXPECT_FALSE(map.contains(0));
  EXPECT_FALSE(map.erase(0));
}

TEST(FlatMapTest, ReserveAvoidsGrowthAndMemoryIsOneSlotPerEntryAtMostDoubled) {
  FlatMap64<uint64_t> map;
  map.reserve(1000);
  const size_t bytes = map.MemoryBytes();
  for (uint64_t k = 0; k < 1000; ++k) map.try_emplace(k, k);
  EXPECT_EQ(map.MemoryBytes(), bytes);
  EXPECT_LE(bytes, 1000 * 16 * 8 / 7 * 2);
}

}  // namespace
}  // namespace streamrec::engine
