#include "engine/train/bpr_trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "engine/eval/evaluation.h"
#include "tests/engine/implicit_synthetic.h"

namespace streamrec::engine {
namespace {

using testdata::ModelFor;

TEST(BprTrainerTest, LossDecreases) {
  const EvalSplit s = testdata::MakeClustered();
  MFModel m = ModelFor(s);
  BprTrainOptions o;
  o.epochs = 30;
  std::vector<double> loss;
  ASSERT_TRUE(TrainBpr(s.train, o, &m, [&](int, double l) {
                loss.push_back(l);
                return true;
              }).ok());
  ASSERT_EQ(loss.size(), 30u);
  // Starts near ln 2 (random scores: σ ≈ 1/2) and goes down; SGD is noisy
  // from epoch to epoch, so compare averages of five.
  EXPECT_NEAR(loss.front(), std::log(2.0), 0.1);
  auto mean5 = [&](size_t from) {
    double sum = 0.0;
    for (size_t n = from; n < from + 5; ++n) sum += loss[n];
    return sum / 5.0;
  };
  EXPECT_LT(mean5(5), mean5(0));
  EXPECT_LT(mean5(15), mean5(5));
  EXPECT_LT(mean5(25), mean5(15));
  EXPECT_EQ(m.global_mean(), 0.0f);
}

TEST(BprTrainerTest, BeatsPopularityOnPlantedTastes) {
  const EvalSplit s = testdata::MakeClustered();
  EvalOptions o;
  o.model.rank = 16;
  o.algorithm = Algorithm::kBpr;
  auto bpr = EvaluateSplit(s, o);
  o.algorithm = Algorithm::kPopular;
  auto popular = EvaluateSplit(s, o);
  ASSERT_TRUE(bpr.ok() && popular.ok());
  std::printf("planted tastes: NDCG@10 bpr %.3f popular %.3f\n", bpr->ranking.ndcg,
              popular->ranking.ndcg);
  // Popularity cannot see tastes; the model must find them (measured:
  // about 3x popularity's NDCG here).
  EXPECT_GT(bpr->ranking.ndcg, 2 * popular->ranking.ndcg);
  EXPECT_GT(bpr->ranking.precision, 2 * popular->ranking.precision);
  EXPECT_FALSE(bpr->has_rating_metrics);
  EXPECT_EQ(bpr->epoch_metric, "BPR loss");
}

TEST(BprTrainerTest, SameSeedBitIdenticalOtherSeedNot) {
  const EvalSplit s = testdata::MakeClustered();
  BprTrainOptions o;
  o.epochs = 3;
  MFModel a = ModelFor(s), b = ModelFor(s), c = ModelFor(s);
  ASSERT_TRUE(TrainBpr(s.train, o, &a).ok());
  ASSERT_TRUE(TrainBpr(s.train, o, &b).ok());
  o.seed += 1;
  ASSERT_TRUE(TrainBpr(s.train, o, &c).ok());
  EXPECT_TRUE(testdata::SameParameters(a, b));
  EXPECT_FALSE(testdata::SameParameters(a, c));
}

TEST(BprTrainerTest, StrongerPositivesAreDrawnMoreOften) {
  // User 0 has two items, one with 20x the strength: after training it
  // ranks first, and its score margin over a never-seen item is larger.
  std::vector<TrainingExample> data;
  for (int n = 0; n < 20; ++n) data.push_back({0, 1, 5.0f, 1.0f});  // 20 purchases of item 1
  data.push_back({0, 2, 3.5f, 1.0f});                               // one of item 2
  for (uint32_t u = 1; u < 30; ++u) data.push_back({u, 3 + u % 5, 4.0f, 1.0f});
  ModelOptions mo;
  mo.rank = 4;
  MFModel m(mo);
  m.EnsureUsers(30);
  m.EnsureItems(10);
  BprTrainOptions o;
  o.epochs = 40;
  ASSERT_TRUE(TrainBpr(data, o, &m).ok());
  EXPECT_GT(m.Predict(0, 1), m.Predict(0, 2));
}

TEST(BprTrainerTest, RefusesBadOptions) {
  const EvalSplit s = testdata::MakeClustered({.num_users = 20, .num_items = 10});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto with = [](auto f) {
    BprTrainOptions o;
    f(o);
    return o;
  };
  const std::vector<BprTrainOptions> bad = {
      with([](auto& o) { o.epochs = -1; }),
      with([](auto& o) { o.learning_rate = 0.0f; }),
      with([&](auto& o) { o.learning_rate = nan; }),
      with([](auto& o) { o.regularization = -1.0f; }),
      with([&](auto& o) { o.bias_regularization = nan; }),
      with([](auto& o) { o.decay = 0.0f; }),
      with([](auto& o) { o.decay = 1.5f; }),
      with([](auto& o) { o.signal.target_scale = -1.0f; }),
  };
  for (size_t n = 0; n < bad.size(); ++n) {
    MFModel m = ModelFor(s);
    MFModel before = m.Clone();
    EXPECT_EQ(TrainBpr(s.train, bad[n], &m).code(), StatusCode::kInvalidArgument) << n;
    EXPECT_TRUE(testdata::SameParameters(m, before)) << n;
  }
}

// A step at a rank past the stack copy (it once overflowed a fixed
// float[1024] at rank 2048) equals the same step at the stack path's size.
TEST(BprTrainerTest, StepAtAnyRankMatchesTheSmallRankStep) {
  for (int rank : {8, 2048}) {
    ModelOptions o;
    o.rank = rank;
    MFModel m(o);
    m.EnsureUsers(1);
    m.EnsureItems(2);
    for (int f = 0; f < rank; ++f) {
      m.user_factors(0)[f] = 0.1f;
      m.item_factors(0)[f] = f < 8 ? 0.2f : 0.0f;
      m.item_factors(1)[f] = 0.0f;
    }
    BprStep(&m, 0, 0, 1, 0.1f, 0.0f, 0.0f);
    // Only the first 8 dimensions of item 0 are non-zero, so x and g are
    // the same at both ranks, and so is every entry updated from them.
    EXPECT_FLOAT_EQ(m.item_factors(1)[0], m.item_factors(1)[rank - 1]) << rank;
    EXPECT_LT(m.item_factors(1)[0], 0.0f) << rank;  // pushed away from the user
    EXPECT_GT(m.item_factors(0)[rank - 1], 0.0f) << rank;
  }
}

}  // namespace
}  // namespace streamrec::engine
