#include "engine/eval/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace streamrec::engine {
namespace {

TEST(RatingAccumulatorTest, EmptyIsZero) {
  const RatingMetrics m = RatingAccumulator().Result();
  EXPECT_EQ(m.count, 0u);
  EXPECT_EQ(m.rmse, 0.0);
  EXPECT_EQ(m.mae, 0.0);
}

TEST(RatingAccumulatorTest, HandComputed) {
  RatingAccumulator acc;
  // errors (predicted - actual): -1, 2, 0, -3
  acc.Add(3.0, 4.0);
  acc.Add(5.0, 3.0);
  acc.Add(2.0, 2.0);
  acc.Add(1.0, 4.0);
  const RatingMetrics m = acc.Result();
  EXPECT_EQ(m.count, 4u);
  // RMSE = sqrt((1 + 4 + 0 + 9) / 4) = sqrt(3.5); MAE = (1 + 2 + 0 + 3) / 4
  EXPECT_DOUBLE_EQ(m.rmse, std::sqrt(3.5));
  EXPECT_DOUBLE_EQ(m.mae, 1.5);
}

TEST(RatingAccumulatorTest, MergeEqualsSingleAccumulation) {
  RatingAccumulator all, a, b;
  for (int n = 0; n < 100; ++n) {
    const double pred = 1.0 + 0.037 * n, actual = 1.0 + (n % 5);
    all.Add(pred, actual);
    (n % 3 == 0 ? a : b).Add(pred, actual);
  }
  a.Merge(b);
  const RatingMetrics x = all.Result(), y = a.Result();
  EXPECT_EQ(x.count, y.count);
  EXPECT_NEAR(x.rmse, y.rmse, 1e-12);
  EXPECT_NEAR(x.mae, y.mae, 1e-12);
  RatingAccumulator empty;
  empty.Merge(all);
  EXPECT_NEAR(empty.Result().rmse, x.rmse, 1e-12);
}

constexpr double kLog2Of3 = 1.5849625007211562;  // log2(3)

TEST(RankingAccumulatorTest, OneUserHandComputed) {
  RankingAccumulator acc(3, 20);
  const std::vector<uint32_t> ranked = {5, 3, 9};
  const std::vector<uint32_t> relevant = {3, 9, 11};
  acc.AddUser(ranked, relevant);
  const RankingMetrics m = acc.Result();
  EXPECT_EQ(m.k, 3u);
  EXPECT_EQ(m.users, 1u);
  // Hits at ranks 2 (item 3) and 3 (item 9).
  EXPECT_DOUBLE_EQ(m.precision, 2.0 / 3.0);  // 2 hits / K
  EXPECT_DOUBLE_EQ(m.recall, 2.0 / 3.0);     // 2 hits / 3 relevant
  // DCG = 1/log2(3) + 1/log2(4); IDCG = 1 + 1/log2(3) + 1/log2(4) (3 ideal slots)
  const double dcg = 1.0 / kLog2Of3 + 0.5;
  EXPECT_NEAR(m.ndcg, dcg / (1.0 + dcg), 1e-12);  // ≈ 0.5307
  // AP = (1/2 + 2/3) / min(3, 3) = 7/18
  EXPECT_NEAR(m.map, 7.0 / 18.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(m.mrr, 0.5);  // first hit at rank 2
  EXPECT_DOUBLE_EQ(m.coverage, 3.0 / 20.0);
}

TEST(RankingAccumulatorTest, SeveralUsersAreAveraged) {
  RankingAccumulator acc(3, 20);
  // User A: as above. P 2/3, R 2/3, NDCG dcg/(1+dcg), AP 7/18, HR 1, RR 1/2.
  acc.AddUser(std::vector<uint32_t>{5, 3, 9}, std::vector<uint32_t>{3, 9, 11});
  // User B: only the first 3 of 4 count; hit at rank 1 (item 1).
  // P 1/3, R 1/1, NDCG 1 (ideal has one slot), AP 1/min(3,1) = 1, HR 1, RR 1.
  acc.AddUser(std::vector<uint32_t>{1, 2, 3, 4}, std::vector<uint32_t>{1});
  // User C: a short list, no hit. Everything 0.
  acc.AddUser(std::vector<uint32_t>{7, 8}, std::vector<uint32_t>{9});
  // User D: nothing relevant: ignored, not even for coverage.
  acc.AddUser(std::vector<uint32_t>{15, 16, 17}, std::vector<uint32_t>{});
  const RankingMetrics m = acc.Result();
  EXPECT_EQ(m.users, 3u);
  const double dcg = 1.0 / kLog2Of3 + 0.5;
  EXPECT_NEAR(m.precision, (2.0 / 3.0 + 1.0 / 3.0 + 0.0) / 3.0, 1e-12);
  EXPECT_NEAR(m.recall, (2.0 / 3.0 + 1.0 + 0.0) / 3.0, 1e-12);
  EXPECT_NEAR(m.ndcg, (dcg / (1.0 + dcg) + 1.0 + 0.0) / 3.0, 1e-12);
  EXPECT_NEAR(m.map, (7.0 / 18.0 + 1.0 + 0.0) / 3.0, 1e-12);
  EXPECT_NEAR(m.hit_rate, 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(m.mrr, (0.5 + 1.0 + 0.0) / 3.0, 1e-12);
  // Recommended within the top 3: {5, 3, 9} ∪ {1, 2, 3} ∪ {7, 8} = 7 items.
  EXPECT_DOUBLE_EQ(m.coverage, 7.0 / 20.0);
}

TEST(RankingAccumulatorTest, MapAndNdcgWithLateHits) {
  RankingAccumulator acc(5, 10);
  // ranked [0, 1, 2, 3, 4], relevant {1, 4}: hits at ranks 2 and 5.
  acc.AddUser(std::vector<uint32_t>{0, 1, 2, 3, 4}, std::vector<uint32_t>{1, 4});
  const RankingMetrics m = acc.Result();
  // AP = (1/2 + 2/5) / min(5, 2) = 0.45
  EXPECT_NEAR(m.map, 0.45, 1e-12);
  // DCG = 1/log2(3) + 1/log2(6); IDCG = 1 + 1/log2(3)
  EXPECT_NEAR(m.ndcg, (1.0 / kLog2Of3 + 1.0 / std::log2(6.0)) / (1.0 + 1.0 / kLog2Of3), 1e-12);
  EXPECT_DOUBLE_EQ(m.precision, 0.4);
  EXPECT_DOUBLE_EQ(m.recall, 1.0);
  EXPECT_DOUBLE_EQ(m.mrr, 0.5);
}

TEST(RankingAccumulatorTest, PerfectListScoresOne) {
  RankingAccumulator acc(2, 4);
  acc.AddUser(std::vector<uint32_t>{2, 1}, std::vector<uint32_t>{1, 2, 3});
  const RankingMetrics m = acc.Result();
  EXPECT_DOUBLE_EQ(m.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.recall, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.ndcg, 1.0);
  EXPECT_DOUBLE_EQ(m.map, 1.0);
  EXPECT_DOUBLE_EQ(m.mrr, 1.0);
}

TEST(RankingAccumulatorTest, NoUsersAndOutOfCatalogItems) {
  RankingAccumulator acc(3, 4);
  RankingMetrics m = acc.Result();
  EXPECT_EQ(m.users, 0u);
  EXPECT_EQ(m.precision, 0.0);
  EXPECT_EQ(m.coverage, 0.0);
  // Item 9 is beyond the catalog of 4: it counts as a hit, not for coverage.
  acc.AddUser(std::vector<uint32_t>{9, 0}, std::vector<uint32_t>{9});
  m = acc.Result();
  EXPECT_EQ(m.users, 1u);
  EXPECT_DOUBLE_EQ(m.hit_rate, 1.0);
  EXPECT_DOUBLE_EQ(m.coverage, 0.25);
  // k = 0 judges nothing.
  RankingAccumulator zero(0, 4);
  zero.AddUser(std::vector<uint32_t>{1}, std::vector<uint32_t>{1});
  EXPECT_EQ(zero.Result().users, 0u);
}

TEST(RankingAccumulatorTest, MergeEqualsSingleAccumulation) {
  RankingAccumulator all(4, 50), a(4, 50), b(4, 50);
  for (uint32_t u = 0; u < 40; ++u) {
    std::vector<uint32_t> ranked, relevant;
    for (uint32_t r = 0; r < 6; ++r) ranked.push_back((u * 7 + r * 3) % 50);
    for (uint32_t x = u % 3; x < 50; x += 5 + u % 4) relevant.push_back(x);
    if (u % 9 == 0) relevant.clear();  // ignored users too
    all.AddUser(ranked, relevant);
    (u % 2 == 0 ? a : b).AddUser(ranked, relevant);
  }
  a.Merge(b);
  const RankingMetrics x = all.Result(), y = a.Result();
  EXPECT_EQ(x.users, y.users);
  EXPECT_GT(x.users, 30u);
  EXPECT_NEAR(x.precision, y.precision, 1e-12);
  EXPECT_NEAR(x.recall, y.recall, 1e-12);
  EXPECT_NEAR(x.ndcg, y.ndcg, 1e-12);
  EXPECT_NEAR(x.map, y.map, 1e-12);
  EXPECT_NEAR(x.hit_rate, y.hit_rate, 1e-12);
  EXPECT_NEAR(x.mrr, y.mrr, 1e-12);
  EXPECT_DOUBLE_EQ(x.coverage, y.coverage);
  EXPECT_GT(x.coverage, 0.0);
  EXPECT_GT(x.precision, 0.0);
}

}  // namespace
}  // namespace streamrec::engine
