// Quality gates on MovieLens 100K, the five official folds u1..u5.
// Fails if the mean RMSE of the default SGD model is above 0.93, or of BPMF
// above 0.905 (our target). Numbers measured: see the issue notes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/evaluation.h"
#include "tools/dataset.h"
#include "tools/importers.h"

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

}  // namespace
}  // namespace streamrec::tools
