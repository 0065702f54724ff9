#include "engine/online/online_learner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/train/batch_trainer.h"
#include "tests/engine/synthetic_data.h"

namespace streamrec::engine {
namespace {

ModelOptions SmallModel(int rank = 8) {
  ModelOptions o;
  o.rank = rank;
  return o;
}

bool BitIdentical(const MFModel& a, const MFModel& b) {
  if (a.num_users() != b.num_users() || a.num_items() != b.num_items() || a.rank() != b.rank()) {
    return false;
  }
  const size_t k = static_cast<size_t>(a.rank());
  const float mean_a = a.global_mean(), mean_b = b.global_mean();
  return std::memcmp(&mean_a, &mean_b, sizeof(float)) == 0 &&
         std::memcmp(a.ItemRows().data(), b.ItemRows().data(), sizeof(float) * k * a.num_items()) == 0 &&
         (a.num_users() == 0 || a.UserRows() == b.UserRows()) &&
         std::memcmp(a.item_biases(), b.item_biases(), sizeof(float) * a.num_items()) == 0 && [&] {
           for (uint32_t u = 0; u < a.num_users(); ++u) {
             const float x = a.user_bias(u), y = b.user_bias(u);
             if (std::memcmp(&x, &y, sizeof(float)) != 0) return false;
           }
           return true;
         }();
}

TEST(OnlineLearnerTest, GrowsTheModelOnFirstSight) {
  MFModel m(SmallModel());
  const EventTypes types = EventTypes::Defaults();
  OnlineLearner learner(&m, &types, {});
  const EventTypeId rating = *types.Find("rating");
  EXPECT_TRUE(learner.Apply({.user = 4, .item = 9, .type = rating, .value = 4.0f}).has_value());
  EXPECT_EQ(m.num_users(), 5u);
  EXPECT_EQ(m.num_items(), 10u);
  learner.Apply({.user = 1, .item = 2, .type = rating, .value = 3.0f});
  EXPECT_EQ(m.num_users(), 5u);
  EXPECT_EQ(m.num_items(), 10u);
}

TEST(OnlineLearnerTest, GlobalMeanIsTheRunningMeanOfTargets) {
  MFModel m(SmallModel());
  const EventTypes types = EventTypes::Defaults();
  OnlineLearner learner(&m, &types, {});
  const EventTypeId rating = *types.Find("rating"), purchase = *types.Find("purchase");
  learner.Apply({.user = 0, .item = 0, .type = rating, .value = 1.0f});
  learner.Apply({.user = 1, .item = 0, .type = rating, .value = 2.0f});
  learner.Apply({.user = 0, .item = 1, .type = purchase, .value = 0.0f});  // target 5
  // (1 + 2 + 5) / 3
  EXPECT_FLOAT_EQ(m.global_mean(), 8.0f / 3.0f);
  EXPECT_EQ(learner.mean_count(), 3u);
  // Restoring the count from a snapshot weights the next target accordingly.
  learner.set_mean_count(99);
  learner.Apply({.user = 0, .item = 0, .type = rating, .value = 5.0f});
  EXPECT_FLOAT_EQ(m.global_mean(), 8.0f / 3.0f + (5.0f - 8.0f / 3.0f) / 100.0f);
  EXPECT_EQ(learner.mean_count(), 100u);
}

TEST(OnlineLearnerTest, ReturnsTheErrorBeforeTheStep) {
  MFModel m(SmallModel());
  const EventTypes types = EventTypes::Defaults();
  OnlineLearner learner(&m, &types, {});
  const EventTypeId rating = *types.Find("rating");
  learner.Apply({.user = 0, .item = 0, .type = rating, .value = 3.0f});
  learner.Apply({.user = 0, .item = 1, .type = rating, .value = 4.0f});
  // The prediction the step starts from uses the updated running mean.
  MFModel before = m.Clone();
  before.global_mean() += (5.0f - before.global_mean()) / 3.0f;
  const float expected = 5.0f - before.Predict(0, 1);
  const std::optional<float> err =
      learner.Apply({.user = 0, .item = 1, .type = rating, .value = 5.0f});
  ASSERT_TRUE(err.has_value());
  EXPECT_NEAR(*err, expected, 1e-5);
  EXPECT_LT(std::abs(5.0f - m.Predict(0, 1)), std::abs(*err));
}

TEST(OnlineLearnerTest, TypeWithoutTargetGrowsButDoesNotTrain) {
  EventTypeSpec share;
  share.name = "share";  // no implied rating: does not train the factors
  EventTypeSpec stars;
  stars.name = "rating";
  stars.explicit_rating = true;
  stars.min_value = 1.0f;
  auto types = EventTypes::Create({share, stars});
  ASSERT_TRUE(types.ok());
  MFModel m(SmallModel());
  OnlineLearner learner(&m, &*types, {});
  learner.Apply({.user = 0, .item = 0, .type = 1, .value = 4.0f});
  const MFModel before = m.Clone();
  EXPECT_FALSE(learner.Apply({.user = 2, .item = 0, .type = 0, .value = 1.0f}).has_value());
  EXPECT_EQ(m.num_users(), 3u);
  EXPECT_EQ(learner.mean_count(), 1u);
  EXPECT_EQ(m.global_mean(), before.global_mean());
  EXPECT_EQ(std::memcmp(m.item_factors(0), before.item_factors(0), sizeof(float) * 8), 0);
  EXPECT_EQ(m.item_bias(0), before.item_bias(0));
}

TEST(OnlineLearnerTest, EventWeightScalesTheStep) {
  // A view (weight 0.1) and a purchase (weight 1) move the item bias by
  // lr · weight · err, err = implied rating - prediction.
  const EventTypes types = EventTypes::Defaults();
  const EventTypeId view = *types.Find("view"), purchase = *types.Find("purchase");
  MFModel a(SmallModel()), b(SmallModel());
  a.EnsureUsers(1);
  a.EnsureItems(1);
  b.EnsureUsers(1);
  b.EnsureItems(1);
  const float dot = a.Predict(0, 0);  // μ and biases are still 0
  OnlineLearner la(&a, &types, {}), lb(&b, &types, {});
  la.set_mean_count(1);  // μ becomes target / 2 on the first event
  lb.set_mean_count(1);
  const std::optional<float> err_view = la.Apply({.user = 0, .item = 0, .type = view});
  const std::optional<float> err_purchase = lb.Apply({.user = 0, .item = 0, .type = purchase});
  ASSERT_TRUE(err_view && err_purchase);
  EXPECT_NEAR(*err_view, 3.5f - 1.75f - dot, 1e-5);
  EXPECT_NEAR(*err_purchase, 5.0f - 2.5f - dot, 1e-5);
  const float lr = LearnerOptions{}.sgd.bias_learning_rate;
  EXPECT_NEAR(a.item_bias(0), lr * 0.1f * *err_view, 1e-6);
  EXPECT_NEAR(b.item_bias(0), lr * 1.0f * *err_purchase, 1e-6);
  EXPECT_GT(b.item_bias(0), 5.0f * a.item_bias(0));
}

TEST(OnlineLearnerTest, SameEventsGiveBitIdenticalModels) {
  const testdata::LowRankData data = testdata::MakeLowRank({.num_users = 80, .num_items = 60});
  const EventTypes types = EventTypes::Defaults();
  const EventTypeId rating = *types.Find("rating");
  MFModel a(SmallModel(16)), b(SmallModel(16));
  OnlineLearner la(&a, &types, {}), lb(&b, &types, {});
  for (const auto& x : data.train) {
    la.Apply({.user = x.user, .item = x.item, .type = rating, .value = x.target});
  }
  for (const auto& x : data.train) {
    lb.Apply({.user = x.user, .item = x.item, .type = rating, .value = x.target});
  }
  EXPECT_TRUE(BitIdentical(a, b));
  EXPECT_EQ(la.mean_count(), lb.mean_count());

  // A different order gives a (slightly) different model: the check above is
  // not vacuous.
  MFModel c(SmallModel(16));
  OnlineLearner lc(&c, &types, {});
  for (auto it = data.train.rbegin(); it != data.train.rend(); ++it) {
    lc.Apply({.user = it->user, .item = it->item, .type = rating, .value = it->target});
  }
  EXPECT_FALSE(BitIdentical(a, c));
}

TEST(OnlineLearnerTest, LearnsALowRankMatrix) {
  const testdata::LowRankData data = testdata::MakeLowRank();
  ASSERT_GT(data.train.size(), 10000u);
  ASSERT_GT(data.test.size(), 1000u);
  const double baseline = testdata::GlobalMeanRmse(data.train, data.test);
  ASSERT_GT(baseline, 0.8);  // the planted structure is far from flat

  const EventTypes types = EventTypes::Defaults();
  const EventTypeId rating = *types.Find("rating");
  MFModel m(SmallModel(8));
  OnlineLearner learner(&m, &types, {});
  constexpr int kPasses = 30;
  double first_pass_rmse = 0.0;
  for (int pass = 0; pass < kPasses; ++pass) {
    for (const auto& x : data.train) {
      ASSERT_TRUE(
          learner.Apply({.user = x.user, .item = x.item, .type = rating, .value = x.target}));
    }
    if (pass == 0) first_pass_rmse = TrainingRmse(data.test, m);
  }
  const double held_out = TrainingRmse(data.test, m);
  EXPECT_NEAR(m.global_mean(), testdata::MeanTarget(data.train), 1e-3);
  EXPECT_LT(held_out, first_pass_rmse);
  EXPECT_LT(held_out, 0.6 * baseline) << "baseline " << baseline;
}

// Gradient of the fold-in's ridge objective for user u over `history`
// (item, target, weight) at the model's current state:
//   J = Σ w (t - μ - b_i - b_u - p·q_i)² + λ Σw |p|² + λ_b b_u²
// Returns the largest absolute component of ∂J/∂[p; b_u] / 2.
struct Rated {
  uint32_t item;
  float target;
  float weight;
};

double RidgeGradientNorm(const MFModel& m, uint32_t u, const std::vector<Rated>& history,
                         const LearnerOptions& o) {
  const int k = m.rank();
  std::vector<double> grad(k + 1, 0.0);
  double wsum = 0.0;
  for (const Rated& h : history) {
    const double e = h.target - m.Predict(u, h.item);
    for (int d = 0; d < k; ++d) grad[d] -= h.weight * e * m.item_factors(h.item)[d];
    grad[k] -= h.weight * e;
    wsum += h.weight;
  }
  for (int d = 0; d < k; ++d) grad[d] += o.fold_in_regularization * wsum * m.user_factors(u)[d];
  grad[k] += o.fold_in_bias_regularization * m.user_bias(u);
  double worst = 0.0;
  for (double g : grad) worst = std::max(worst, std::abs(g));
  return worst;
}

// Warm the items up with other users' ratings, then give user `u` the
// ratings in `history` (rating type, except weight != 1 → purchase/view).
void WarmUpThenRate(OnlineLearner* learner, const EventTypes& types, uint32_t u,
                    const std::vector<Rated>& history) {
  const testdata::LowRankData data = testdata::MakeLowRank({.num_users = 40, .num_items = 30});
  const EventTypeId rating = *types.Find("rating");
  for (int pass = 0; pass < 3; ++pass) {
    for (const auto& x : data.train) {
      learner->Apply({.user = x.user, .item = x.item, .type = rating, .value = x.target});
    }
  }
  for (const Rated& h : history) {
    EventTypeId type = rating;
    if (h.weight != 1.0f) type = *types.Find(h.weight == 0.1f ? "view" : "cart");
    learner->Apply({.user = u, .item = h.item, .type = type, .value = h.target});
  }
}

TEST(OnlineLearnerFoldInTest, YoungUserIsTheRidgeSolution) {
  const EventTypes types = EventTypes::Defaults();
  // Targets as the learner sees them: a view stands for 3.5 at weight 0.1,
  // a cart for 4.5 at weight 0.5.
  const std::vector<Rated> history = {
      {1, 4.5f, 1.0f}, {5, 2.0f, 1.0f}, {9, 3.5f, 0.1f}, {13, 5.0f, 1.0f}, {20, 4.5f, 0.5f}};
  MFModel m(SmallModel(8));
  OnlineLearner learner(&m, &types, {});
  WarmUpThenRate(&learner, types, 40, history);
  EXPECT_EQ(learner.user_event_count(40), 5u);
  // Queries see the fold-in, not the SGD-stepped row: check the former.
  MFModel folded = m.Clone();
  ASSERT_TRUE(learner.FoldIn(40, folded.user_factors(40), &folded.user_bias(40)));
  EXPECT_LT(RidgeGradientNorm(folded, 40, history, learner.options()), 1e-3);
  EXPECT_NEAR(learner.Predict(40, 7), folded.Predict(40, 7), 1e-5);
  // Users past the limit have no fold-in.
  uint32_t veteran = 0;
  while (learner.user_event_count(veteran) <= learner.options().fold_in_max_events) ++veteran;
  ASSERT_LT(veteran, 40u);
  EXPECT_FALSE(learner.FoldIn(veteran, folded.user_factors(0), &folded.user_bias(0)));

  // Without the fold-in the user is far from that optimum: the check above
  // is not vacuous.
  LearnerOptions no_fold_in;
  no_fold_in.fold_in_max_events = 0;
  MFModel sgd_only(SmallModel(8));
  OnlineLearner sgd_learner(&sgd_only, &types, no_fold_in);
  WarmUpThenRate(&sgd_learner, types, 40, history);
  EXPECT_GT(RidgeGradientNorm(sgd_only, 40, history, learner.options()), 0.1);
}

TEST(OnlineLearnerFoldInTest, OnlyRatingModelEventsCount) {
  EventTypeSpec share;
  share.name = "share";
  EventTypeSpec stars;
  stars.name = "rating";
  stars.explicit_rating = true;
  auto types = EventTypes::Create({share, stars});
  ASSERT_TRUE(types.ok());
  MFModel m(SmallModel());
  OnlineLearner learner(&m, &*types, {});
  EXPECT_EQ(learner.user_event_count(0), 0u);
  learner.Apply({.user = 0, .item = 0, .type = 1, .value = 4.0f});
  learner.Apply({.user = 0, .item = 1, .type = 0});
  learner.Apply({.user = 0, .item = 2, .type = 1, .value = 2.0f});
  learner.Apply({.user = 3, .item = 2, .type = 0});
  EXPECT_EQ(learner.user_event_count(0), 2u);
  EXPECT_EQ(learner.user_event_count(3), 0u);
  EXPECT_EQ(learner.user_event_count(99), 0u);
}

TEST(OnlineLearnerFoldInTest, WritesAreSgdStepsAndGraduationInstallsTheFoldIn) {
  const EventTypes types = EventTypes::Defaults();
  const EventTypeId rating = *types.Find("rating");
  LearnerOptions o;
  o.fold_in_max_events = 3;
  MFModel m(SmallModel());
  OnlineLearner learner(&m, &types, o);
  for (uint32_t i = 0; i < 5; ++i)
    learner.Apply({.user = 1, .item = i, .type = rating, .value = 3});
  // Within the limit the write path is exactly one SgdStep: the fold-in
  // is computed when a query asks for it.
  for (uint32_t i = 0; i < 3; ++i) {
    MFModel expected = m.Clone();
    expected.global_mean() +=
        (4.0f - expected.global_mean()) / static_cast<float>(learner.mean_count() + 1);
    SgdStep(&expected, 0, i, 4.0f, 1.0f, o.sgd);
    learner.Apply({.user = 0, .item = i, .type = rating, .value = 4.0f});
    EXPECT_TRUE(BitIdentical(m, expected)) << "event " << i;
    std::vector<float> p(8);
    float b = 0.0f;
    EXPECT_TRUE(learner.FoldIn(0, p.data(), &b));
  }
  // The event past the limit first installs the fold-in, then steps.
  // (What queries saw until now is installed before this event is learned.)
  MFModel expected = m.Clone();
  ASSERT_TRUE(learner.FoldIn(0, expected.user_factors(0), &expected.user_bias(0)));
  expected.global_mean() +=
      (2.0f - expected.global_mean()) / static_cast<float>(learner.mean_count() + 1);
  SgdStep(&expected, 0, 3, 2.0f, 1.0f, o.sgd);
  learner.Apply({.user = 0, .item = 3, .type = rating, .value = 2.0f});
  EXPECT_TRUE(BitIdentical(m, expected));
  EXPECT_EQ(learner.user_event_count(0), 4u);
  std::vector<float> p(8);
  float b = 0.0f;
  EXPECT_FALSE(learner.FoldIn(0, p.data(), &b));
  // And after that, plain SGD steps.
  expected = m.Clone();
  expected.global_mean() +=
      (5.0f - expected.global_mean()) / static_cast<float>(learner.mean_count() + 1);
  SgdStep(&expected, 0, 4, 5.0f, 1.0f, o.sgd);
  learner.Apply({.user = 0, .item = 4, .type = rating, .value = 5.0f});
  EXPECT_TRUE(BitIdentical(m, expected));
}

TEST(OnlineLearnerFoldInTest, NewUsersArePersonalisedFromFewEvents) {
  // Users 0..239 teach the items; users 240..299 then give 8 ratings each.
  // Their other ratings are predicted better with the fold-in than with
  // SGD steps from a random start.
  const testdata::LowRankData data = testdata::MakeLowRank();
  const EventTypes types = EventTypes::Defaults();
  const EventTypeId rating = *types.Find("rating");
  constexpr uint32_t kFirstNew = 240;
  auto new_user_rmse = [&](const LearnerOptions& o) {
    MFModel m(SmallModel(8));
    OnlineLearner learner(&m, &types, o);
    for (int pass = 0; pass < 25; ++pass) {
      for (const auto& x : data.train) {
        if (x.user < kFirstNew) {
          learner.Apply({.user = x.user, .item = x.item, .type = rating, .value = x.target});
        }
      }
    }
    std::vector<int> given(data.num_users, 0);
    std::vector<TrainingExample> held_out;
    for (const auto& x : data.train) {
      if (x.user < kFirstNew) continue;
      if (given[x.user] < 8) {
        ++given[x.user];
        learner.Apply({.user = x.user, .item = x.item, .type = rating, .value = x.target});
      } else {
        held_out.push_back(x);
      }
    }
    // Scored as queries score them: through the learner's fold-in.
    double se = 0.0;
    for (const auto& x : held_out) {
      const double e = x.target - learner.Predict(x.user, x.item);
      se += e * e;
    }
    return std::sqrt(se / static_cast<double>(held_out.size()));
  };
  LearnerOptions sgd_only;
  sgd_only.fold_in_max_events = 0;
  const double with_fold_in = new_user_rmse({});
  const double without = new_user_rmse(sgd_only);
  EXPECT_LT(with_fold_in, 0.9 * without) << "without fold-in " << without;
}

}  // namespace
}  // namespace streamrec::engine
