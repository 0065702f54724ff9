#include "engine/model/ivf_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "engine/core/random.h"
#include "tests/engine/item_vectors.h"

namespace streamrec::engine {
namespace {

using testdata::ClusteredVectors;
using testdata::GaussianItems;

constexpr int kDim = 32;

std::vector<ScanQuery> Queries(const std::vector<float>& vectors, size_t count, int dim) {
  std::vector<ScanQuery> q(count);
  for (size_t j = 0; j < count; ++j) q[j].vector = vectors.data() + j * dim;
  return q;
}

// Mean recall@n of the index's answers against the exact scan.
double Recall(const IvfIndex& index, const std::vector<float>& items, uint32_t n_items,
              std::span<const ScanQuery> queries, size_t n, const ScanOptions& options,
              const IvfOptions& ivf = {}) {
  std::vector<std::vector<ScoredItem>> exact, approx;
  TopNScan(items.data(), n_items, kDim, queries, n, options, &exact);
  IvfTopNScan(index, items.data(), n_items, kDim, queries, n, options, ivf, {}, &approx);
  size_t hit = 0, total = 0;
  for (size_t j = 0; j < queries.size(); ++j) {
    std::set<uint32_t> want;
    for (const ScoredItem& s : exact[j]) want.insert(s.item);
    for (const ScoredItem& s : approx[j]) hit += want.count(s.item);
    total += want.size();
  }
  return total == 0 ? 1.0 : static_cast<double>(hit) / static_cast<double>(total);
}

// Every item 0..n-1 is filed exactly once, in the cell ListOf names.
void ExpectEachItemFiledOnce(const IvfIndex& index, uint32_t n) {
  ASSERT_EQ(index.size(), n);
  std::vector<int> seen(n, 0);
  for (uint32_t c = 0; c < index.lists(); ++c) {
    for (const uint32_t i : index.ListItems(c)) {
      ASSERT_LT(i, n);
      EXPECT_EQ(index.ListOf(i), c) << i;
      ++seen[i];
    }
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), static_cast<long>(n));
}

// The same items in the same order, scores equal to rounding (the exact
// re-score and TopNScan's GEMM sum in different orders).
void ExpectSameAnswer(const std::vector<ScoredItem>& got, const std::vector<ScoredItem>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    EXPECT_EQ(got[k].item, want[k].item) << k;
    EXPECT_NEAR(got[k].score, want[k].score, 1e-4f) << k;
  }
}

TEST(IvfIndexTest, RecallAtTenAgainstTheExactScanIsAtLeast095) {
  const uint32_t n_items = 20000;
  const std::vector<float> items = ClusteredVectors(n_items, kDim, 1, 2);
  const std::vector<float> users = ClusteredVectors(300, kDim, 1, 3);
  IvfIndex index;
  index.Build(items.data(), n_items, kDim, {});
  EXPECT_EQ(index.lists(), 141u);  // ~sqrt(20000)
  ExpectEachItemFiledOnce(index, n_items);
  const auto queries = Queries(users, 300, kDim);
  EXPECT_GE(Recall(index, items, n_items, queries, 10, {}), 0.95);
  ScanOptions cosine;
  cosine.cosine = true;
  EXPECT_GE(Recall(index, items, n_items, queries, 10, cosine), 0.95);
  std::vector<float> bias(n_items);
  SplitMix64 rng(4);
  for (float& b : bias) b = 0.1f * rng.NextGaussian();
  ScanOptions biased;
  biased.item_bias = bias.data();
  EXPECT_GE(Recall(index, items, n_items, queries, 10, biased), 0.95);
  // Reading every cell leaves only the int8 first pass's misses.
  IvfOptions all;
  all.probe = index.lists();
  EXPECT_GE(Recall(index, items, n_items, queries, 10, {}, all), 0.99);
}

TEST(IvfIndexTest, MoreProbesNeverLowerRecallOnUnstructuredVectors) {
  // Gaussian vectors have no cells to find: the hard case. Recall grows
  // with the cells read and reaches the int8 scan's at all of them.
  const uint32_t n_items = 8000;
  const std::vector<float> items = GaussianItems(n_items, kDim, 5);
  const std::vector<float> users = GaussianItems(100, kDim, 6);
  IvfIndex index;
  index.Build(items.data(), n_items, kDim, {});
  const auto queries = Queries(users, 100, kDim);
  double last = 0.0;
  for (const uint32_t probe : {8u, 22u, 45u, index.lists()}) {
    IvfOptions o;
    o.probe = probe;
    const double r = Recall(index, items, n_items, queries, 10, {}, o);
    EXPECT_GE(r, last) << probe;
    last = r;
  }
  EXPECT_GE(last, 0.99);
}

TEST(IvfIndexTest, FiltersAreHonouredAndANarrowOneStillFillsThePage) {
  const uint32_t n_items = 6000;
  const std::vector<float> items = ClusteredVectors(n_items, kDim, 7, 8);
  const std::vector<float> user = ClusteredVectors(1, kDim, 7, 9);
  IvfIndex index;
  index.Build(items.data(), n_items, kDim, {});
  // 25 eligible items scattered over the catalog, fewer than asked for:
  // the index must read on until it has seen them all.
  std::vector<uint8_t> allowed(n_items, 0);
  for (uint32_t i = 0; i < n_items; i += 240) allowed[i] = 1;
  ScanOptions opt;
  opt.allowed = allowed.data();
  ScanQuery q{user.data(), {}, {}};
  const std::vector<ScoredItem> exact = TopN(items.data(), n_items, kDim, q, 30, opt);
  ASSERT_EQ(exact.size(), 25u);
  std::vector<uint32_t> ex_a = {exact[0].item, exact[3].item};
  std::vector<uint32_t> ex_b = {exact[1].item, 999999};
  std::sort(ex_a.begin(), ex_a.end());
  q.exclude_a = ex_a;
  q.exclude_b = ex_b;
  std::vector<std::vector<ScoredItem>> out;
  IvfTopNScan(index, items.data(), n_items, kDim, std::span(&q, 1), 30, opt, {}, {}, &out);
  ASSERT_EQ(out.size(), 1u);
  std::vector<ScoredItem> want = exact;
  std::erase_if(want, [&](const ScoredItem& s) {
    return s.item == exact[0].item || s.item == exact[1].item || s.item == exact[3].item;
  });
  ExpectSameAnswer(out[0], want);
}

TEST(IvfIndexTest, UpdatesKeepEveryItemFiledAndFindable) {
  uint32_t n_items = 5000;
  std::vector<float> items = ClusteredVectors(n_items, kDim, 10, 11);
  IvfIndex index;
  index.Build(items.data(), n_items, kDim, {});
  const uint32_t cells = index.lists();
  // Move a third of the items to other clusters' vectors, one at a time as
  // the online learner does, and append new items.
  const std::vector<float> moved = ClusteredVectors(n_items, kDim, 10, 12);
  SplitMix64 rng(13);
  size_t refiled = 0;
  for (uint32_t k = 0; k < n_items / 3; ++k) {
    const auto i = static_cast<uint32_t>(rng.Uniform(n_items));
    const uint32_t before = index.ListOf(i);
    std::copy_n(moved.data() + size_t{i} * kDim, kDim, items.data() + size_t{i} * kDim);
    index.Update(i, items.data());
    refiled += index.ListOf(i) != before;
  }
  EXPECT_GT(refiled, 100u) << "the moves should change cells";
  const std::vector<float> added = ClusteredVectors(1000, kDim, 10, 14);
  items.insert(items.end(), added.begin(), added.end());
  for (uint32_t i = n_items; i < n_items + 1000; ++i) index.Update(i, items.data());
  n_items += 1000;
  EXPECT_EQ(index.lists(), cells);  // updates never retrain
  ExpectEachItemFiledOnce(index, n_items);
  // An item pushed far along one user's direction is that user's first
  // answer: the update reached its cell and its codes.
  const std::vector<float> user = ClusteredVectors(1, kDim, 10, 15);
  for (int f = 0; f < kDim; ++f) items[size_t{42} * kDim + f] = 10.0f * user[f];
  index.Update(42, items.data());
  ScanQuery q{user.data(), {}, {}};
  std::vector<std::vector<ScoredItem>> out;
  IvfTopNScan(index, items.data(), n_items, kDim, std::span(&q, 1), 5, {}, {}, {}, &out);
  ASSERT_FALSE(out[0].empty());
  EXPECT_EQ(out[0][0].item, 42u);
  const std::vector<float> users = ClusteredVectors(200, kDim, 10, 16);
  EXPECT_GE(Recall(index, items, n_items, Queries(users, 200, kDim), 10, {}), 0.95);
}

TEST(IvfIndexTest, TheSameRowsAndUpdatesGiveTheSameIndex) {
  // The two Left-Right copies build and update their own indexes: they
  // must agree on every answer.
  std::vector<float> items = ClusteredVectors(3000, kDim, 17, 18);
  IvfIndex a, b;
  a.Build(items.data(), 3000, kDim, {});
  b.Build(items.data(), 3000, kDim, {});
  SplitMix64 rng(19);
  for (int k = 0; k < 500; ++k) {
    const auto i = static_cast<uint32_t>(rng.Uniform(3000));
    for (int f = 0; f < kDim; ++f) items[size_t{i} * kDim + f] += 0.5f * rng.NextGaussian();
    a.Update(i, items.data());
    b.Update(i, items.data());
  }
  for (uint32_t i = 0; i < 3000; ++i) ASSERT_EQ(a.ListOf(i), b.ListOf(i)) << i;
  const std::vector<float> users = ClusteredVectors(50, kDim, 17, 20);
  const auto queries = Queries(users, 50, kDim);
  std::vector<std::vector<ScoredItem>> ra, rb;
  IvfTopNScan(a, items.data(), 3000, kDim, queries, 10, {}, {}, {}, &ra);
  IvfTopNScan(b, items.data(), 3000, kDim, queries, 10, {}, {}, {}, &rb);
  EXPECT_EQ(ra, rb);
}

TEST(IvfIndexTest, ReportedMovesSkipMostSearchesAndKeepEveryItemInItsNearestCell) {
  // Small steps, as the online learner takes them: told how far each row
  // moved, the index skips the search over every centroid while a row's
  // bound allows it; untold, it searches unless the row is within its
  // cell's safe radius. Both must file every row in its nearest cell.
  std::vector<float> items = ClusteredVectors(3000, kDim, 21, 22);
  IvfIndex told, untold;
  told.Build(items.data(), 3000, kDim, {});
  untold.Build(items.data(), 3000, kDim, {});
  SplitMix64 rng(23);
  std::vector<float> before(kDim);
  size_t refiled = 0;
  for (int k = 0; k < 20000; ++k) {
    const auto i = static_cast<uint32_t>(rng.Uniform(k < 3000 ? 300 : 3000));
    float* row = items.data() + size_t{i} * kDim;
    std::copy_n(row, kDim, before.begin());
    for (int f = 0; f < kDim; ++f) row[f] += 0.02f * rng.NextGaussian();
    float moved = 0.0f;
    for (int f = 0; f < kDim; ++f) moved += (row[f] - before[f]) * (row[f] - before[f]);
    const uint32_t cell = untold.ListOf(i);
    told.Update(i, items.data(), std::sqrt(moved));
    untold.Update(i, items.data());
    ASSERT_EQ(told.ListOf(i), untold.ListOf(i)) << "update " << k << ", item " << i;
    refiled += untold.ListOf(i) != cell;
  }
  // A move the index is not told of: Recode drops the row's bound.
  const std::vector<float> far = ClusteredVectors(1, kDim, 24, 25);
  for (uint32_t i = 0; i < 3000; i += 7) {
    std::copy_n(far.begin(), kDim, items.begin() + size_t{i} * kDim);
    told.Recode(i, items.data());
    told.Update(i, items.data(), 0.0f);
    untold.Update(i, items.data());
  }
  for (uint32_t i = 0; i < 3000; ++i) ASSERT_EQ(told.ListOf(i), untold.ListOf(i)) << i;
  ExpectEachItemFiledOnce(told, 3000);
  EXPECT_GT(refiled, 50u) << "the steps should move some rows across cells";
  EXPECT_LT(told.full_searches() * 3, untold.full_searches())
      << told.full_searches() << " vs " << untold.full_searches();
}

// Each cell's MaxNorm, recomputed from the rows filed in it.
void ExpectMaxNormsOf(const IvfIndex& index, const std::vector<float>& items) {
  for (uint32_t c = 0; c < index.lists(); ++c) {
    float want = 0.0f;
    for (const uint32_t i : index.ListItems(c)) {
      float sq = 0.0f;
      for (int f = 0; f < kDim; ++f)
        sq += items[size_t{i} * kDim + f] * items[size_t{i} * kDim + f];
      want = std::max(want, std::sqrt(sq));
    }
    ASSERT_FLOAT_EQ(index.MaxNorm(c), want) << "cell " << c;
    // Its longest rows, as a query scores them: the four longest, ties by
    // the lower id.
    std::vector<std::pair<float, uint32_t>> by_norm;
    for (const uint32_t i : index.ListItems(c)) {
      float sq = 0.0f;
      for (int f = 0; f < kDim; ++f)
        sq += items[size_t{i} * kDim + f] * items[size_t{i} * kDim + f];
      by_norm.emplace_back(-std::sqrt(sq), i);
    }
    std::sort(by_norm.begin(), by_norm.end());
    std::vector<uint32_t> longest;
    for (size_t k = 0; k < std::min<size_t>(4, by_norm.size()); ++k) {
      longest.push_back(by_norm[k].second);
    }
    ASSERT_EQ(index.LongestItems(c), longest) << "cell " << c;
  }
}

TEST(IvfIndexTest, EachCellsLongestRowsStayExactAsRowsGrowShrinkAndMove) {
  uint32_t n_items = 3000;
  std::vector<float> items = ClusteredVectors(n_items, kDim, 31, 32);
  IvfIndex index;
  index.Build(items.data(), n_items, kDim, {});
  ExpectMaxNormsOf(index, items);
  // Rows scaled up and down (the longest of a cell shrinking: its cell must
  // find the next longest), moved to other clusters (re-filed), re-coded
  // in place (BPR's negatives), and new ones.
  const std::vector<float> moved = ClusteredVectors(n_items, kDim, 31, 33);
  SplitMix64 rng(34);
  for (int k = 0; k < 3000; ++k) {
    const auto i = static_cast<uint32_t>(rng.Uniform(n_items));
    float* row = items.data() + size_t{i} * kDim;
    switch (k % 4) {
      case 0:
        for (int f = 0; f < kDim; ++f) row[f] *= 3.0f;
        break;
      case 1:
        for (int f = 0; f < kDim; ++f) row[f] *= 0.25f;
        break;
      case 2:
        std::copy_n(moved.data() + size_t{i} * kDim, kDim, row);
        break;
      default:
        for (int f = 0; f < kDim; ++f) row[f] *= 0.5f;
        index.Recode(i, items.data());
        continue;
    }
    index.Update(i, items.data());
  }
  const std::vector<float> added = ClusteredVectors(200, kDim, 31, 35);
  items.insert(items.end(), added.begin(), added.end());
  for (uint32_t i = n_items; i < n_items + 200; ++i) index.Update(i, items.data());
  n_items += 200;
  ExpectMaxNormsOf(index, items);
  // Re-coded rows are re-filed at their next Update.
  for (uint32_t i = 0; i < n_items; ++i) index.Update(i, items.data());
  ExpectMaxNormsOf(index, items);
  // Ties: three rows of one length, filed in the order of their ids
  // reversed (so a cell's row order is not the ids'), under a longer row
  // that then shrinks: the cell reads its rows again and must order the
  // three by id.
  const uint32_t base = 7;
  std::vector<uint32_t> tied;
  for (uint32_t i = 100; tied.size() < 3; ++i) {
    if (index.ListOf(i) != index.ListOf(base)) tied.push_back(i);
  }
  const std::vector<float> v(items.begin() + size_t{base} * kDim,
                             items.begin() + size_t{base + 1} * kDim);
  const auto set_row = [&](uint32_t i, float scale) {
    for (int f = 0; f < kDim; ++f) items[size_t{i} * kDim + f] = v[f] * scale;
    index.Update(i, items.data());
  };
  set_row(base, 4e4f);
  for (auto it = tied.rbegin(); it != tied.rend(); ++it) set_row(*it, 2e4f);
  ASSERT_EQ(index.ListOf(tied[0]), index.ListOf(base));
  ExpectMaxNormsOf(index, items);
  set_row(base, 0.01f);
  ExpectMaxNormsOf(index, items);
  ASSERT_EQ(index.LongestItems(index.ListOf(tied[0]))[0], tied[0]);
  // An index filed afresh from the same rows (a snapshot's restore, a
  // follower's adoption) holds the same bounds, bit for bit.
  IvfIndex fresh;
  fresh.Adopt(index, items.data(), n_items);
  for (uint32_t i = 0; i < n_items; ++i) ASSERT_EQ(fresh.ListOf(i), index.ListOf(i)) << i;
  for (uint32_t c = 0; c < index.lists(); ++c) {
    EXPECT_EQ(fresh.MaxNorm(c), index.MaxNorm(c)) << c;
    EXPECT_EQ(fresh.LongestItems(c), index.LongestItems(c)) << c;
  }
}

TEST(IvfIndexTest, AQueryScoresTheLongestRowsOfCellsWhoseCentroidsScoreLow) {
  // The popular items of an implicit model have the longest vectors and top
  // most lists, from cells whose centroids, averaged over many short rows,
  // score low for the query. One such row: long, in a cell that the
  // centroid ranking alone would read last of the three probed.
  const uint32_t n_items = 4000;
  std::vector<float> items = ClusteredVectors(n_items, kDim, 41, 42);
  IvfIndex index;
  index.Build(items.data(), n_items, kDim, {});
  const std::vector<float> user = ClusteredVectors(1, kDim, 41, 43);
  // The cells by the user's score against their centroids.
  std::vector<std::pair<float, uint32_t>> by_score;
  for (uint32_t c = 0; c < index.lists(); ++c) {
    float dot = 0.0f;
    for (int f = 0; f < kDim; ++f) dot += user[f] * index.centroids()[size_t{c} * kDim + f];
    by_score.emplace_back(dot, c);
  }
  std::sort(by_score.rbegin(), by_score.rend());
  // A cell ranked well past the probes whose centroid the user still
  // likes a little, and one of its rows made 50x longer.
  uint32_t far = by_score.size();
  for (size_t k = by_score.size() / 2; k < by_score.size(); ++k) {
    if (by_score[k].first > 0.0f && !index.ListItems(by_score[k].second).empty()) {
      far = static_cast<uint32_t>(k);
      break;
    }
  }
  ASSERT_LT(far, by_score.size()) << "no cell with a positive score in the second half";
  const uint32_t cell = by_score[far].second;
  // Two rows of it, 50x and 40x longer: the cell's longest two.
  ASSERT_GE(index.ListItems(cell).size(), 2u);
  const uint32_t star = index.ListItems(cell)[0];
  const uint32_t second = index.ListItems(cell)[1];
  for (int f = 0; f < kDim; ++f) items[size_t{star} * kDim + f] *= 50.0f;
  for (int f = 0; f < kDim; ++f) items[size_t{second} * kDim + f] *= 40.0f;
  index.Update(star, items.data());
  index.Update(second, items.data());
  ASSERT_EQ(index.ListOf(star), cell) << "the longer row should stay in its cell";
  ASSERT_EQ(index.ListOf(second), cell) << "the longer row should stay in its cell";
  ScanQuery q{user.data(), {}, {}};
  const std::vector<ScoredItem> exact = TopN(items.data(), n_items, kDim, q, 2, {});
  ASSERT_EQ(exact[0].item, star) << "not the top item";
  ASSERT_EQ(exact[1].item, second) << "not the second item";
  IvfOptions three;
  three.probe = 3;
  std::vector<std::vector<ScoredItem>> out;
  IvfTopNScan(index, items.data(), n_items, kDim, std::span(&q, 1), 5, {}, three, {}, &out);
  ASSERT_GE(out[0].size(), 2u);
  EXPECT_EQ(out[0][0].item, star);
  EXPECT_EQ(out[0][1].item, second);
  // Excluded or not allowed, a longest row is not returned.
  const std::vector<uint32_t> excluded{star};
  ScanQuery without{user.data(), excluded, {}};
  IvfTopNScan(index, items.data(), n_items, kDim, std::span(&without, 1), 5, {}, three, {}, &out);
  ASSERT_FALSE(out[0].empty());
  EXPECT_EQ(out[0][0].item, second);
  for (const ScoredItem& s : out[0]) EXPECT_NE(s.item, star);
  std::vector<uint8_t> allowed(n_items, 1);
  allowed[second] = 0;
  ScanOptions masked;
  masked.allowed = allowed.data();
  IvfTopNScan(index, items.data(), n_items, kDim, std::span(&q, 1), 5, masked, three, {}, &out);
  ASSERT_FALSE(out[0].empty());
  EXPECT_EQ(out[0][0].item, star);
  for (const ScoredItem& s : out[0]) EXPECT_NE(s.item, second);
  // Cosine scores do not grow with the norm: its queries read by
  // centroid alone (the long row is no better a cosine match than before).
  ScanOptions cosine;
  cosine.cosine = true;
  IvfTopNScan(index, items.data(), n_items, kDim, std::span(&q, 1), 5, cosine, three, {}, &out);
  for (const ScoredItem& s : out[0]) EXPECT_NE(index.ListOf(s.item), cell);
}

TEST(IvfIndexTest, EmptyAndTinyIndexes) {
  IvfIndex empty;
  empty.Build(nullptr, 0, kDim, {});
  EXPECT_EQ(empty.lists(), 0u);
  const std::vector<float> user = GaussianItems(1, kDim, 21);
  ScanQuery q{user.data(), {}, {}};
  std::vector<std::vector<ScoredItem>> out;
  IvfTopNScan(empty, nullptr, 0, kDim, std::span(&q, 1), 10, {}, {}, {}, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].empty());
  // Fewer items than the minimum of 16 cells: one cell per item, and every
  // item is found.
  const std::vector<float> items = GaussianItems(5, kDim, 22);
  IvfIndex tiny;
  tiny.Build(items.data(), 5, kDim, {});
  EXPECT_EQ(tiny.lists(), 5u);
  IvfTopNScan(tiny, items.data(), 5, kDim, std::span(&q, 1), 10, {}, {}, {}, &out);
  ExpectSameAnswer(out[0], TopN(items.data(), 5, kDim, q, 10, {}));
  // Rows the index holds beyond the matrix passed are never returned.
  IvfTopNScan(tiny, items.data(), 3, kDim, std::span(&q, 1), 10, {}, {}, {}, &out);
  ExpectSameAnswer(out[0], TopN(items.data(), 3, kDim, q, 10, {}));
}

}  // namespace
}  // namespace streamrec::engine
