// Quality gates on MovieLens 100K, the five official folds u1..u5.
// Fails if the mean RMSE of the default SGD model is above 0.93, or of BPMF
// above 0.905 (our target). Numbers measured: see the issue notes.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/eval/evaluation.h"
#include "engine/model/implicit_data.h"
#include "engine/online/implicit_online.h"
#include "tools/data/dataset.h"
#include "tools/data/importers.h"

namespace streamrec::tools {
namespace {

std::string DataDir() {
  if (const char* env = std::getenv("STREAMREC_DATA"); env && *env) {
    return std::string(env) + "/ml-100k";
  }
  return std::string(STREAMREC_SOURCE_DIR) + "/../shared/data/ml-100k";
}

// Mean over u1..u5 of the test RMSE; also returns the mean NDCG@10.
double MeanFoldRmse(const engine::EvalOptions& options, double* mean_ndcg) {
  double rmse = 0.0, ndcg = 0.0;
  const engine::EventTypes types = engine::EventTypes::Defaults();
  for (int f = 1; f <= 5; ++f) {
    const std::string base = DataDir() + "/u" + std::to_string(f);
    auto train = ReadRatingsFile(base + ".base");
    auto test = ReadRatingsFile(base + ".test");
    EXPECT_TRUE(train.ok() && test.ok());
    if (!train.ok() || !test.ok()) return 99.0;
    auto split = BuildSplit(*train, *test, types);
    EXPECT_TRUE(split.ok());
    if (!split.ok()) return 99.0;
    EXPECT_EQ(split->split.test.size(), 20000u);
    auto r = engine::EvaluateSplit(split->split, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return 99.0;
    rmse += r->rating.rmse / 5.0;
    ndcg += r->ranking.ndcg / 5.0;
  }
  if (mean_ndcg) *mean_ndcg = ndcg;
  return rmse;
}

class Ml100kQuality : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(DataDir() + "/u1.base")) {
      GTEST_SKIP() << "MovieLens 100K not found at " << DataDir()
                   << " (set STREAMREC_DATA to the folder holding ml-100k/)";
    }
  }
};

TEST_F(Ml100kQuality, SgdMeanRmseOverOfficialFoldsAtMost093) {
  engine::EvalOptions o;
  o.algorithm = engine::Algorithm::kSgd;
  double ndcg = 0.0;
  const double rmse = MeanFoldRmse(o, &ndcg);
  RecordProperty("mean_rmse", std::to_string(rmse));
  std::printf("sgd: mean RMSE over u1..u5 = %.4f, NDCG@10 = %.4f\n", rmse, ndcg);
  EXPECT_LE(rmse, 0.93);
  // A model that learned nothing (global mean) scores about 1.15 here.
  EXPECT_GT(ndcg, 0.02);
}

TEST_F(Ml100kQuality, AlsMeanRmseOverOfficialFoldsAtMost092) {
  engine::EvalOptions o;
  o.algorithm = engine::Algorithm::kAls;
  const double rmse = MeanFoldRmse(o, nullptr);
  std::printf("als: mean RMSE over u1..u5 = %.4f\n", rmse);
  EXPECT_LE(rmse, 0.92);
}

TEST_F(Ml100kQuality, BpmfMeanRmseOverOfficialFoldsAtMost0905) {
  engine::EvalOptions o;
  o.algorithm = engine::Algorithm::kBpmf;
  const double rmse = MeanFoldRmse(o, nullptr);
  std::printf("bpmf: mean RMSE over u1..u5 = %.4f\n", rmse);
  EXPECT_LE(rmse, 0.905);
}

TEST_F(Ml100kQuality, OnlineSinglePassBeatsGlobalMean) {
  // One pass in time order, as the live server learns. Predicting the
  // global mean scores ~1.15 RMSE on these folds; the online model must
  // have learned something real from a single pass.
  engine::EvalOptions o;
  o.algorithm = engine::Algorithm::kOnline;
  const double rmse = MeanFoldRmse(o, nullptr);
  std::printf("online (1 pass): mean RMSE over u1..u5 = %.4f\n", rmse);
  EXPECT_LE(rmse, 1.0);
}

// Ranking on the seeded 75/25 random split of all of u.data (issue 5):
// full catalog, training items excluded, every held-out rating relevant.
// Targets P@10 >= 0.41 and NDCG@10 >= 0.475 for iALS (BPR in Microsoft's
// recommenders benchmark: 0.388 / 0.442; BiVAE 0.412 / 0.475). Measured:
// iALS 0.428 / 0.489, BPR 0.404 / 0.460, popularity 0.228 / 0.253.
engine::EvalResult Evaluate7525(engine::Algorithm algorithm) {
  auto events = LoadEvents(DataDir());
  EXPECT_TRUE(events.ok()) << events.status().ToString();
  if (!events.ok()) return {};
  auto [train, test] = RandomSplit(std::move(events).value(), 0.75, 42);
  auto split = BuildSplit(train, test, engine::EventTypes::Defaults());
  EXPECT_TRUE(split.ok());
  if (!split.ok()) return {};
  EXPECT_EQ(split->split.test.size(), 25000u);
  engine::EvalOptions o;
  o.algorithm = algorithm;
  auto r = engine::EvaluateSplit(split->split, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : engine::EvalResult{};
}

TEST_F(Ml100kQuality, IalsRankingOnSeeded7525SplitMeetsTargets) {
  const engine::EvalResult r = Evaluate7525(engine::Algorithm::kIals);
  std::printf("ials 75/25 seed 42: P@10 %.4f NDCG@10 %.4f in %.1f s\n", r.ranking.precision,
              r.ranking.ndcg, r.train_seconds);
  EXPECT_GE(r.ranking.precision, 0.41);
  EXPECT_GE(r.ranking.ndcg, 0.475);
  EXPECT_FALSE(r.has_rating_metrics);
}

TEST_F(Ml100kQuality, BprAndPopularityOnSeeded7525Split) {
  const engine::EvalResult bpr = Evaluate7525(engine::Algorithm::kBpr);
  const engine::EvalResult popular = Evaluate7525(engine::Algorithm::kPopular);
  std::printf("bpr 75/25 seed 42: P@10 %.4f NDCG@10 %.4f; popular %.4f / %.4f\n",
              bpr.ranking.precision, bpr.ranking.ndcg, popular.ranking.precision,
              popular.ranking.ndcg);
  // At least Microsoft's BPR benchmark figure, and far above popularity.
  EXPECT_GE(bpr.ranking.precision, 0.388);
  EXPECT_GE(bpr.ranking.ndcg, 0.442);
  EXPECT_LT(popular.ranking.ndcg, 0.3);
}

TEST_F(Ml100kQuality, IalsOnlineUpdatesCatchUpWithBatch) {
  // Train iALS on the first half of the 75/25 training data, then stream
  // the second half through the online updater, one event at a time: the
  // result should rank nearly as well as batch training on all of it
  // (measured: no updates 0.252 P@10, as users first seen in the second
  // half have no vector yet; streamed 0.412; batch on all of it 0.428).
  auto events = LoadEvents(DataDir());
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  auto [train, test] = RandomSplit(std::move(events).value(), 0.75, 42);
  auto split = BuildSplit(train, test, engine::EventTypes::Defaults());
  ASSERT_TRUE(split.ok());
  const engine::EvalSplit& full = split->split;
  engine::EvalSplit half = full;
  half.train.resize(full.train.size() / 2);  // time order: the older half
  engine::EvalOptions o;
  o.algorithm = engine::Algorithm::kIals;
  auto model = engine::TrainModel(half, o, nullptr);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const engine::RankingMetrics before = engine::EvaluateRanking(full, *model, o);

  auto cells =
      engine::BuildImplicitMatrix(half.train, full.num_users, full.num_items, o.ials.signal);
  ASSERT_TRUE(cells.ok());
  engine::ImplicitOnlineUpdater updater(
      engine::ImplicitOnlineOptions::FromTraining(o.ials.objective()), *model);
  updater.SetHistory(*cells);
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t n = half.train.size(); n < full.train.size(); ++n) {
    const engine::TrainingExample& x = full.train[n];
    const float w = engine::ImplicitStrength(x.weight, x.target, o.ials.signal);
    ASSERT_TRUE(updater.Apply(&*model, x.user, x.item, w).ok());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const engine::RankingMetrics after = engine::EvaluateRanking(full, *model, o);
  std::printf("ials online: P@10 %.4f -> %.4f (NDCG@10 %.4f -> %.4f), %.0f events/s\n",
              before.precision, after.precision, before.ndcg, after.ndcg,
              static_cast<double>(full.train.size() - half.train.size()) / seconds);
  EXPECT_GE(after.precision, 0.39);
  EXPECT_GE(after.precision, before.precision + 0.03);
}

}  // namespace
}  // namespace streamrec::tools
