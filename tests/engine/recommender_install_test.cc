// Recommender::InstallModel: a retrained model replaces the live one
// without undoing what happened while it trained.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <utility>

#include "engine/core/random.h"
#include "engine/live/recommender.h"
#include "engine/train/batch_trainer.h"
#include "tests/engine/recommender_fixture.h"

namespace streamrec::engine {
namespace {

TEST_F(RecommenderTest, InstallModelRejectsMismatchedModels) {
  Add("u0", "i0", "rating", 4.0f);
  Add("u1", "i1", "rating", 2.0f);
  ModelOptions wrong_rank = SmallOptions().model;
  wrong_rank.rank = 8;
  MFModel a(wrong_rank);
  a.EnsureUsers(2);
  a.EnsureItems(2);
  EXPECT_EQ(rec_.InstallModel(std::move(a)).code(), StatusCode::kFailedPrecondition);
  MFModel too_many_users(SmallOptions().model);
  too_many_users.EnsureUsers(3);
  too_many_users.EnsureItems(2);
  EXPECT_EQ(rec_.InstallModel(std::move(too_many_users)).code(), StatusCode::kFailedPrecondition);
  MFModel too_many_items(SmallOptions().model);
  too_many_items.EnsureUsers(2);
  too_many_items.EnsureItems(3);
  EXPECT_EQ(rec_.InstallModel(std::move(too_many_items)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(rec_.model().num_users(), 2u);
  EXPECT_EQ(rec_.model().rank(), 16);
}

TEST_F(RecommenderTest, InstallModelKeepsRowsNewerThanTheTrainingSnapshot) {
  SplitMix64 rng(12);
  std::vector<TrainingExample> snapshot;
  for (int n = 0; n < 500; ++n) {
    const std::string user = fmt::format("u{}", rng.Uniform(20));
    const std::string item = fmt::format("i{}", rng.Uniform(30));
    const float value = 1.0f + 0.5f * static_cast<float>(rng.Uniform(9));
    Add(user, item, "rating", value);
    snapshot.push_back({*rec_.users().Find(user), *rec_.items().Find(item), value, 1.0f});
  }
  const uint32_t snap_users = rec_.users().size(), snap_items = rec_.items().size();
  MFModel trained(SmallOptions().model);
  trained.EnsureUsers(snap_users);
  trained.EnsureItems(snap_items);
  AlsTrainOptions als;
  als.iterations = 5;
  ASSERT_TRUE(TrainAls(snapshot, als, &trained).ok());
  const MFModel expected = trained.Clone();

  // While it trained, new users and items arrived.
  for (int n = 0; n < 4; ++n) Add("late-user", fmt::format("late-item-{}", n), "rating", 4.0f);
  const MFModel online = rec_.model().Clone();
  const uint32_t late_user = *rec_.users().Find("late-user");
  ASSERT_EQ(late_user, snap_users);

  ASSERT_TRUE(rec_.InstallModel(std::move(trained)).ok());
  const MFModel& m = rec_.model();
  ASSERT_EQ(m.num_users(), snap_users + 1);
  ASSERT_EQ(m.num_items(), snap_items + 4);
  EXPECT_EQ(m.global_mean(), expected.global_mean());
  const size_t k = 16;
  EXPECT_EQ(std::memcmp(m.ItemRows().data(), expected.ItemRows().data(), sizeof(float) * k * snap_items),
            0);
  for (uint32_t u = 0; u < snap_users; ++u) {
    ASSERT_EQ(std::memcmp(m.user_factors(u), expected.user_factors(u), sizeof(float) * k), 0);
    ASSERT_EQ(m.user_bias(u), expected.user_bias(u));
  }
  for (uint32_t i = 0; i < snap_items; ++i) ASSERT_EQ(m.item_bias(i), expected.item_bias(i));
  // Rows newer than the snapshot keep their online state.
  EXPECT_EQ(
      std::memcmp(m.user_factors(late_user), online.user_factors(late_user), sizeof(float) * k), 0);
  EXPECT_EQ(m.user_bias(late_user), online.user_bias(late_user));
  for (uint32_t i = snap_items; i < snap_items + 4; ++i) {
    EXPECT_EQ(std::memcmp(m.item_factors(i), online.item_factors(i), sizeof(float) * k), 0);
    EXPECT_EQ(m.item_bias(i), online.item_bias(i));
  }
  // Queries now use the installed model, and the stream continues on it.
  const Recommendations r = rec_.RecommendForUser("u3", Req(5));
  ASSERT_EQ(r.source, RecommendationSource::kModel);
  const uint32_t u3 = *rec_.users().Find("u3");
  for (const auto& s : r.items) {
    const uint32_t i = *rec_.items().Find(s.item);
    // (A late item has no row in `expected`; it is scored with its online row.)
    // u3 is young (few events): queries score it with its fold-in against
    // the installed item vectors, which is what the learner predicts.
    EXPECT_NEAR(s.score, rec_.learner().Predict(u3, i), 1e-4);
    if (i < snap_items) {
      EXPECT_EQ(m.item_bias(i), expected.item_bias(i));
    }
  }
  Add("u3", "brand-new", "rating", 5.0f);
  EXPECT_EQ(rec_.model().num_items(), snap_items + 5);
  EXPECT_NE(
      std::memcmp(rec_.model().user_factors(u3), expected.user_factors(u3), sizeof(float) * k), 0);
}

// A retrain that took its data before some events must not undo them: the
// events given as `since` are stepped again on the trained rows, and a
// user forgotten meanwhile stays zeroed.
TEST_F(RecommenderTest, InstallModelReplaysLaterEventsAndKeepsForgottenUsersGone) {
  for (int n = 0; n < 60; ++n) {
    Add(fmt::format("u{}", n % 6), fmt::format("i{}", n % 9), "rating", 1.0f + (n % 5));
  }
  const uint32_t users = rec_.users().size(), items = rec_.items().size();
  MFModel trained(SmallOptions().model);
  trained.EnsureUsers(users);
  trained.EnsureItems(items);
  const MFModel plain = trained.Clone();
  // Later: u0 rates i1 (both trained rows); u5 is forgotten.
  Add("u0", "i1", "rating", 5.0f);
  const Event later{.user = "u0", .item = "i1", .type = Type("rating"), .value = 5.0f};
  ASSERT_TRUE(rec_.ForgetUser("u5"));
  ASSERT_TRUE(rec_.InstallModel(std::move(trained), std::span<const Event>(&later, 1)).ok());
  const MFModel& m = rec_.model();
  const uint32_t u0 = *rec_.users().Find("u0"), i1 = *rec_.items().Find("i1");
  EXPECT_NE(std::memcmp(m.user_factors(u0), plain.user_factors(u0), sizeof(float) * 16), 0);
  EXPECT_NE(std::memcmp(m.item_factors(i1), plain.item_factors(i1), sizeof(float) * 16), 0);
  const uint32_t u1 = 1;  // untouched by `later`
  EXPECT_EQ(std::memcmp(m.user_factors(u1), plain.user_factors(u1), sizeof(float) * 16), 0);
  for (int d = 0; d < 16; ++d) EXPECT_EQ(m.user_factors(5)[d], 0.0f);
  EXPECT_EQ(m.user_bias(5), 0.0f);
}

// Issue 13 item 6: the engine checks its own limits, so no caller can hand
// it a rank its code cannot hold.

}  // namespace
}  // namespace streamrec::engine
