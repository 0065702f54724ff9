#include "engine/model/topn.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <span>
#include <vector>

#include "engine/core/random.h"

namespace streamrec::engine {
namespace {

// Values k/64, k in [-64, 64]: every product, sum and bias below is exact in
// float whatever the summation order, so the scan (Eigen GEMM) and the
// reference agree to the bit and ties are real ties.
std::vector<float> DyadicMatrix(SplitMix64* rng, size_t n) {
  std::vector<float> v(n);
  for (float& x : v) x = static_cast<float>(static_cast<int>(rng->Uniform(129)) - 64) / 64.0f;
  return v;
}

struct Reference {
  const float* item_bias = nullptr;
  bool cosine = false;
  const uint8_t* allowed = nullptr;
  std::vector<uint32_t> exclude;  // any order, duplicates, out of range
};

// Scores every item, sorts all of them (score desc, id asc), keeps n.
std::vector<ScoredItem> BruteForce(const std::vector<float>& items, uint32_t n_items, int dim,
                                   const float* query, size_t n, const Reference& ref) {
  const std::set<uint32_t> excluded(ref.exclude.begin(), ref.exclude.end());
  std::vector<ScoredItem> all;
  for (uint32_t i = 0; i < n_items; ++i) {
    if (excluded.count(i) || (ref.allowed != nullptr && ref.allowed[i] == 0)) continue;
    float dot = 0.0f, sq = 0.0f;
    for (int d = 0; d < dim; ++d) {
      const float v = items[size_t{i} * dim + d];
      dot += v * query[d];
      sq += v * v;
    }
    float score = dot;
    if (ref.cosine) {
      if (sq == 0.0f) continue;  // zero-norm items are skipped
      const float inv = 1.0f / std::sqrt(sq);
      score = dot * inv;
    }
    if (ref.item_bias != nullptr) score += ref.item_bias[i];
    all.push_back({i, score});
  }
  std::sort(all.begin(), all.end(), [](const ScoredItem& a, const ScoredItem& b) {
    return a.score != b.score ? a.score > b.score : a.item < b.item;
  });
  if (all.size() > n) all.resize(n);
  return all;
}

std::string Describe(const std::vector<ScoredItem>& v) {
  std::string s;
  for (const auto& x : v) s += std::to_string(x.item) + ":" + std::to_string(x.score) + " ";
  return s;
}

TEST(TopKHeapTest, KeepsTheKBestBestFirst) {
  TopKHeap heap(3);
  EXPECT_EQ(heap.threshold(), -std::numeric_limits<float>::infinity());
  heap.Push(0, 1.0f);
  heap.Push(1, 5.0f);
  heap.Push(2, -2.0f);
  EXPECT_EQ(heap.threshold(), -2.0f);
  heap.Push(3, 3.0f);
  heap.Push(4, 0.0f);
  EXPECT_EQ(heap.size(), 3u);
  EXPECT_EQ(heap.threshold(), 1.0f);
  const std::vector<ScoredItem> want = {{1, 5.0f}, {3, 3.0f}, {0, 1.0f}};
  EXPECT_EQ(heap.TakeSorted(), want);
  EXPECT_EQ(heap.size(), 0u);
  EXPECT_TRUE(heap.TakeSorted().empty());
}

TEST(TopKHeapTest, TiesGoToTheLowerIdInAnyPushOrder) {
  TopKHeap descending(2);
  for (uint32_t id : {9u, 7u, 5u, 3u}) descending.Push(id, 1.0f);
  EXPECT_EQ(descending.TakeSorted(), (std::vector<ScoredItem>{{3, 1.0f}, {5, 1.0f}}));
  TopKHeap mixed(3);
  for (uint32_t id : {4u, 8u, 1u, 6u, 2u}) mixed.Push(id, id == 8 ? 2.0f : 1.0f);
  EXPECT_EQ(mixed.TakeSorted(), (std::vector<ScoredItem>{{8, 2.0f}, {1, 1.0f}, {2, 1.0f}}));
}

TEST(TopKHeapTest, IgnoresNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  TopKHeap heap(2);
  heap.Push(0, nan);
  EXPECT_EQ(heap.size(), 0u);
  heap.Push(1, -1.0f);
  heap.Push(2, nan);
  heap.Push(3, -3.0f);
  heap.Push(4, nan);  // a full heap must not let NaN displace anything
  EXPECT_EQ(heap.TakeSorted(), (std::vector<ScoredItem>{{1, -1.0f}, {3, -3.0f}}));
}

TEST(TopKHeapTest, KeepsInfinities) {
  const float inf = std::numeric_limits<float>::infinity();
  TopKHeap heap(3);
  heap.Push(0, -inf);
  heap.Push(1, inf);
  heap.Push(2, 0.0f);
  EXPECT_EQ(heap.TakeSorted(), (std::vector<ScoredItem>{{1, inf}, {2, 0.0f}, {0, -inf}}));
}

TEST(TopKHeapTest, ZeroCapacityKeepsNothing) {
  TopKHeap heap(0);
  heap.Push(0, 1.0f);
  EXPECT_EQ(heap.size(), 0u);
  EXPECT_TRUE(heap.TakeSorted().empty());
}

TEST(TopNTest, MatchesBruteForceForManyShapes) {
  SplitMix64 rng(11);
  int cases = 0;
  for (int dim : {1, 3, 8, 17, 64}) {
    for (uint32_t n_items : {1u, 50u, 1000u}) {
      const std::vector<float> items = DyadicMatrix(&rng, size_t{n_items} * dim);
      const std::vector<float> bias = DyadicMatrix(&rng, n_items);
      const std::vector<float> query = DyadicMatrix(&rng, dim);
      for (bool with_bias : {false, true}) {
        for (size_t n : {size_t{1}, size_t{5}, size_t{10}, size_t{100}, size_t{n_items} + 5}) {
          for (size_t block : {size_t{1}, size_t{7}, size_t{64}, size_t{1024}, size_t{0}}) {
            SCOPED_TRACE(testing::Message() << "dim " << dim << " items " << n_items << " n " << n
                                            << " block " << block << " bias " << with_bias);
            ScanOptions opt;
            opt.block_rows = block;  // 0 is treated as 1
            if (with_bias) opt.item_bias = bias.data();
            ScanQuery q;
            q.vector = query.data();
            const std::vector<ScoredItem> got = TopN(items.data(), n_items, dim, q, n, opt);
            Reference ref;
            ref.item_bias = opt.item_bias;
            const std::vector<ScoredItem> want =
                BruteForce(items, n_items, dim, query.data(), n, ref);
            ASSERT_EQ(got, want) << "got  " << Describe(got) << "\nwant " << Describe(want);
            ASSERT_EQ(got.size(), std::min<size_t>(n, n_items));
            ++cases;
          }
        }
      }
    }
  }
  EXPECT_EQ(cases, 5 * 3 * 2 * 5 * 5);
}

TEST(TopNTest, ExactTiesAreOrderedById) {
  // Entries in {-1, 0, 1}, dim 3: only 7 distinct scores over 500 items.
  SplitMix64 rng(5);
  const uint32_t n_items = 500;
  const int dim = 3;
  std::vector<float> items(size_t{n_items} * dim);
  for (float& x : items) x = static_cast<float>(static_cast<int>(rng.Uniform(3)) - 1);
  const float query[dim] = {1.0f, 1.0f, 1.0f};
  for (size_t block : {size_t{3}, size_t{64}, size_t{1024}}) {
    ScanOptions opt;
    opt.block_rows = block;
    ScanQuery q;
    q.vector = query;
    for (size_t n : {size_t{10}, size_t{150}, size_t{500}}) {
      const std::vector<ScoredItem> got = TopN(items.data(), n_items, dim, q, n, opt);
      ASSERT_EQ(got, BruteForce(items, n_items, dim, query, n, {})) << "block " << block;
      for (size_t r = 1; r < got.size(); ++r) {
        ASSERT_GE(got[r - 1].score, got[r].score);
        if (got[r - 1].score == got[r].score) {
          ASSERT_LT(got[r - 1].item, got[r].item);
        }
      }
    }
  }
  // All items tied: the n lowest ids.
  const std::vector<float> zeros(size_t{n_items} * dim, 0.0f);
  ScanQuery q;
  q.vector = query;
  ScanOptions opt;
  opt.block_rows = 7;
  const std::vector<ScoredItem> got = TopN(zeros.data(), n_items, dim, q, 4, opt);
  EXPECT_EQ(got, (std::vector<ScoredItem>{{0, 0.0f}, {1, 0.0f}, {2, 0.0f}, {3, 0.0f}}));
}

TEST(TopNTest, ExclusionsNeverAppear) {
  SplitMix64 rng(17);
  const uint32_t n_items = 300;
  const int dim = 8;
  const std::vector<float> items = DyadicMatrix(&rng, size_t{n_items} * dim);
  const std::vector<float> query = DyadicMatrix(&rng, dim);
  ScanQuery q;
  q.vector = query.data();
  // The true top 5 without exclusions, to make sure we exclude winners.
  const std::vector<ScoredItem> top = TopN(items.data(), n_items, dim, q, 5, {});
  ASSERT_EQ(top.size(), 5u);
  std::vector<uint32_t> a = {top[0].item, top[0].item, top[2].item, 0, 299, 300, 1000000};
  std::vector<uint32_t> b = {top[1].item, top[4].item, top[4].item, 17, 4000000000u};
  for (int n = 0; n < 20; ++n) a.push_back(static_cast<uint32_t>(rng.Uniform(n_items)));
  for (int n = 0; n < 20; ++n) b.push_back(static_cast<uint32_t>(rng.Uniform(n_items + 50)));
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  q.exclude_a = a;
  q.exclude_b = b;
  Reference ref;
  ref.exclude = a;
  ref.exclude.insert(ref.exclude.end(), b.begin(), b.end());
  const std::set<uint32_t> excluded(ref.exclude.begin(), ref.exclude.end());
  for (size_t block : {size_t{1}, size_t{16}, size_t{100}, size_t{1024}}) {
    ScanOptions opt;
    opt.block_rows = block;
    for (size_t n : {size_t{5}, size_t{50}, size_t{1000}}) {
      const std::vector<ScoredItem> got = TopN(items.data(), n_items, dim, q, n, opt);
      for (const auto& s : got) ASSERT_EQ(excluded.count(s.item), 0u) << s.item;
      ASSERT_EQ(got, BruteForce(items, n_items, dim, query.data(), n, ref))
          << "block " << block << " n " << n;
    }
  }
  // Only one list, the other empty, also works.
  ScanQuery only_b;
  only_b.vector = query.data();
  only_b.exclude_b = b;
  Reference ref_b;
  ref_b.exclude = b;
  EXPECT_EQ(TopN(items.data(), n_items, dim, only_b, 30, {}),
            BruteForce(items, n_items, dim, query.data(), 30, ref_b));
}

TEST(TopNTest, AllowedMaskIsRespected) {
  SplitMix64 rng(23);
  const uint32_t n_items = 257;
  const int dim = 5;
  const std::vector<float> items = DyadicMatrix(&rng, size_t{n_items} * dim);
  const std::vector<float> bias = DyadicMatrix(&rng, n_items);
  const std::vector<float> query = DyadicMatrix(&rng, dim);
  std::vector<uint8_t> allowed(n_items);
  for (auto& x : allowed) x = rng.Uniform(3) == 0 ? 0 : static_cast<uint8_t>(1 + rng.Uniform(255));
  ScanOptions opt;
  opt.allowed = allowed.data();
  opt.item_bias = bias.data();
  opt.block_rows = 10;
  ScanQuery q;
  q.vector = query.data();
  Reference ref;
  ref.allowed = allowed.data();
  ref.item_bias = bias.data();
  for (size_t n : {size_t{1}, size_t{20}, size_t{n_items}}) {
    const std::vector<ScoredItem> got = TopN(items.data(), n_items, dim, q, n, opt);
    for (const auto& s : got) ASSERT_NE(allowed[s.item], 0) << s.item;
    ASSERT_EQ(got, BruteForce(items, n_items, dim, query.data(), n, ref));
  }
  // Nothing allowed: nothing returned.
  const std::vector<uint8_t> none(n_items, 0);
  opt.allowed = none.data();
  EXPECT_TRUE(TopN(items.data(), n_items, dim, q, 10, opt).empty());
}

TEST(TopNTest, LargeNReturnsEveryEligibleItem) {
  SplitMix64 rng(29);
  const uint32_t n_items = 40;
  const int dim = 4;
  const std::vector<float> items = DyadicMatrix(&rng, size_t{n_items} * dim);
  const std::vector<float> query = DyadicMatrix(&rng, dim);
  std::vector<uint8_t> allowed(n_items, 1);
  allowed[3] = allowed[39] = 0;
  const std::vector<uint32_t> exclude = {0, 3, 10, 10, 55};  // 3 overlaps the mask
  ScanQuery q;
  q.vector = query.data();
  q.exclude_a = exclude;
  ScanOptions opt;
  opt.allowed = allowed.data();
  opt.block_rows = 16;
  const std::vector<ScoredItem> got = TopN(items.data(), n_items, dim, q, 1000, opt);
  EXPECT_EQ(got.size(), 36u);  // 40 - {0, 3, 10, 39}
  std::set<uint32_t> ids;
  for (const auto& s : got) ids.insert(s.item);
  EXPECT_EQ(ids.size(), 36u);
  for (uint32_t gone : {0u, 3u, 10u, 39u}) EXPECT_EQ(ids.count(gone), 0u);
}

TEST(TopNTest, HugeNReturnsEveryItem) {
  // n is only an upper bound: SIZE_MAX means "all", and must not make the
  // scan reserve memory for n results.
  const float items[4] = {1.0f, 4.0f, 2.0f, 3.0f};
  const float query[1] = {1.0f};
  ScanQuery q;
  q.vector = query;
  const std::vector<ScoredItem> got = TopN(items, 4, 1, q, std::numeric_limits<size_t>::max(), {});
  EXPECT_EQ(got, (std::vector<ScoredItem>{{1, 4.0f}, {3, 3.0f}, {2, 2.0f}, {0, 1.0f}}));
}

TEST(TopNTest, BatchedQueriesEqualSingleQueries) {
  SplitMix64 rng(31);
  const uint32_t n_items = 777;
  const int dim = 12;
  const std::vector<float> items = DyadicMatrix(&rng, size_t{n_items} * dim);
  const std::vector<float> bias = DyadicMatrix(&rng, n_items);
  constexpr size_t kQueries = 6;
  std::vector<std::vector<float>> vectors;
  std::vector<std::vector<uint32_t>> excl_a(kQueries), excl_b(kQueries);
  std::vector<ScanQuery> queries(kQueries);
  for (size_t j = 0; j < kQueries; ++j) {
    vectors.push_back(DyadicMatrix(&rng, dim));
    for (size_t e = 0; e < 10 * j; ++e) {
      excl_a[j].push_back(static_cast<uint32_t>(rng.Uniform(n_items)));
      excl_b[j].push_back(static_cast<uint32_t>(rng.Uniform(n_items * 2)));
    }
    std::sort(excl_a[j].begin(), excl_a[j].end());
    std::sort(excl_b[j].begin(), excl_b[j].end());
  }
  for (size_t j = 0; j < kQueries; ++j) {
    queries[j].vector = vectors[j].data();
    queries[j].exclude_a = excl_a[j];
    queries[j].exclude_b = excl_b[j];
  }
  for (bool cosine : {false, true}) {
    for (size_t block : {size_t{50}, size_t{1024}}) {
      ScanOptions opt;
      opt.item_bias = bias.data();
      opt.cosine = cosine;
      opt.block_rows = block;
      std::vector<std::vector<ScoredItem>> batched = {{{1, 1.0f}}};  // overwritten
      TopNScan(items.data(), n_items, dim, queries, 25, opt, &batched);
      ASSERT_EQ(batched.size(), kQueries);
      for (size_t j = 0; j < kQueries; ++j) {
        ASSERT_EQ(batched[j].size(), 25u);
        EXPECT_EQ(batched[j], TopN(items.data(), n_items, dim, queries[j], 25, opt))
            << "query " << j << " cosine " << cosine << " block " << block;
        Reference ref;
        ref.item_bias = bias.data();
        ref.cosine = cosine;
        ref.exclude = excl_a[j];
        ref.exclude.insert(ref.exclude.end(), excl_b[j].begin(), excl_b[j].end());
        EXPECT_EQ(batched[j], BruteForce(items, n_items, dim, vectors[j].data(), 25, ref));
      }
    }
  }
}

TEST(TopNTest, NoQueriesOrNoItems) {
  std::vector<std::vector<ScoredItem>> out = {{{1, 1.0f}}};
  const float item[2] = {1.0f, 2.0f};
  TopNScan(item, 1, 2, {}, 5, {}, &out);
  EXPECT_TRUE(out.empty());
  ScanQuery q;
  q.vector = item;
  EXPECT_TRUE(TopN(item, 0, 2, q, 5, {}).empty());
}

TEST(TopNTest, CosineMatchesBruteForceAndSkipsZeroNorm) {
  SplitMix64 rng(37);
  const uint32_t n_items = 400;
  const int dim = 16;
  std::vector<float> items = DyadicMatrix(&rng, size_t{n_items} * dim);
  const std::set<uint32_t> zero_rows = {0, 5, 63, 64, 399};
  for (uint32_t i : zero_rows) std::fill_n(items.begin() + size_t{i} * dim, dim, 0.0f);
  // A long vector pointing the same way as a short one has the same cosine.
  for (int d = 0; d < dim; ++d) items[size_t{7} * dim + d] = 4.0f * items[size_t{8} * dim + d];
  const std::vector<float> query = DyadicMatrix(&rng, dim);
  ScanQuery q;
  q.vector = query.data();
  Reference ref;
  ref.cosine = true;
  for (size_t block : {size_t{1}, size_t{64}, size_t{1000}}) {
    ScanOptions opt;
    opt.cosine = true;
    opt.block_rows = block;
    for (size_t n : {size_t{10}, size_t{1000}}) {
      const std::vector<ScoredItem> got = TopN(items.data(), n_items, dim, q, n, opt);
      ASSERT_EQ(got, BruteForce(items, n_items, dim, query.data(), n, ref));
      if (n == 1000) {
        ASSERT_EQ(got.size(), n_items - zero_rows.size());
      }
      for (const auto& s : got) {
        ASSERT_EQ(zero_rows.count(s.item), 0u) << s.item;
        ASSERT_TRUE(std::isfinite(s.score));
      }
    }
  }
  // Scores are cosines (the query is not unit length here, so scale by it).
  ScanOptions opt;
  opt.cosine = true;
  const std::vector<ScoredItem> all = TopN(items.data(), n_items, dim, q, 1000, opt);
  float qnorm = 0.0f;
  for (float x : query) qnorm += x * x;
  qnorm = std::sqrt(qnorm);
  float s7 = 0.0f, s8 = 0.0f;
  for (const auto& s : all) {
    EXPECT_LE(std::abs(s.score / qnorm), 1.0f + 1e-5f);
    if (s.item == 7) s7 = s.score;
    if (s.item == 8) s8 = s.score;
  }
  EXPECT_NEAR(s7, s8, 1e-5);
}

// n == 0 must return nothing (not read the empty heap). Run in a child
// process so that a crash fails this test only.
bool TopNWithZeroNIsEmpty() {
  const float items[3] = {1.0f, 2.0f, 3.0f};
  const float query[1] = {1.0f};
  ScanQuery q;
  q.vector = query;
  return TopN(items, 3, 1, q, 0, {}).empty();
}

TEST(TopNTest, ZeroNReturnsNothing) {
  EXPECT_EXIT(std::exit(TopNWithZeroNIsEmpty() ? 0 : 1), testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace streamrec::engine
