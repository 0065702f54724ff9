#include "engine/model/quantized_items.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <set>
#include <vector>

#include "engine/core/random.h"
#include "tests/engine/item_vectors.h"

namespace streamrec::engine {
namespace {

using testdata::GaussianItems;
using testdata::ModelLikeItems;

// Mean recall@n of the quantised scan against the exact one, over
// `queries` query vectors drawn from `query_source` rows.
double Recall(const std::vector<float>& items, uint32_t n_items, int dim,
              const std::vector<float>& query_source, size_t queries, size_t n,
              const ScanOptions& options) {
  QuantizedItems q;
  q.Assign(items.data(), n_items, dim);
  std::vector<ScanQuery> batch(queries);
  for (size_t j = 0; j < queries; ++j) batch[j].vector = query_source.data() + j * dim;
  std::vector<std::vector<ScoredItem>> exact, approx;
  TopNScan(items.data(), n_items, dim, batch, n, options, &exact);
  QuantizedTopNScan(q, items.data(), n_items, dim, batch, n, options, {}, &approx);
  size_t hit = 0, total = 0;
  for (size_t j = 0; j < queries; ++j) {
    std::set<uint32_t> want;
    for (const ScoredItem& s : exact[j]) want.insert(s.item);
    for (const ScoredItem& s : approx[j]) hit += want.count(s.item);
    total += want.size();
  }
  return static_cast<double>(hit) / static_cast<double>(total);
}

TEST(QuantizedItemsTest, DecodedRowsAreWithinHalfAStepOfTheFloats) {
  const int dim = 30;  // not a multiple of 4: the last group is padded
  const std::vector<float> items = GaussianItems(50, dim, 1);
  QuantizedItems q;
  q.Assign(items.data(), 50, dim);
  std::vector<float> out(dim);
  for (uint32_t i = 0; i < 50; ++i) {
    q.Decode(i, out.data());
    float max_abs = 0.0f;
    for (int f = 0; f < dim; ++f) max_abs = std::max(max_abs, std::abs(items[i * dim + f]));
    for (int f = 0; f < dim; ++f) {
      EXPECT_LE(std::abs(out[f] - items[i * dim + f]), max_abs / 127.0f * 0.5001f) << i << " " << f;
    }
  }
}

TEST(QuantizedItemsTest, TheSimdEncoderWritesTheBytesOfThePortableOne) {
  // Set (AVX2 where built with it) against SetPortable, on rows that take
  // every branch of the rounding: halves both ways, -0, the largest
  // entry, NaN entries (coded 0), a row with an infinity and a zero row
  // (no usable scale), and dims with and without a tail past 8.
  for (const int dim : {64, 30, 13, 8, 3}) {
    std::vector<std::vector<float>> rows;
    for (uint32_t r = 0; r < 40; ++r) {
      const std::vector<float> g = GaussianItems(1, dim, 100 + r);
      rows.push_back(g);
    }
    std::vector<float> halves(dim);
    for (int f = 0; f < dim; ++f) halves[f] = (f % 2 ? -1.0f : 1.0f) * (0.5f + float(f % 127));
    halves[0] = 127.0f;  // max|y| = 127: y / s is y itself
    rows.push_back(halves);
    std::vector<float> signed_zero(dim, -0.0f);
    signed_zero[dim - 1] = 2.0f;
    rows.push_back(signed_zero);
    std::vector<float> with_nan = rows[0];
    with_nan[dim / 2] = std::numeric_limits<float>::quiet_NaN();
    rows.push_back(with_nan);
    std::vector<float> with_inf = rows[1];
    with_inf[0] = -std::numeric_limits<float>::infinity();
    rows.push_back(with_inf);
    rows.push_back(std::vector<float>(dim, 0.0f));
    const auto n = static_cast<uint32_t>(rows.size());
    QuantizedItems simd(dim), portable(dim);
    simd.Resize(n);
    portable.Resize(n);
    for (uint32_t i = 0; i < n; ++i) {
      simd.Set(i, rows[i].data());
      portable.SetPortable(i, rows[i].data());
    }
    std::vector<float> a(dim), b(dim);
    for (uint32_t i = 0; i < n; ++i) {
      simd.Decode(i, a.data());
      portable.Decode(i, b.data());
      for (int f = 0; f < dim; ++f) {
        EXPECT_EQ(std::bit_cast<uint32_t>(a[f]), std::bit_cast<uint32_t>(b[f]))
            << "dim " << dim << " row " << i << " f " << f;
      }
    }
    // The halves round away from zero: 0.5 -> 1, -1.5 -> -2, ...
    portable.Decode(n - 5, b.data());
    for (int f = 1; f < dim; ++f) {
      EXPECT_EQ(b[f], std::round(halves[f])) << f;
    }
    // Scores read the codes, the scales and the norms: all alike.
    const std::vector<float> query = GaussianItems(1, dim, 7);
    std::vector<float> sa(n), sb(n);
    for (const bool cosine : {false, true}) {
      simd.ApproximateScoresPortable(query.data(), 0, n, cosine, nullptr, sa.data());
      portable.ApproximateScoresPortable(query.data(), 0, n, cosine, nullptr, sb.data());
      for (uint32_t i = 0; i < n; ++i) {
        EXPECT_EQ(std::bit_cast<uint32_t>(sa[i]), std::bit_cast<uint32_t>(sb[i]))
            << dim << " " << i;
      }
    }
  }
}

TEST(QuantizedItemsTest, TheSimdPathScoresBitForBitLikeThePortableLoop) {
  for (const int dim : {64, 30, 3}) {
    const std::vector<float> items = ModelLikeItems(1003, dim, 2);
    std::vector<float> bias(1003);
    SplitMix64 rng(3);
    for (float& b : bias) b = rng.NextGaussian();
    QuantizedItems q;
    q.Assign(items.data(), 1003, dim);
    const std::vector<float> query = GaussianItems(1, dim, 4);
    for (const bool cosine : {false, true}) {
      for (const float* b :
           {static_cast<const float*>(nullptr), static_cast<const float*>(bias.data())}) {
        std::vector<float> fast(1000), portable(1000);
        q.ApproximateScores(query.data(), 3, 1003, cosine, b, fast.data());
        q.ApproximateScoresPortable(query.data(), 3, 1003, cosine, b, portable.data());
        EXPECT_EQ(std::memcmp(fast.data(), portable.data(), fast.size() * sizeof(float)), 0)
            << "dim " << dim << " cosine " << cosine << " vnni " << QuantizedItems::UsesVnni();
      }
    }
  }
}

TEST(QuantizedItemsTest, ApproximateScoresTrackTheExactOnes) {
  const int dim = 64;
  const std::vector<float> items = ModelLikeItems(500, dim, 5);
  const std::vector<float> query = ModelLikeItems(1, dim, 6);
  QuantizedItems q;
  q.Assign(items.data(), 500, dim);
  std::vector<float> approx(500);
  q.ApproximateScores(query.data(), 0, 500, false, nullptr, approx.data());
  for (uint32_t i = 0; i < 500; ++i) {
    float exact = 0.0f, norm = 0.0f;
    for (int f = 0; f < dim; ++f) {
      exact += items[i * dim + f] * query[f];
      norm += items[i * dim + f] * items[i * dim + f];
    }
    float qn = 0.0f;
    for (float x : query) qn += x * x;
    // Error of a dot of two 8-bit vectors: well under 2% of |y||q|.
    EXPECT_NEAR(approx[i], exact, 0.02f * std::sqrt(norm * qn)) << i;
  }
}

TEST(QuantizedItemsTest, RecallAtTenAgainstTheExactScanIsAtLeast099) {
  const int dim = 64;
  const uint32_t n_items = 20000;
  ScanOptions plain;
  const std::vector<float> model_like = ModelLikeItems(n_items, dim, 7);
  const std::vector<float> users = ModelLikeItems(200, dim, 8);
  EXPECT_GE(Recall(model_like, n_items, dim, users, 200, 10, plain), 0.99);
  ScanOptions cosine;
  cosine.cosine = true;
  EXPECT_GE(Recall(model_like, n_items, dim, users, 200, 10, cosine), 0.99);
  // Unstructured vectors are the hard case: near-orthogonal, close scores.
  const std::vector<float> gaussian = GaussianItems(n_items, dim, 9);
  const std::vector<float> gq = GaussianItems(200, dim, 10);
  EXPECT_GE(Recall(gaussian, n_items, dim, gq, 200, 10, plain), 0.99);
  std::vector<float> bias(n_items);
  SplitMix64 rng(11);
  for (float& b : bias) b = 0.5f * rng.NextGaussian();
  ScanOptions biased;
  biased.item_bias = bias.data();
  EXPECT_GE(Recall(model_like, n_items, dim, users, 200, 10, biased), 0.99);
}

TEST(QuantizedItemsTest, ExclusionsAndTheMaskAreHonouredAndScoresAreExact) {
  const int dim = 16;
  const uint32_t n_items = 3000;
  const std::vector<float> items = ModelLikeItems(n_items, dim, 12);
  QuantizedItems q;
  q.Assign(items.data(), n_items, dim);
  std::vector<uint8_t> allowed(n_items, 0);
  for (uint32_t i = 0; i < n_items; i += 7) allowed[i] = 1;
  const std::vector<float> query = ModelLikeItems(1, dim, 13);
  // The exact best allowed items, then exclude the top three of them.
  ScanOptions opt;
  opt.allowed = allowed.data();
  ScanQuery sq{query.data(), {}, {}};
  const std::vector<ScoredItem> exact = TopN(items.data(), n_items, dim, sq, 3, opt);
  ASSERT_EQ(exact.size(), 3u);
  std::vector<uint32_t> ex_a = {exact[0].item, exact[2].item};
  std::vector<uint32_t> ex_b = {exact[1].item, 999999};
  std::sort(ex_a.begin(), ex_a.end());
  sq.exclude_a = ex_a;
  sq.exclude_b = ex_b;
  std::vector<std::vector<ScoredItem>> out;
  QuantizedTopNScan(q, items.data(), n_items, dim, std::span(&sq, 1), 50, opt, {}, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), 50u);
  for (const ScoredItem& s : out[0]) {
    EXPECT_EQ(allowed[s.item], 1) << s.item;
    EXPECT_NE(s.item, exact[0].item);
    EXPECT_NE(s.item, exact[1].item);
    EXPECT_NE(s.item, exact[2].item);
    float dot = 0.0f;
    for (int f = 0; f < dim; ++f) dot += items[s.item * dim + f] * query[f];
    EXPECT_NEAR(s.score, dot, 1e-4f);
  }
  EXPECT_TRUE(std::is_sorted(out[0].begin(), out[0].end(), RanksBefore));
}

TEST(QuantizedItemsTest, SmallCatalogsZeroRowsAndResizing) {
  const int dim = 8;
  std::vector<float> items = ModelLikeItems(5, dim, 14);
  std::fill_n(items.begin() + 2 * dim, dim, 0.0f);  // item 2 is a zero row
  QuantizedItems q;
  q.Assign(items.data(), 5, dim);
  const std::vector<float> query = ModelLikeItems(1, dim, 15);
  ScanQuery sq{query.data(), {}, {}};
  ScanOptions cosine;
  cosine.cosine = true;
  std::vector<std::vector<ScoredItem>> out;
  QuantizedTopNScan(q, items.data(), 5, dim, std::span(&sq, 1), 10, cosine, {}, &out);
  EXPECT_EQ(out[0], TopN(items.data(), 5, dim, sq, 10, cosine));  // the zero row skipped
  EXPECT_EQ(out[0].size(), 4u);
  // Shrink then grow: the regrown rows are zero vectors until Set.
  q.Resize(3);
  q.Resize(6);
  std::vector<float> row(dim);
  q.Decode(4, row.data());
  EXPECT_EQ(row, std::vector<float>(dim, 0.0f));
  q.Set(4, items.data() + 4 * dim);
  q.Decode(4, row.data());
  for (int f = 0; f < dim; ++f) EXPECT_NEAR(row[f], items[4 * dim + f], 0.02f);
  // An empty mirror answers nothing.
  QuantizedItems empty(dim);
  QuantizedTopNScan(empty, items.data(), 0, dim, std::span(&sq, 1), 10, {}, {}, &out);
  EXPECT_TRUE(out[0].empty());
}

}  // namespace
}  // namespace streamrec::engine
