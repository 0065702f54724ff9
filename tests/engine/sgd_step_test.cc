#include "engine/model/sgd_step.h"

#include <gtest/gtest.h>

#include <vector>

#include "engine/core/random.h"

namespace streamrec::engine {
namespace {

TEST(SgdStepTest, HandComputedStepUsesOldVectors) {
  ModelOptions o;
  o.rank = 2;
  MFModel m(o);
  m.EnsureUsers(1);
  m.EnsureItems(1);
  m.global_mean() = 3.0f;
  m.user_bias(0) = 0.1f;
  m.item_bias(0) = 0.2f;
  m.user_factors(0)[0] = 1.0f;
  m.user_factors(0)[1] = 0.0f;
  m.item_factors(0)[0] = 0.5f;
  m.item_factors(0)[1] = 0.5f;
  const SgdParams p{.learning_rate = 0.1f,
                    .regularization = 0.5f,
                    .bias_learning_rate = 0.2f,
                    .bias_regularization = 0.1f};
  // r̂ = 3 + 0.1 + 0.2 + 0.5 = 3.8; err = 4 - 3.8 = 0.2; w·err = 0.4.
  const float err = SgdStep(&m, 0, 0, 4.0f, 2.0f, p);
  EXPECT_NEAR(err, 0.2f, 1e-6);
  // b_u = 0.1 + 0.2 (0.4 - 0.1·0.1) = 0.178; b_i = 0.2 + 0.2 (0.4 - 0.1·0.2) = 0.276.
  EXPECT_NEAR(m.user_bias(0), 0.178f, 1e-6);
  EXPECT_NEAR(m.item_bias(0), 0.276f, 1e-6);
  // shrink = 1 - 0.1·0.5 = 0.95, lr·w·err = 0.04.
  // p = 0.95 (1, 0) + 0.04 (0.5, 0.5) = (0.97, 0.02)
  EXPECT_NEAR(m.user_factors(0)[0], 0.97f, 1e-6);
  EXPECT_NEAR(m.user_factors(0)[1], 0.02f, 1e-6);
  // q = 0.95 (0.5, 0.5) + 0.04 · old p (1, 0) = (0.515, 0.475); with the new
  // p it would be (0.5138, 0.4758).
  EXPECT_NEAR(m.item_factors(0)[0], 0.515f, 1e-6);
  EXPECT_NEAR(m.item_factors(0)[1], 0.475f, 1e-6);
  EXPECT_EQ(m.global_mean(), 3.0f);  // the step never touches μ
}

TEST(SgdStepTest, StepReducesTheError) {
  ModelOptions o;
  o.rank = 8;
  MFModel m(o);
  m.EnsureUsers(1);
  m.EnsureItems(1);
  m.global_mean() = 3.0f;
  const SgdParams p;
  float err = SgdStep(&m, 0, 0, 5.0f, 1.0f, p);
  EXPECT_GT(err, 1.5f);
  const float first = err;
  for (int n = 0; n < 500; ++n) {
    const float next = SgdStep(&m, 0, 0, 5.0f, 1.0f, p);
    ASSERT_GT(next, 0.0f);  // small steps approach the target from below
    ASSERT_LE(next, err);
    err = next;
  }
  EXPECT_LT(err, 0.25f * first);
}

// Both code paths (stack copy for k <= 512, heap copy above) implement the
// same update; check each against a double-precision reference.
void CheckAgainstReference(int rank) {
  ModelOptions o;
  o.rank = rank;
  o.init_stddev = 0.3f;
  MFModel m(o);
  m.EnsureUsers(2);
  m.EnsureItems(3);
  m.global_mean() = 2.5f;
  m.user_bias(1) = 0.3f;
  m.item_bias(2) = -0.1f;
  std::vector<double> pu(m.user_factors(1), m.user_factors(1) + rank);
  std::vector<double> qi(m.item_factors(2), m.item_factors(2) + rank);
  const SgdParams p{.learning_rate = 0.05f,
                    .regularization = 0.1f,
                    .bias_learning_rate = 0.02f,
                    .bias_regularization = 0.01f};
  double dot = 0.0;
  for (int d = 0; d < rank; ++d) dot += pu[d] * qi[d];
  const double err = 4.0 - (2.5 + 0.3 - 0.1 + dot);
  const double we = 0.5 * err;
  const float got = SgdStep(&m, 1, 2, 4.0f, 0.5f, p);
  EXPECT_NEAR(got, err, 1e-4);
  EXPECT_NEAR(m.user_bias(1), 0.3 + 0.02 * (we - 0.01 * 0.3), 1e-5);
  EXPECT_NEAR(m.item_bias(2), -0.1 + 0.02 * (we + 0.01 * 0.1), 1e-5);
  const double shrink = 1.0 - 0.05 * 0.1;
  for (int d = 0; d < rank; ++d) {
    ASSERT_NEAR(m.user_factors(1)[d], shrink * pu[d] + 0.05 * we * qi[d], 1e-5) << d;
    ASSERT_NEAR(m.item_factors(2)[d], shrink * qi[d] + 0.05 * we * pu[d], 1e-5) << d;
  }
  // Other rows are untouched.
  MFModel fresh(o);
  fresh.EnsureUsers(2);
  fresh.EnsureItems(3);
  for (int d = 0; d < rank; ++d) {
    ASSERT_EQ(m.user_factors(0)[d], fresh.user_factors(0)[d]);
    ASSERT_EQ(m.item_factors(1)[d], fresh.item_factors(1)[d]);
  }
}

TEST(SgdStepTest, StackPathMatchesReference) { CheckAgainstReference(64); }
TEST(SgdStepTest, StackPathAtLimitMatchesReference) { CheckAgainstReference(512); }
TEST(SgdStepTest, HeapPathMatchesReference) { CheckAgainstReference(600); }

}  // namespace
}  // namespace streamrec::engine
