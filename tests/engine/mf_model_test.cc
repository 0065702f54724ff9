#include "engine/model/mf_model.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_map>
#include <vector>

namespace streamrec::engine {
namespace {

ModelOptions Options(int rank, uint64_t seed = 42, float init_stddev = 0.1f) {
  ModelOptions o;
  o.rank = rank;
  o.seed = seed;
  o.init_stddev = init_stddev;
  return o;
}

bool SameRow(const float* a, const float* b, int rank) {
  return std::memcmp(a, b, sizeof(float) * static_cast<size_t>(rank)) == 0;
}

TEST(MFModelTest, StartsEmpty) {
  const MFModel m(Options(8));
  EXPECT_EQ(m.rank(), 8);
  EXPECT_EQ(m.num_users(), 0u);
  EXPECT_EQ(m.num_items(), 0u);
  EXPECT_EQ(m.global_mean(), 0.0f);
  EXPECT_EQ(m.options().seed, 42u);
}

TEST(MFModelTest, EnsureGrowsButNeverShrinks) {
  MFModel m(Options(4));
  m.EnsureUsers(5);
  m.EnsureItems(7);
  EXPECT_EQ(m.num_users(), 5u);
  EXPECT_EQ(m.num_items(), 7u);
  m.user_bias(4) = 1.5f;
  m.EnsureUsers(3);
  m.EnsureItems(0);
  EXPECT_EQ(m.num_users(), 5u);
  EXPECT_EQ(m.num_items(), 7u);
  EXPECT_EQ(m.user_bias(4), 1.5f);
  for (uint32_t u = 0; u < 5; ++u) EXPECT_EQ(m.user_bias(u), u == 4 ? 1.5f : 0.0f);
  for (uint32_t i = 0; i < 7; ++i) EXPECT_EQ(m.item_bias(i), 0.0f);
}

TEST(MFModelTest, InitialRowsDoNotDependOnGrowthSteps) {
  MFModel one_step(Options(16));
  one_step.EnsureUsers(10);
  one_step.EnsureItems(10);
  MFModel ten_steps(Options(16));
  for (uint32_t n = 1; n <= 10; ++n) {
    ten_steps.EnsureItems(n);  // interleaved, items first: order must not matter
    ten_steps.EnsureUsers(n);
  }
  for (uint32_t r = 0; r < 10; ++r) {
    EXPECT_TRUE(SameRow(one_step.user_factors(r), ten_steps.user_factors(r), 16)) << r;
    EXPECT_TRUE(SameRow(one_step.item_factors(r), ten_steps.item_factors(r), 16)) << r;
  }
}

TEST(MFModelTest, InitialRowIsUntouchedByTrainingOtherRows) {
  // Row 7 appended after row 0 was modified is still its initial vector.
  MFModel a(Options(8));
  a.EnsureItems(1);
  a.item_factors(0)[0] = 123.0f;
  a.EnsureItems(8);
  MFModel b(Options(8));
  b.EnsureItems(8);
  EXPECT_TRUE(SameRow(a.item_factors(7), b.item_factors(7), 8));
  std::vector<float> expected(8);
  b.InitialVector('i', 7, expected.data());
  EXPECT_TRUE(SameRow(a.item_factors(7), expected.data(), 8));
}

TEST(MFModelTest, InitialVectorDependsOnSeedKindAndRow) {
  const MFModel m42(Options(8, 42)), m43(Options(8, 43));
  std::vector<float> u0(8), i0(8), u1(8), u0_other_seed(8), u0_again(8);
  m42.InitialVector('u', 0, u0.data());
  m42.InitialVector('i', 0, i0.data());
  m42.InitialVector('u', 1, u1.data());
  m43.InitialVector('u', 0, u0_other_seed.data());
  m42.InitialVector('u', 0, u0_again.data());
  EXPECT_TRUE(SameRow(u0.data(), u0_again.data(), 8));
  EXPECT_FALSE(SameRow(u0.data(), i0.data(), 8));
  EXPECT_FALSE(SameRow(u0.data(), u1.data(), 8));
  EXPECT_FALSE(SameRow(u0.data(), u0_other_seed.data(), 8));
  // And the model's rows are exactly these vectors.
  MFModel grown(Options(8, 42));
  grown.EnsureUsers(2);
  grown.EnsureItems(1);
  EXPECT_TRUE(SameRow(grown.user_factors(0), u0.data(), 8));
  EXPECT_TRUE(SameRow(grown.user_factors(1), u1.data(), 8));
  EXPECT_TRUE(SameRow(grown.item_factors(0), i0.data(), 8));
}

TEST(MFModelTest, InitialEntriesHaveTheConfiguredSpread) {
  MFModel m(Options(8, 7, 0.25f));
  m.EnsureItems(4000);
  double sum = 0.0, sum_sq = 0.0;
  const size_t n = size_t{4000} * 8;
  const RowMatrixXf rows = m.ItemRows();
  for (size_t x = 0; x < n; ++x) {
    const double v = rows.data()[x];
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
    sum_sq += v * v;
  }
  const double mean = sum / n;
  const double stddev = std::sqrt(sum_sq / n - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(stddev, 0.25, 0.01);

  MFModel zero(Options(8, 7, 0.0f));
  zero.EnsureUsers(3);
  for (int d = 0; d < 8; ++d) EXPECT_EQ(zero.user_factors(2)[d], 0.0f);
}

// Rows past init_full_scale_users / _items start at init_stddev x sqrt(N /
// (row + 1)); the rows before them as with no such count, to the bit
// (snapshots from before the option rely on that).
TEST(MFModelTest, RowsPastTheFullScaleCountStartSmaller) {
  ModelOptions full = Options(16, 7, 0.2f);
  full.init_full_scale_users = 0;
  full.init_full_scale_items = 0;
  ModelOptions shrunk = full;
  shrunk.init_full_scale_users = 3000;
  shrunk.init_full_scale_items = 1000;
  MFModel a(full), b(shrunk);
  a.EnsureUsers(3000);
  b.EnsureUsers(3000);
  a.EnsureItems(16000);
  b.EnsureItems(16000);
  for (uint32_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(SameRow(a.item_factors(i), b.item_factors(i), 16)) << i;
  }
  for (uint32_t u = 0; u < 3000; ++u) {
    ASSERT_TRUE(SameRow(a.user_factors(u), b.user_factors(u), 16)) << u;
  }
  EXPECT_EQ(b.InitialStddev('i', 999), 0.2f);
  EXPECT_FLOAT_EQ(b.InitialStddev('i', 3999), 0.1f);    // sqrt(1000 / 4000)
  EXPECT_FLOAT_EQ(b.InitialStddev('i', 15999), 0.05f);  // sqrt(1000 / 16000)
  EXPECT_EQ(b.InitialStddev('u', 2999), 0.2f);
  EXPECT_FLOAT_EQ(b.InitialStddev('u', 11999), 0.1f);  // sqrt(3000 / 12000)
  EXPECT_EQ(a.InitialStddev('i', 15999), 0.2f);
  EXPECT_EQ(a.InitialStddev('u', 15999), 0.2f);
  // The same draws, scaled: each entry of row 3999 is half of its
  // unshrunk value, and the rows' spread follows.
  for (int d = 0; d < 16; ++d) {
    EXPECT_NEAR(b.item_factors(3999)[d], 0.5f * a.item_factors(3999)[d], 1e-6f) << d;
  }
  double sum_sq = 0.0;
  for (uint32_t i = 12000; i < 16000; ++i) {
    for (int d = 0; d < 16; ++d) sum_sq += double{b.item_factors(i)[d]} * b.item_factors(i)[d];
  }
  // Rows 12000-15999 start at 0.2 x sqrt(1000 / (r + 1)): ~0.054 to 0.058.
  EXPECT_NEAR(std::sqrt(sum_sq / (4000.0 * 16)), 0.056, 0.003);
}

// The initial vectors are documented as "random", each a function of (seed,
// kind, row). Distinct rows must not be copies, even shifted ones, of each
// other: two rows sharing a run of identical Gaussian draws start correlated.
// Two equal consecutive float draws by chance is ~impossible (< 1e-9 here).
TEST(MFModelTest, InitialVectorsOfDistinctRowsShareNoRunOfDraws) {
  for (uint64_t seed : {uint64_t{0}, uint64_t{42}}) {
    MFModel m(Options(8, seed));
    const uint32_t rows = 200;
    m.EnsureUsers(rows);
    m.EnsureItems(rows);
    // (two consecutive entries) -> the row that holds them, users and items.
    std::unordered_map<uint64_t, int64_t> owner;
    int shared = 0;
    for (int64_t r = 0; r < 2 * int64_t{rows}; ++r) {
      const float* v = r < rows ? m.user_factors(static_cast<uint32_t>(r))
                                : m.item_factors(static_cast<uint32_t>(r - rows));
      for (int d = 0; d + 1 < 8; ++d) {
        uint64_t key;
        std::memcpy(&key, v + d, sizeof(key));
        auto [it, inserted] = owner.emplace(key, r);
        if (!inserted && it->second != r) {
          if (++shared <= 3) {
            ADD_FAILURE() << "seed " << seed << ": " << (r < rows ? "user " : "item ")
                          << (r < rows ? r : r - rows) << " entries " << d << ".." << d + 1
                          << " equal entries of " << (it->second < rows ? "user " : "item ")
                          << (it->second < rows ? it->second : it->second - rows);
          }
        }
      }
    }
    EXPECT_EQ(shared, 0) << "seed " << seed;
  }
}

TEST(MFModelTest, ItemRowsReadThePagesInOrder) {
  const uint32_t kRows = MFModel::kItemPageRows;
  MFModel m(Options(5));
  m.EnsureItems(2 * kRows + 3);  // three pages, the last partly used
  m.EnsureUsers(3);
  const MFModel& rows = m;
  const RowMatrixXf block = m.ItemRows();
  ASSERT_EQ(block.rows(), 2 * kRows + 3);
  ASSERT_EQ(block.cols(), 5);
  const RowsView view = m.item_rows();
  std::vector<float> scratch;
  // A block across pages comes back together, one inside a page in place.
  const float* across = view.Block(kRows - 2, 5, 5, &scratch);
  EXPECT_EQ(across, scratch.data());
  EXPECT_EQ(view.Block(kRows + 1, 4, 5, &scratch), rows.item_factors(kRows + 1));
  for (uint32_t i = 0; i < m.num_items(); ++i) {
    EXPECT_EQ(view.row(i, 5), rows.item_factors(i)) << i;
    for (int d = 0; d < 5; ++d) EXPECT_EQ(block(i, d), rows.item_factors(i)[d]);
    if (i >= kRows - 2 && i < kRows + 3) {
      EXPECT_EQ(std::memcmp(across + size_t{i - (kRows - 2)} * 5, rows.item_factors(i),
                            5 * sizeof(float)),
                0)
          << i;
    }
  }
  RowMatrixXf twice = 2.0f * block;
  m.SetItemRows(twice);
  EXPECT_EQ(m.ItemRows(), twice);
  EXPECT_EQ(m.UserRows().rows(), 3);
  m.user_factors(2)[4] = 9.0f;
  EXPECT_EQ(m.UserRows()(2, 4), 9.0f);
  m.item_bias(3) = 0.5f;
  EXPECT_EQ(m.item_biases()[3], 0.5f);
}

TEST(MFModelTest, UserPagesAreSharedUntilWritten) {
  const uint32_t kRows = MFModel::kUserPageRows;
  MFModel a(Options(4));
  a.EnsureUsers(2 * kRows + 5);  // three pages, the last partly used
  a.EnsureItems(3);
  EXPECT_EQ(a.UserPages(), 3u);
  EXPECT_EQ(a.OwnUserPages(), 3u);
  const RowMatrixXf before = a.UserRows();
  ASSERT_EQ(before.rows(), 2 * kRows + 5);
  for (uint32_t u = 0; u < a.num_users(); ++u) {
    for (int d = 0; d < 4; ++d) ASSERT_EQ(before(u, d), a.user_factors(u)[d]) << u;
  }
  MFModel b = a.Clone();
  EXPECT_EQ(a.OwnUserPages(), 0u);
  // A write copies the page first: the other model keeps its rows.
  b.user_factors(kRows + 1)[2] = 7.0f;
  EXPECT_EQ(b.OwnUserPages(), 1u);
  EXPECT_EQ(a.UserRows(), before);
  EXPECT_EQ(b.UserRows()(kRows + 1, 2), 7.0f);
  // Sharing one page back, and growing by sharing.
  a.ShareUserPage(b, kRows + 1);
  EXPECT_EQ(a.user_factors(kRows + 1)[2], 7.0f);
  EXPECT_EQ(a.UserRows(), b.UserRows());
  b.EnsureUsers(3 * kRows + 1);  // writes the new rows' start vectors
  a.ShareUsers(b, 3 * kRows);
  EXPECT_EQ(a.num_users(), 3 * kRows);
  for (uint32_t u = 0; u < a.num_users(); ++u) {
    for (int d = 0; d < 4; ++d) ASSERT_EQ(a.user_factors(u)[d], b.user_factors(u)[d]) << u;
  }
  a.EnsureUsers(3 * kRows + 1);  // its own start vector, as b's
  EXPECT_EQ(a.UserRows(), b.UserRows());
  // Whole-block reads and writes, and threads' ownership.
  RowMatrixXf rows = RowMatrixXf::Constant(a.num_users(), 4, 0.5f);
  a.SetUserRows(rows);
  EXPECT_EQ(a.UserRows(), rows);
  EXPECT_NE(b.UserRows(), rows);
  MFModel c = b.Clone();
  c.OwnAllPages();
  EXPECT_EQ(c.OwnUserPages(), c.UserPages());
  EXPECT_EQ(c.OwnItemPages(), c.ItemPages());
  EXPECT_EQ(c.UserRows(), b.UserRows());
  uint32_t seen = 0;
  c.ForEachUserBlock([&](uint32_t first, uint32_t count, const float* block) {
    EXPECT_EQ(first, seen);
    EXPECT_EQ(block, c.user_factors(first));
    seen += count;
  });
  EXPECT_EQ(seen, c.num_users());
}

TEST(MFModelTest, PagesTradedBetweenCopiesAreRecycled) {
  // A Left-Right run: the leader copies each page it writes, the follower
  // then takes the leader's and frees its own, which waits in the pool for
  // the leader's next copy (page_pool.h).
  const uint32_t kRows = MFModel::kUserPageRows;
  MFModel leader(Options(4));
  leader.EnsureUsers(4 * kRows);
  leader.EnsureItems(1);
  MFModel follower = leader.Clone();
  EXPECT_EQ(follower.PagePoolBytes(), 0u);
  const size_t page_bytes = size_t{kRows} * 4 * sizeof(float);
  for (int run = 0; run < 3; ++run) {
    for (uint32_t u : {0u, 2 * kRows}) leader.user_factors(u)[1] = static_cast<float>(run + u);
    EXPECT_EQ(leader.OwnUserPages(), 2u);
    for (uint32_t u : {0u, 2 * kRows}) follower.ShareUserPage(leader, u);
    EXPECT_EQ(leader.OwnUserPages(), 0u);
    // The follower's two old pages (its own since the leader's copies;
    // at the first run the pages both had from the start): kept for the
    // next run, shared by both models.
    EXPECT_EQ(follower.PagePoolBytes(), 2 * page_bytes) << run;
    EXPECT_EQ(leader.PagePoolBytes(), follower.PagePoolBytes());
    EXPECT_EQ(follower.UserRows(), leader.UserRows());
    EXPECT_EQ(follower.user_factors(2 * kRows)[1], static_cast<float>(run + 2 * kRows));
  }
}

TEST(PagePoolTest, RecyclesBlocksAndGivesBackTheMemoryOfThosePastTheWarmCap) {
  const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  PagePool pool(page, 2);
  void* a = pool.Allocate();
  void* b = pool.Allocate();
  void* c = pool.Allocate();
  // Side by side in one slab, on page boundaries.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % page, 0u);
  EXPECT_EQ(static_cast<char*>(b) - static_cast<char*>(a), static_cast<ptrdiff_t>(page));
  EXPECT_EQ(static_cast<char*>(c) - static_cast<char*>(b), static_cast<ptrdiff_t>(page));
  std::memset(c, 0x5a, page);
  pool.Deallocate(a);
  pool.Deallocate(b);
  pool.Deallocate(c);  // past the cap: kept, its memory given back
  EXPECT_EQ(pool.free_blocks(), 2u);
  EXPECT_EQ(pool.FreeBytes(), 2 * page);
  EXPECT_EQ(pool.cold_blocks(), 1u);
  // The warm blocks first, then the cold one, then new ones.
  void* d = pool.Allocate();
  void* e = pool.Allocate();
  EXPECT_TRUE((d == a && e == b) || (d == b && e == a));
  void* f = pool.Allocate();
  EXPECT_EQ(f, c);
#if defined(__linux__)
  const auto* bytes = static_cast<const unsigned char*>(f);
  EXPECT_TRUE(std::all_of(bytes, bytes + page, [](unsigned char x) { return x == 0; }));
#endif
  void* g = pool.Allocate();
  EXPECT_EQ(static_cast<char*>(g) - static_cast<char*>(c), static_cast<ptrdiff_t>(page));
  EXPECT_EQ(pool.free_blocks() + pool.cold_blocks(), 0u);
  EXPECT_GE(pool.SlabBytes(), 4 * page);
  for (void* p : {d, e, f, g}) pool.Deallocate(p);
}

TEST(PagePoolTest, BlocksOfPartPagesKeepTheirMemoryPastTheCap) {
  PagePool pool(640, 1);  // rank 10: 16 x 10 floats
  void* a = pool.Allocate();
  void* b = pool.Allocate();
  EXPECT_EQ(static_cast<char*>(b) - static_cast<char*>(a), 640);
  pool.Deallocate(a);
  pool.Deallocate(b);
  EXPECT_EQ(pool.free_blocks(), 2u);
  EXPECT_EQ(pool.cold_blocks(), 0u);
}

TEST(PagePoolTest, APageReturnsToItsPoolWhenItsLastHolderLetsGo) {
  auto pool = std::make_shared<PagePool>(64 * sizeof(float), 8);
  std::shared_ptr<float[]> page = PoolPage(pool);
  std::shared_ptr<float[]> other = page;
  std::weak_ptr<PagePool> alive = pool;
  pool.reset();  // the page keeps it
  ASSERT_FALSE(alive.expired());
  page.reset();
  EXPECT_EQ(alive.lock()->free_blocks(), 0u);
  other.reset();  // the last holder: the block back, then the pool gone
  EXPECT_TRUE(alive.expired());
}

// A page's shared_ptr control block is a holder block of its pool, not
// a malloc (which scattered 48-byte blocks through a replay's heap): freed
// with the page, reused by the next.
TEST(PagePoolTest, APagesControlBlockIsAHolderBlockOfThePool) {
  auto pool = std::make_shared<PagePool>(64 * sizeof(float), 8);
  std::vector<std::shared_ptr<float[]>> pages;
  for (int n = 0; n < 3; ++n) pages.push_back(PoolPage(pool));
  EXPECT_EQ(pool->free_holders(), 0u);
  pages.resize(1);
  EXPECT_EQ(pool->free_blocks(), 2u);
  EXPECT_EQ(pool->free_holders(), 2u);
  pages.push_back(PoolPage(pool));
  pages.push_back(PoolPage(pool));
  EXPECT_EQ(pool->free_blocks(), 0u);
  EXPECT_EQ(pool->free_holders(), 0u);
  pages[2][63] = 1.0f;  // the page's floats are its own
  EXPECT_EQ(pages[2][63], 1.0f);
}

TEST(MFModelTest, PredictIsMeanPlusBiasesPlusDot) {
  MFModel m(Options(2));
  m.EnsureUsers(2);
  m.EnsureItems(2);
  m.global_mean() = 3.0f;
  m.user_bias(1) = 0.25f;
  m.item_bias(0) = -0.5f;
  m.user_factors(1)[0] = 1.0f;
  m.user_factors(1)[1] = 2.0f;
  m.item_factors(0)[0] = 0.5f;
  m.item_factors(0)[1] = -0.25f;
  // 3 + 0.25 - 0.5 + (1*0.5 + 2*-0.25) = 2.75
  EXPECT_FLOAT_EQ(m.Predict(1, 0), 2.75f);
  // An unknown user or item contributes neither bias nor vector.
  EXPECT_FLOAT_EQ(m.Predict(5, 0), 2.5f);
  EXPECT_FLOAT_EQ(m.Predict(1, 9), 3.25f);
  EXPECT_FLOAT_EQ(m.Predict(5, 9), 3.0f);
}

TEST(MFModelTest, CloneIsDeepAndEqual) {
  MFModel m(Options(4));
  m.EnsureUsers(3);
  m.EnsureItems(5);
  m.global_mean() = 3.5f;
  m.user_bias(2) = 0.1f;
  m.item_bias(4) = -0.2f;
  MFModel c = m.Clone();
  ASSERT_EQ(c.num_users(), 3u);
  ASSERT_EQ(c.num_items(), 5u);
  EXPECT_EQ(c.global_mean(), 3.5f);
  EXPECT_EQ(c.user_bias(2), 0.1f);
  EXPECT_EQ(c.item_bias(4), -0.2f);
  EXPECT_EQ(std::memcmp(c.ItemRows().data(), m.ItemRows().data(), sizeof(float) * 5 * 4), 0);
  EXPECT_TRUE(SameRow(c.user_factors(1), m.user_factors(1), 4));
  EXPECT_EQ(m.OwnItemPages(), 0u);  // shared until written
  c.item_factors(0)[0] += 1.0f;
  EXPECT_EQ(c.OwnItemPages(), 1u);
  c.user_bias(2) = 7.0f;
  c.EnsureItems(10);
  EXPECT_NE(c.item_factors(0)[0], m.item_factors(0)[0]);
  EXPECT_EQ(m.user_bias(2), 0.1f);
  EXPECT_EQ(m.num_items(), 5u);
  // What c wrote goes back to m's pages once m has the same rows.
  m.EnsureItems(10);
  m.item_factors(0)[0] = c.item_factors(0)[0];
  c.ShareWrittenItemPages(m);
  EXPECT_EQ(c.OwnItemPages(), 0u);
  EXPECT_EQ(c.ItemRows(), m.ItemRows());
}

TEST(MFModelTest, ReinitializeRestoresInitialState) {
  MFModel fresh(Options(6));
  fresh.EnsureUsers(4);
  fresh.EnsureItems(3);
  MFModel m(Options(6));
  m.EnsureUsers(4);
  m.EnsureItems(3);
  m.global_mean() = 4.0f;
  for (uint32_t u = 0; u < 4; ++u) {
    m.user_bias(u) = 1.0f;
    m.user_factors(u)[0] = 5.0f;
  }
  for (uint32_t i = 0; i < 3; ++i) {
    m.item_bias(i) = -1.0f;
    m.item_factors(i)[5] = 5.0f;
  }
  m.Reinitialize();
  EXPECT_EQ(m.global_mean(), 0.0f);
  EXPECT_EQ(m.num_users(), 4u);
  EXPECT_EQ(m.num_items(), 3u);
  for (uint32_t u = 0; u < 4; ++u) {
    EXPECT_EQ(m.user_bias(u), 0.0f);
    EXPECT_TRUE(SameRow(m.user_factors(u), fresh.user_factors(u), 6));
  }
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(m.item_bias(i), 0.0f);
    EXPECT_TRUE(SameRow(m.item_factors(i), fresh.item_factors(i), 6));
  }
}

}  // namespace
}  // namespace streamrec::engine
