// LoadConfig for what the live model learns: [model] objective, the
// implicit online update's [learner] keys and the iALS/BPR [training] keys.
#include <gtest/gtest.h>

#include <string>

#include "tests/tools/config_fixture.h"
#include "tools/config/config.h"

namespace streamrec::tools {
namespace {

using ConfigModelTest = testing::ConfigFileTest;

TEST_F(ConfigModelTest, DefaultIsTheImplicitModelRetrainedWithIals) {
  const Config d = DefaultConfig();
  EXPECT_EQ(d.recommender.objective, engine::Objective::kImplicit);
  EXPECT_EQ(d.live.training.algorithm, engine::Algorithm::kIals);
  StatusOr<Config> c = LoadConfig(std::string(STREAMREC_SOURCE_DIR) + "/config/streamrec.conf");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->recommender.objective, d.recommender.objective);
  EXPECT_EQ(c->live.training.algorithm, d.live.training.algorithm);
  // The shipped file spells out the built-in implicit settings.
  EXPECT_EQ(c->training.ials.alpha, d.training.ials.alpha);
  EXPECT_EQ(c->training.ials.iterations, d.training.ials.iterations);
  EXPECT_EQ(c->training.ials.regularization, d.training.ials.regularization);
  EXPECT_EQ(c->training.ials.regularization_exponent, d.training.ials.regularization_exponent);
  EXPECT_EQ(c->training.ials.signal.target_exponent, d.training.ials.signal.target_exponent);
  EXPECT_EQ(c->training.bpr.epochs, d.training.bpr.epochs);
  EXPECT_EQ(c->training.bpr.learning_rate, d.training.bpr.learning_rate);
  EXPECT_EQ(c->recommender.implicit.max_user_cells, d.recommender.implicit.max_user_cells);
  EXPECT_EQ(c->recommender.implicit.sweeps, d.recommender.implicit.sweeps);
  EXPECT_EQ(c->recommender.bpr.learning_rate, d.recommender.bpr.learning_rate);
  EXPECT_EQ(c->recommender.bpr.negatives, d.recommender.bpr.negatives);
}

TEST_F(ConfigModelTest, ImplicitObjectiveSharesItsSettingsWithTheRetrain) {
  StatusOr<Config> c = Load(
      "[model]\nobjective = implicit\n"
      "[learner]\nimplicit_sweeps = 2\nimplicit_max_user_cells = 64\n"
      "implicit_max_item_cells = 16\nimplicit_update_items = false\n"
      "implicit_min_item_step = 0.5\n"
      "[training]\nials_alpha = 20\nials_regularization = 3\n"
      "ials_regularization_exponent = 1\nials_rating_exponent = 0\nials_iterations = 7\n"
      "bpr_epochs = 5\nbpr_learning_rate = 0.02\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const engine::RecommenderOptions& r = c->recommender;
  EXPECT_EQ(r.objective, engine::Objective::kImplicit);
  // Unset algorithm: ials, to match the objective.
  EXPECT_EQ(c->live.training.algorithm, engine::Algorithm::kIals);
  EXPECT_EQ(c->live.training.ials.iterations, 7);
  EXPECT_EQ(c->training.bpr.epochs, 5);
  EXPECT_FLOAT_EQ(c->training.bpr.learning_rate, 0.02f);
  // One α/λ/ν and signal for the batch and the online objective.
  EXPECT_EQ(r.implicit.alpha, 20.0f);
  EXPECT_EQ(r.implicit.regularization, 3.0f);
  EXPECT_EQ(r.implicit.regularization_exponent, 1.0f);
  EXPECT_EQ(r.signal.target_exponent, 0.0f);
  EXPECT_EQ(c->live.training.ials.alpha, 20.0f);
  EXPECT_EQ(r.implicit.sweeps, 2);
  EXPECT_EQ(r.implicit.max_user_cells, 64u);
  EXPECT_EQ(r.implicit.max_item_cells, 16u);
  EXPECT_EQ(r.implicit.min_item_step, 0.5f);
  EXPECT_FALSE(r.implicit.update_items);
  // Unset, it is the engine's default; out of [0, 1], the load names it.
  EXPECT_EQ(DefaultConfig().recommender.implicit.min_item_step,
            engine::ImplicitOnlineOptions{}.min_item_step);
  StatusOr<Config> bad = Load("[learner]\nimplicit_min_item_step = 2\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("min_item_step"), std::string::npos)
      << bad.status().message();
}

// eval and replay may train any algorithm under either objective (serve
// refuses a retrain its live model cannot take: ServeTest).
TEST_F(ConfigModelTest, AnyAlgorithmLoadsUnderEitherObjective) {
  StatusOr<Config> c = Load("[training]\nalgorithm = als\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->recommender.objective, engine::Objective::kImplicit);
  EXPECT_EQ(c->live.training.algorithm, engine::Algorithm::kAls);
}

TEST_F(ConfigModelTest, RatingObjectiveRetrainsWithAlsUnlessTold) {
  StatusOr<Config> c = Load("[model]\nobjective = rating\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->recommender.objective, engine::Objective::kRating);
  EXPECT_EQ(c->live.training.algorithm, engine::Algorithm::kAls);
  c = Load("[model]\nobjective = rating\n[training]\nalgorithm = bpmf\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->live.training.algorithm, engine::Algorithm::kBpmf);
}

TEST_F(ConfigModelTest, BprObjectiveLearnsWithTheBprKeys) {
  StatusOr<Config> c = Load(
      "[model]\nobjective = bpr\n[learner]\nbpr_learning_rate = 0.02\nbpr_negatives = 8\n"
      "[training]\nbpr_regularization = 0.03\nbpr_rating_exponent = 1\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const engine::RecommenderOptions& r = c->recommender;
  EXPECT_EQ(r.objective, engine::Objective::kBpr);
  EXPECT_EQ(c->live.training.algorithm, engine::Algorithm::kBpr);
  EXPECT_FLOAT_EQ(r.bpr.learning_rate, 0.02f);
  EXPECT_EQ(r.bpr.negatives, 8u);
  EXPECT_FLOAT_EQ(r.bpr.regularization, 0.03f);  // shared with the retrain
  EXPECT_EQ(r.signal.target_exponent, 1.0f);     // the bpr signal, not iALS's
  // replay --objective switches the same way.
  Config d = DefaultConfig();
  SetObjective(engine::Objective::kBpr, &d);
  EXPECT_EQ(d.live.training.algorithm, engine::Algorithm::kBpr);
  EXPECT_EQ(d.recommender.signal.target_exponent, d.training.bpr.signal.target_exponent);
  SetObjective(engine::Objective::kRating, &d);
  EXPECT_EQ(d.training.algorithm, engine::Algorithm::kAls);
}

TEST_F(ConfigModelTest, TopNKeysChooseTheScanAndSizeTheIvfIndex) {
  StatusOr<Config> c = Load(
      "[model]\ntopn = ivf\ntopn_ivf_min_items = 7\ntopn_ivf_lists = 100\ntopn_ivf_probe = 12\n"
      "topn_ivf_retrain_factor = 9\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->recommender.topn.method, engine::TopNMethod::kIvf);
  EXPECT_EQ(c->recommender.topn.ivf_min_items, 7u);
  EXPECT_EQ(c->recommender.topn.ivf.lists, 100u);
  EXPECT_EQ(c->recommender.topn.ivf.probe, 12u);
  EXPECT_EQ(c->recommender.topn.ivf_retrain_factor, 9u);
  // The shipped file spells out the built-in thresholds.
  StatusOr<Config> shipped =
      LoadConfig(std::string(STREAMREC_SOURCE_DIR) + "/config/streamrec.conf");
  ASSERT_TRUE(shipped.ok()) << shipped.status().message();
  const Config d = DefaultConfig();
  EXPECT_EQ(shipped->recommender.topn.method, d.recommender.topn.method);
  EXPECT_EQ(shipped->recommender.topn.int8_min_items, d.recommender.topn.int8_min_items);
  EXPECT_EQ(shipped->recommender.topn.ivf_min_items, d.recommender.topn.ivf_min_items);
  EXPECT_EQ(shipped->recommender.topn.ivf.lists, d.recommender.topn.ivf.lists);
  EXPECT_EQ(shipped->recommender.topn.ivf.probe, d.recommender.topn.ivf.probe);
  EXPECT_EQ(shipped->recommender.topn.ivf_retrain_factor, d.recommender.topn.ivf_retrain_factor);
  ExpectError("[model]\ntopn = hnsw\n", {"model.topn", "hnsw", "ivf"});
  ExpectError("[model]\ntopn_ivf_lists = 2000000\n", {"ivf lists"});
}

// [model] init_full_scale_users / _items: how many rows start at
// init_stddev; the live model and `streamrec train`/`eval` (training.model)
// both take them.
TEST_F(ConfigModelTest, FullScaleCountsSetWhichRowsStartSmaller) {
  StatusOr<Config> c = Load("[model]\ninit_full_scale_users = 7\ninit_full_scale_items = 0\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->recommender.model.init_full_scale_users, 7u);
  EXPECT_EQ(c->recommender.model.init_full_scale_items, 0u);
  EXPECT_EQ(c->training.model.init_full_scale_users, 7u);
  EXPECT_EQ(c->training.model.init_full_scale_items, 0u);
  StatusOr<Config> shipped =
      LoadConfig(std::string(STREAMREC_SOURCE_DIR) + "/config/streamrec.conf");
  ASSERT_TRUE(shipped.ok()) << shipped.status().message();
  const engine::ModelOptions d;
  EXPECT_EQ(shipped->recommender.model.init_stddev, d.init_stddev);
  EXPECT_EQ(shipped->recommender.model.init_full_scale_users, d.init_full_scale_users);
  EXPECT_EQ(shipped->recommender.model.init_full_scale_items, d.init_full_scale_items);
  ExpectError("[model]\ninit_full_scale_items = ten\n", {"model.init_full_scale_items"});
}

TEST_F(ConfigModelTest, BadValuesNameTheKey) {
  ExpectError("[model]\nobjective = ranking\n", {"model.objective", "ranking"});
  ExpectError("[training]\nials_alpha = -1\n", {"training.ials_"});
  ExpectError("[training]\nials_iterations = 0\n", {"training.ials_"});
  ExpectError("[training]\nbpr_learning_rate = 0\n", {"training.bpr_"});
  ExpectError("[learner]\nimplicit_max_user_cells = 1\n", {"learner.implicit_"});
  ExpectError("[learner]\nimplicit_sweeps = 0\n", {"learner.implicit_"});
  ExpectError("[learner]\nbpr_negatives = 0\n", {"learner.bpr_"});
  ExpectError("[learner]\nbpr_learning_rate = -1\n", {"learner.bpr_"});
}

}  // namespace
}  // namespace streamrec::tools
