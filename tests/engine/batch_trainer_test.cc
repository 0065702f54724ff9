#include "engine/train/batch_trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "tests/engine/synthetic_data.h"

namespace streamrec::engine {
namespace {

MFModel ModelFor(const testdata::LowRankData& d, int rank = 8, uint64_t seed = 42) {
  ModelOptions o;
  o.rank = rank;
  o.seed = seed;
  MFModel m(o);
  m.EnsureUsers(d.num_users);
  m.EnsureItems(d.num_items);
  return m;
}

// Byte-wise equality of every parameter.
bool BitIdentical(const MFModel& a, const MFModel& b) {
  if (a.num_users() != b.num_users() || a.num_items() != b.num_items() || a.rank() != b.rank()) {
    return false;
  }
  const size_t k = static_cast<size_t>(a.rank());
  const float ma = a.global_mean(), mb = b.global_mean();
  if (std::memcmp(&ma, &mb, sizeof(float)) != 0) return false;
  if (std::memcmp(a.ItemRows().data(), b.ItemRows().data(), sizeof(float) * k * a.num_items()) != 0) {
    return false;
  }
  if (std::memcmp(a.item_biases(), b.item_biases(), sizeof(float) * a.num_items()) != 0) {
    return false;
  }
  for (uint32_t u = 0; u < a.num_users(); ++u) {
    if (std::memcmp(a.user_factors(u), b.user_factors(u), sizeof(float) * k) != 0) return false;
    const float x = a.user_bias(u), y = b.user_bias(u);
    if (std::memcmp(&x, &y, sizeof(float)) != 0) return false;
  }
  return true;
}

class BatchTrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { data_ = new testdata::LowRankData(testdata::MakeLowRank()); }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  static const testdata::LowRankData& data() { return *data_; }

 private:
  static testdata::LowRankData* data_;
};

testdata::LowRankData* BatchTrainerTest::data_ = nullptr;

TEST_F(BatchTrainerTest, SgdFitsTheLowRankMatrix) {
  const double baseline = testdata::GlobalMeanRmse(data().train, data().test);
  ASSERT_GT(baseline, 0.8);
  MFModel m = ModelFor(data());
  const double before = TrainingRmse(data().train, m);
  // The default rate (tuned on ml-100k at rank 64) leaves this small rank-8
  // model still escaping its 0.1-scale start after 60 epochs (train ~0.52);
  // a larger first step converges well inside the budget.
  SgdTrainOptions o;
  o.params.learning_rate = 0.03f;
  ASSERT_TRUE(TrainSgd(data().train, o, &m).ok());
  const double train = TrainingRmse(data().train, m);
  const double test = TrainingRmse(data().test, m);
  EXPECT_NEAR(m.global_mean(), testdata::MeanTarget(data().train), 1e-4);
  EXPECT_LT(train, 0.4) << "before " << before;
  EXPECT_LT(test, 0.5 * baseline) << "baseline " << baseline;
}

TEST_F(BatchTrainerTest, AlsFitsTheLowRankMatrix) {
  const double baseline = testdata::GlobalMeanRmse(data().train, data().test);
  MFModel m = ModelFor(data());
  ASSERT_TRUE(TrainAls(data().train, {}, &m).ok());
  const double train = TrainingRmse(data().train, m);
  const double test = TrainingRmse(data().test, m);
  EXPECT_NEAR(m.global_mean(), testdata::MeanTarget(data().train), 1e-4);
  EXPECT_LT(train, 0.4);
  EXPECT_LT(test, 0.5 * baseline) << "baseline " << baseline;
}

TEST_F(BatchTrainerTest, AlsIsBitIdenticalForAnyThreadCount) {
  ASSERT_GE(data().num_users, 192u);  // enough rows for SolveSide to use 3 threads
  MFModel one = ModelFor(data()), two = ModelFor(data()), three = ModelFor(data());
  AlsTrainOptions o;
  o.iterations = 5;
  o.threads = 1;
  ASSERT_TRUE(TrainAls(data().train, o, &one).ok());
  o.threads = 2;
  ASSERT_TRUE(TrainAls(data().train, o, &two).ok());
  o.threads = 3;
  ASSERT_TRUE(TrainAls(data().train, o, &three).ok());
  EXPECT_TRUE(BitIdentical(one, two));
  EXPECT_TRUE(BitIdentical(one, three));
}

TEST_F(BatchTrainerTest, SgdIsDeterministicForASeed) {
  SgdTrainOptions o;
  o.epochs = 5;
  MFModel a = ModelFor(data()), b = ModelFor(data()), c = ModelFor(data());
  ASSERT_TRUE(TrainSgd(data().train, o, &a).ok());
  ASSERT_TRUE(TrainSgd(data().train, o, &b).ok());
  o.seed = 8;
  ASSERT_TRUE(TrainSgd(data().train, o, &c).ok());
  EXPECT_TRUE(BitIdentical(a, b));
  EXPECT_FALSE(BitIdentical(a, c));
  // Different shuffles, but the same problem: both fit about as well.
  EXPECT_NEAR(TrainingRmse(data().train, a), TrainingRmse(data().train, c), 0.05);
}

TEST_F(BatchTrainerTest, TrainingDependsOnTheModelSeed) {
  SgdTrainOptions o;
  o.epochs = 2;
  MFModel a = ModelFor(data(), 8, 1), b = ModelFor(data(), 8, 2);
  ASSERT_TRUE(TrainSgd(data().train, o, &a).ok());
  ASSERT_TRUE(TrainSgd(data().train, o, &b).ok());
  EXPECT_FALSE(BitIdentical(a, b));
}

TEST_F(BatchTrainerTest, EpochCallbackSeesEveryEpochAndImprovingError) {
  SgdTrainOptions o;
  o.epochs = 6;
  std::vector<int> epochs;
  std::vector<double> rmse;
  MFModel m = ModelFor(data());
  ASSERT_TRUE(TrainSgd(data().train, o, &m, [&](int epoch, double r) {
                epochs.push_back(epoch);
                rmse.push_back(r);
                return true;
              }).ok());
  EXPECT_EQ(epochs, (std::vector<int>{1, 2, 3, 4, 5, 6}));
  ASSERT_EQ(rmse.size(), 6u);
  EXPECT_LT(rmse.back(), rmse.front());
  for (double r : rmse) EXPECT_TRUE(std::isfinite(r) && r > 0.0);
}

TEST_F(BatchTrainerTest, SgdCallbackCanStopEarly) {
  SgdTrainOptions o;
  o.epochs = 50;
  int calls = 0;
  MFModel stopped = ModelFor(data());
  ASSERT_TRUE(TrainSgd(data().train, o, &stopped, [&](int epoch, double) {
                ++calls;
                return epoch < 3;
              }).ok());
  EXPECT_EQ(calls, 3);
  // Stopping after epoch 3 leaves exactly the 3-epoch model.
  o.epochs = 3;
  MFModel three = ModelFor(data());
  ASSERT_TRUE(TrainSgd(data().train, o, &three).ok());
  EXPECT_TRUE(BitIdentical(stopped, three));
}

TEST_F(BatchTrainerTest, AlsCallbackReportsTrainingRmseAndCanStop) {
  AlsTrainOptions o;
  o.iterations = 20;
  std::vector<double> rmse;
  MFModel m = ModelFor(data());
  ASSERT_TRUE(TrainAls(data().train, o, &m, [&](int epoch, double r) {
                rmse.push_back(r);
                return epoch < 4;
              }).ok());
  ASSERT_EQ(rmse.size(), 4u);
  EXPECT_EQ(rmse.back(), TrainingRmse(data().train, m));
  EXPECT_LE(rmse[3], rmse[0]);
}

TEST(TrainerInputTest, RejectsExamplesBeyondTheModel) {
  ModelOptions mo;
  mo.rank = 4;
  MFModel m(mo);
  m.EnsureUsers(3);
  m.EnsureItems(3);
  const MFModel before = m.Clone();
  const std::vector<TrainingExample> bad_user = {{0, 0, 3.0f, 1.0f}, {3, 1, 4.0f, 1.0f}};
  const std::vector<TrainingExample> bad_item = {{0, 3, 3.0f, 1.0f}};
  for (const auto* data : {&bad_user, &bad_item}) {
    const Status sgd = TrainSgd(*data, {}, &m);
    EXPECT_EQ(sgd.code(), StatusCode::kInvalidArgument) << sgd.ToString();
    const Status als = TrainAls(*data, {}, &m);
    EXPECT_EQ(als.code(), StatusCode::kInvalidArgument) << als.ToString();
  }
  EXPECT_TRUE(BitIdentical(m, before));  // rejected before any change
}

TEST(TrainerInputTest, RejectsNonFiniteTargetsAndBadWeights) {
  ModelOptions mo;
  mo.rank = 4;
  MFModel m(mo);
  m.EnsureUsers(2);
  m.EnsureItems(2);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<std::vector<TrainingExample>> bad = {
      {{0, 0, 3.0f, 1.0f}, {1, 1, nan, 1.0f}},
      {{0, 0, inf, 1.0f}},
      {{0, 0, -inf, 1.0f}},
      {{0, 0, 3.0f, 0.0f}},
      {{0, 0, 3.0f, -1.0f}},
      {{0, 0, 3.0f, nan}},
  };
  for (const auto& data : bad) {
    EXPECT_EQ(TrainSgd(data, {}, &m).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(TrainAls(data, {}, &m).code(), StatusCode::kInvalidArgument);
  }
}

TEST(TrainerInputTest, RejectsBadOptions) {
  ModelOptions mo;
  mo.rank = 4;
  MFModel m(mo);
  m.EnsureUsers(1);
  m.EnsureItems(1);
  const std::vector<TrainingExample> data = {{0, 0, 3.0f, 1.0f}};
  SgdTrainOptions sgd;
  sgd.epochs = -1;
  EXPECT_EQ(TrainSgd(data, sgd, &m).code(), StatusCode::kInvalidArgument);
  AlsTrainOptions als;
  als.iterations = -1;
  EXPECT_EQ(TrainAls(data, als, &m).code(), StatusCode::kInvalidArgument);
  als = {};
  als.regularization = -0.1f;
  EXPECT_EQ(TrainAls(data, als, &m).code(), StatusCode::kInvalidArgument);
  als = {};
  als.bias_regularization = -1.0f;
  EXPECT_EQ(TrainAls(data, als, &m).code(), StatusCode::kInvalidArgument);
}

// A NaN regularization is as invalid as a negative one (a plain `< 0`
// check lets it through, and it silently wrecks the solve).
TEST(TrainerInputTest, RejectsNaNRegularization) {
  ModelOptions mo;
  mo.rank = 4;
  MFModel m(mo);
  m.EnsureUsers(1);
  m.EnsureItems(1);
  const std::vector<TrainingExample> data = {{0, 0, 3.0f, 1.0f}};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  AlsTrainOptions als;
  als.regularization = nan;
  EXPECT_EQ(TrainAls(data, als, &m).code(), StatusCode::kInvalidArgument);
  als = {};
  als.bias_regularization = nan;
  EXPECT_EQ(TrainAls(data, als, &m).code(), StatusCode::kInvalidArgument);
}

TEST(TrainerInputTest, GlobalMeanIsTheWeightedMean) {
  ModelOptions mo;
  mo.rank = 4;
  MFModel m(mo);
  m.EnsureUsers(2);
  m.EnsureItems(2);
  // (1·1 + 2·4) / 3 = 3
  const std::vector<TrainingExample> data = {{0, 0, 1.0f, 1.0f}, {1, 1, 4.0f, 2.0f}};
  SgdTrainOptions sgd;
  sgd.epochs = 0;
  ASSERT_TRUE(TrainSgd(data, sgd, &m).ok());
  EXPECT_FLOAT_EQ(m.global_mean(), 3.0f);
  m.global_mean() = 0.0f;
  AlsTrainOptions als;
  als.iterations = 0;
  ASSERT_TRUE(TrainAls(data, als, &m).ok());
  EXPECT_FLOAT_EQ(m.global_mean(), 3.0f);
}

TEST(TrainerInputTest, EmptyDataIsFine) {
  ModelOptions mo;
  mo.rank = 4;
  MFModel m(mo);
  m.EnsureUsers(2);
  m.EnsureItems(2);
  const MFModel before = m.Clone();
  EXPECT_TRUE(TrainSgd({}, {}, &m).ok());
  EXPECT_TRUE(TrainAls({}, {}, &m).ok());
  EXPECT_TRUE(BitIdentical(m, before));
  EXPECT_EQ(TrainingRmse({}, m), 0.0);
}

TEST(TrainerInputTest, AlsKeepsRowsWithoutData) {
  ModelOptions mo;
  mo.rank = 4;
  MFModel m(mo);
  m.EnsureUsers(3);
  m.EnsureItems(3);
  const MFModel before = m.Clone();
  // User 2 and item 2 have no examples.
  const std::vector<TrainingExample> data = {
      {0, 0, 5.0f, 1.0f}, {0, 1, 3.0f, 1.0f}, {1, 0, 4.0f, 1.0f}, {1, 1, 1.0f, 1.0f}};
  ASSERT_TRUE(TrainAls(data, {}, &m).ok());
  EXPECT_EQ(std::memcmp(m.user_factors(2), before.user_factors(2), sizeof(float) * 4), 0);
  EXPECT_EQ(std::memcmp(m.item_factors(2), before.item_factors(2), sizeof(float) * 4), 0);
  EXPECT_EQ(m.user_bias(2), 0.0f);
  EXPECT_EQ(m.item_bias(2), 0.0f);
  EXPECT_NE(std::memcmp(m.user_factors(0), before.user_factors(0), sizeof(float) * 4), 0);
}

TEST(TrainerInputTest, TrainingRmseIsWeighted) {
  ModelOptions mo;
  mo.rank = 2;
  mo.init_stddev = 0.0f;
  MFModel m(mo);
  m.EnsureUsers(2);
  m.EnsureItems(2);
  m.global_mean() = 3.0f;  // every prediction is 3
  // errors 1 (weight 1) and -2 (weight 3): sqrt((1 + 3·4) / 4) = sqrt(3.25)
  const std::vector<TrainingExample> data = {{0, 0, 4.0f, 1.0f}, {1, 1, 1.0f, 3.0f}};
  EXPECT_DOUBLE_EQ(TrainingRmse(data, m), std::sqrt(3.25));
}

}  // namespace
}  // namespace streamrec::engine
