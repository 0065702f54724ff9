#include "engine/live/seen_lists.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "engine/core/random.h"

namespace streamrec::engine {
namespace {

std::vector<uint32_t> List(const SeenLists& s, uint32_t u) {
  const auto span = s.Get(u);
  return {span.begin(), span.end()};
}

TEST(SeenListsTest, KeepsEachUsersItemsSortedAndDistinct) {
  SeenLists s;
  EXPECT_TRUE(s.Get(0).empty());
  EXPECT_TRUE(s.Insert(3, 9));
  EXPECT_TRUE(s.Insert(3, 2));
  EXPECT_FALSE(s.Insert(3, 9));
  EXPECT_TRUE(s.Insert(3, 5));
  EXPECT_TRUE(s.Insert(40, 1));
  EXPECT_EQ(s.users(), 41u);
  EXPECT_EQ(s.Pages(), 3u);  // 16 users a page
  EXPECT_EQ(List(s, 3), (std::vector<uint32_t>{2, 5, 9}));
  EXPECT_TRUE(s.Get(4).empty());
  EXPECT_TRUE(s.Get(41).empty());  // past the slots
  s.Clear(3);
  EXPECT_TRUE(s.Get(3).empty());
  EXPECT_EQ(List(s, 40), std::vector<uint32_t>{1});
  s.Clear(1000);  // no slot: nothing to do
  EXPECT_EQ(s.users(), 41u);
}

TEST(SeenListsTest, CompactKeepsTheListsAndFreesTheirSlack) {
  SeenLists s;
  SplitMix64 rng(7);
  std::vector<std::vector<uint32_t>> want(100);
  for (int n = 0; n < 3000; ++n) {
    const auto u = static_cast<uint32_t>(rng.Uniform(100));
    const auto i = static_cast<uint32_t>(rng.Uniform(500));
    s.Insert(u, i);
    auto& w = want[u];
    if (std::find(w.begin(), w.end(), i) == w.end()) w.push_back(i);
  }
  const size_t before = s.MemoryBytes(false);
  s.Compact();
  EXPECT_LT(s.MemoryBytes(false), before);
  for (uint32_t u = 0; u < 100; ++u) {
    std::sort(want[u].begin(), want[u].end());
    EXPECT_EQ(List(s, u), want[u]) << u;
  }
}

TEST(SeenListsTest, CopiesSharePagesUntilOneWrites) {
  SeenLists a;
  for (uint32_t u = 0; u < 48; ++u) a.Insert(u, u % 7);
  SeenLists b;
  b.ShareAll(a);
  EXPECT_EQ(b.users(), 48u);
  EXPECT_EQ(a.OwnPages(), 0u);
  EXPECT_EQ(b.OwnPages(), 0u);
  EXPECT_EQ(a.MemoryBytes(true), b.MemoryBytes(true));
  // An item the user already has writes nothing: still shared.
  EXPECT_FALSE(b.Insert(5, 5));
  EXPECT_EQ(b.OwnPages(), 0u);
  // A write copies the page first: the other copy does not see it.
  EXPECT_TRUE(b.Insert(5, 100));
  EXPECT_EQ(b.OwnPages(), 1u);
  EXPECT_EQ(List(b, 5), (std::vector<uint32_t>{5, 100}));
  EXPECT_EQ(List(a, 5), std::vector<uint32_t>{5});
  b.Clear(20);
  EXPECT_EQ(List(a, 20), std::vector<uint32_t>{6});
  EXPECT_EQ(b.OwnPages(), 2u);
  // The same writes on a (a follower repeating its leader's run), then
  // a takes b's pages for the ones it wrote: held once again.
  EXPECT_TRUE(a.Insert(5, 100));
  a.Clear(20);
  a.ShareWritten(b);
  EXPECT_EQ(a.OwnPages(), 0u);
  EXPECT_EQ(b.OwnPages(), 0u);
  EXPECT_EQ(List(a, 5), List(b, 5));
  EXPECT_TRUE(a.Get(20).empty());
  // Growth: new pages are the grower's, then shared the same way.
  b.Insert(70, 1);
  a.Insert(70, 1);
  EXPECT_EQ(a.OwnPages(), 2u);  // pages 3 and 4, new in each
  a.ShareWritten(b);
  EXPECT_EQ(a.OwnPages(), 0u);
  EXPECT_EQ(a.Pages(), b.Pages());
}

// A page holds its users' lists back to back: every insert and clear
// shifts the lists after it. Random writes to the users of a few pages,
// with a copy taken and followed now and then, against a plain model.
TEST(SeenListsTest, PageMatesKeepTheirListsThroughInsertsClearsAndCopies) {
  SeenLists s, copy;
  std::vector<std::vector<uint32_t>> want(40);
  SplitMix64 rng(11);
  for (int n = 0; n < 4000; ++n) {
    const auto u = static_cast<uint32_t>(rng.Uniform(40));
    if (rng.Uniform(50) == 0) {
      s.Clear(u);
      want[u].clear();
    } else {
      const auto i = static_cast<uint32_t>(rng.Uniform(300));
      auto& w = want[u];
      const auto at = std::lower_bound(w.begin(), w.end(), i);
      const bool fresh = at == w.end() || *at != i;
      if (fresh) w.insert(at, i);
      EXPECT_EQ(s.Insert(u, i), fresh);
    }
    if (n % 97 == 0) {
      // The copy keeps what it saw while s writes on (copy-on-write).
      std::vector<std::vector<uint32_t>> seen(s.users());
      for (uint32_t v = 0; v < s.users(); ++v) seen[v] = List(s, v);
      copy.ShareAll(s);
      s.Insert(u, 1000 + static_cast<uint32_t>(n));
      want[u].push_back(1000 + static_cast<uint32_t>(n));
      for (uint32_t v = 0; v < copy.users(); ++v) ASSERT_EQ(List(copy, v), seen[v]) << v;
    }
  }
  for (uint32_t u = 0; u < 40; ++u) EXPECT_EQ(List(s, u), want[u]) << u;
  s.Compact();
  for (uint32_t u = 0; u < 40; ++u) EXPECT_EQ(List(s, u), want[u]) << u;
}

TEST(SeenListsTest, AssignReplacesEverything) {
  SeenLists s;
  s.Insert(50, 3);
  s.Assign({{1, 4}, {}, {2}});
  EXPECT_EQ(s.users(), 3u);
  EXPECT_EQ(s.Pages(), 1u);
  EXPECT_EQ(List(s, 0), (std::vector<uint32_t>{1, 4}));
  EXPECT_EQ(List(s, 2), std::vector<uint32_t>{2});
  EXPECT_TRUE(s.Get(50).empty());
  s.Reset();
  EXPECT_EQ(s.users(), 0u);
  EXPECT_EQ(s.Pages(), 0u);
}

}  // namespace
}  // namespace streamrec::engine
