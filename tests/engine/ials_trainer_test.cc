#include "engine/train/ials_trainer.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/eval/evaluation.h"
#include "engine/model/implicit_data.h"
#include "tests/engine/implicit_synthetic.h"

namespace streamrec::engine {
namespace {

using testdata::ModelFor;

TEST(ImplicitDataTest, SumsDuplicatesAndScalesByTarget) {
  const std::vector<TrainingExample> data = {
      {1, 2, 5.0f, 1.0f}, {0, 1, 4.0f, 0.5f}, {1, 2, 2.5f, 1.0f}, {1, 0, 5.0f, 0.25f}};
  auto plain = BuildImplicitMatrix(data, 2, 3, ImplicitSignalOptions{});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_EQ(plain->nnz(), 3u);
  EXPECT_EQ(plain->offsets, (std::vector<size_t>{0, 1, 3}));
  EXPECT_EQ(plain->indices, (std::vector<uint32_t>{1, 0, 2}));
  EXPECT_FLOAT_EQ(plain->strength[2], 2.0f);  // two events on (1, 2)
  auto scaled = BuildImplicitMatrix(data, 2, 3, {.target_exponent = 1.0f, .target_scale = 5.0f});
  ASSERT_TRUE(scaled.ok());
  EXPECT_FLOAT_EQ(scaled->strength[0], 0.4f);         // 0.5 * 4/5
  EXPECT_FLOAT_EQ(scaled->strength[2], 1.0f + 0.5f);  // 5/5 + 2.5/5
  const ImplicitMatrix t = Transpose(*plain);
  EXPECT_EQ(t.rows, 3u);
  EXPECT_EQ(t.offsets, (std::vector<size_t>{0, 1, 2, 3}));
  EXPECT_EQ(t.indices, (std::vector<uint32_t>{1, 0, 1}));
  EXPECT_FALSE(BuildImplicitMatrix(data, 1, 3, {}).ok());  // user 1 beyond 1 user
}

TEST(IalsTrainerTest, RowSolveMatchesDenseWeightedLeastSquares) {
  // Every cell written out: unobserved ones with target 0 and confidence 1.
  constexpr int k = 5;
  constexpr uint32_t n = 40;
  SplitMix64 rng(3);
  std::vector<float> y(size_t{n} * k);
  for (float& v : y) v = rng.NextGaussian() * 0.5f;
  const std::vector<uint32_t> ids = {3, 7, 8, 20, 39};
  const std::vector<float> w = {1.0f, 0.1f, 0.5f, 2.0f, 0.25f};
  const float alpha = 4.0f, lambda = 0.7f;
  Eigen::Map<const RowMatrixXf> ym(y.data(), n, k);
  const Eigen::MatrixXf gramian = ym.transpose() * ym;
  std::vector<float> x(k);
  SolveImplicitRow(gramian, y.data(), k, ids, w, alpha, lambda, x.data());

  Eigen::MatrixXd a = lambda * Eigen::MatrixXd::Identity(k, k);
  Eigen::VectorXd b = Eigen::VectorXd::Zero(k);
  for (uint32_t i = 0; i < n; ++i) {
    double c = 1.0, p = 0.0;
    for (size_t j = 0; j < ids.size(); ++j) {
      if (ids[j] == i) c = 1.0 + alpha * w[j], p = 1.0;
    }
    const Eigen::VectorXd yi = ym.row(i).transpose().cast<double>();
    a += c * yi * yi.transpose();
    b += c * p * yi;
  }
  const Eigen::VectorXd want = a.ldlt().solve(b);
  for (int f = 0; f < k; ++f) EXPECT_NEAR(x[f], want[f], 1e-4) << f;
}

TEST(IalsTrainerTest, ObjectiveMatchesBruteForce) {
  const EvalSplit s = testdata::MakeClustered({.num_users = 12, .num_items = 9, .clusters = 3});
  MFModel m = ModelFor(s, 3);
  IalsTrainOptions o;
  o.alpha = 3.0f;
  o.regularization = 0.5f;
  o.regularization_exponent = 0.5f;
  auto by_user = BuildImplicitMatrix(s.train, s.num_users, s.num_items, o.signal);
  ASSERT_TRUE(by_user.ok());
  std::vector<size_t> item_n(s.num_items, 0);
  for (uint32_t i : by_user->indices) ++item_n[i];
  double want = 0.0;
  for (uint32_t u = 0; u < s.num_users; ++u) {
    for (uint32_t i = 0; i < s.num_items; ++i) {
      double c = 1.0, p = 0.0;
      for (size_t e = by_user->offsets[u]; e < by_user->offsets[u + 1]; ++e) {
        if (by_user->indices[e] == i) c = 1.0 + o.alpha * by_user->strength[e], p = 1.0;
      }
      const double r = m.Predict(u, i);
      want += c * (p - r) * (p - r);
    }
  }
  auto sq = [&](const float* v) {
    double s2 = 0.0;
    for (int f = 0; f < m.rank(); ++f) s2 += double{v[f]} * v[f];
    return s2;
  };
  for (uint32_t u = 0; u < s.num_users; ++u) {
    const size_t n = by_user->RowSize(u);
    want +=
        (n ? o.regularization * std::sqrt(double(n)) : o.regularization) * sq(m.user_factors(u));
  }
  for (uint32_t i = 0; i < s.num_items; ++i) {
    const size_t n = item_n[i];
    want +=
        (n ? o.regularization * std::sqrt(double(n)) : o.regularization) * sq(m.item_factors(i));
  }
  want /= static_cast<double>(by_user->nnz());
  EXPECT_NEAR(IalsObjective(*by_user, o, m), want, 1e-4 * want);
}

TEST(IalsTrainerTest, ObjectiveDecreasesEveryIteration) {
  const EvalSplit s = testdata::MakeClustered();
  MFModel m = ModelFor(s);
  IalsTrainOptions o;
  o.iterations = 8;
  std::vector<double> loss;
  ASSERT_TRUE(TrainIals(s.train, o, &m, [&](int, double l) {
                loss.push_back(l);
                return true;
              }).ok());
  ASSERT_EQ(loss.size(), 8u);
  // Exact block coordinate descent: never up (up to float rounding).
  for (size_t n = 1; n < loss.size(); ++n) {
    EXPECT_LE(loss[n], loss[n - 1] * (1 + 1e-5)) << "iteration " << n + 1;
  }
  EXPECT_LT(loss.back(), loss.front());
  // Each iteration is measured on the trainer's own blocks of rows; the
  // last of them is what the model holds when it returns, to the bit.
  const StatusOr<ImplicitMatrix> by_user =
      BuildImplicitMatrix(s.train, m.num_users(), m.num_items(), o.signal);
  ASSERT_TRUE(by_user.ok());
  EXPECT_EQ(loss.back(), IalsObjective(*by_user, o, m));
  // Scores are x·y alone.
  EXPECT_EQ(m.global_mean(), 0.0f);
  for (uint32_t i = 0; i < m.num_items(); ++i) ASSERT_EQ(m.item_bias(i), 0.0f);
}

TEST(IalsTrainerTest, BeatsPopularityOnPlantedTastes) {
  const EvalSplit s = testdata::MakeClustered();
  EvalOptions o;
  o.model.rank = 16;
  o.algorithm = Algorithm::kIals;
  auto ials = EvaluateSplit(s, o);
  o.algorithm = Algorithm::kPopular;
  auto popular = EvaluateSplit(s, o);
  o.algorithm = Algorithm::kRandom;
  auto random = EvaluateSplit(s, o);
  ASSERT_TRUE(ials.ok() && popular.ok() && random.ok());
  std::printf("planted tastes: NDCG@10 ials %.3f popular %.3f random %.3f\n", ials->ranking.ndcg,
              popular->ranking.ndcg, random->ranking.ndcg);
  // Popularity cannot see tastes; the model must find them (measured:
  // about 3x popularity's NDCG here).
  EXPECT_GT(ials->ranking.ndcg, 2 * popular->ranking.ndcg);
  EXPECT_GT(ials->ranking.precision, 2 * popular->ranking.precision);
  EXPECT_GT(popular->ranking.ndcg, random->ranking.ndcg);
  EXPECT_FALSE(ials->has_rating_metrics);
  EXPECT_EQ(ials->epoch_train_rmse.size(), static_cast<size_t>(o.ials.iterations));
}

TEST(IalsTrainerTest, BitIdenticalForAnyThreadCount) {
  const EvalSplit s = testdata::MakeClustered();
  IalsTrainOptions o;
  o.iterations = 3;
  o.threads = 1;
  MFModel a = ModelFor(s), b = ModelFor(s), c = ModelFor(s);
  ASSERT_TRUE(TrainIals(s.train, o, &a).ok());
  o.threads = 3;
  ASSERT_TRUE(TrainIals(s.train, o, &b).ok());
  ASSERT_TRUE(TrainIals(s.train, o, &c).ok());
  EXPECT_TRUE(testdata::SameParameters(a, b));
  EXPECT_TRUE(testdata::SameParameters(b, c));
}

TEST(IalsTrainerTest, RefusesBadOptionsAndData) {
  const EvalSplit s = testdata::MakeClustered({.num_users = 20, .num_items = 10});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto with = [](auto f) {
    IalsTrainOptions o;
    f(o);
    return o;
  };
  const std::vector<IalsTrainOptions> bad = {
      with([](auto& o) { o.iterations = -1; }),
      with([](auto& o) { o.alpha = -1.0f; }),
      with([&](auto& o) { o.alpha = nan; }),
      with([](auto& o) { o.regularization = 0.0f; }),
      with([&](auto& o) { o.regularization = nan; }),
      with([](auto& o) { o.regularization_exponent = -0.5f; }),
      with([](auto& o) { o.regularization_exponent = 3.0f; }),
      with([](auto& o) { o.signal.target_scale = 0.0f; }),
      with([](auto& o) { o.threads = 0; }),
  };
  for (size_t n = 0; n < bad.size(); ++n) {
    MFModel m = ModelFor(s);
    MFModel before = m.Clone();
    const Status st = TrainIals(s.train, bad[n], &m);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << n;
    EXPECT_TRUE(testdata::SameParameters(m, before)) << n;
  }
  MFModel small = ModelFor(s);
  std::vector<TrainingExample> beyond = s.train;
  beyond.push_back({0, s.num_items, 5.0f, 1.0f});
  EXPECT_EQ(TrainIals(beyond, {}, &small).code(), StatusCode::kInvalidArgument);
  beyond.back() = {0, 0, 5.0f, std::numeric_limits<float>::infinity()};
  EXPECT_EQ(TrainIals(beyond, {}, &small).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace streamrec::engine
