#include "engine/live/recommender.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/train/batch_trainer.h"

namespace streamrec::engine {
namespace {

RecommendRequest Req(size_t n, std::vector<std::string> exclude = {}, bool include_seen = false) {
  RecommendRequest r;
  r.n = n;
  r.exclude = std::move(exclude);
  r.include_seen = include_seen;
  return r;
}

RecommenderOptions SmallOptions() {
  RecommenderOptions o;
  o.model.rank = 16;
  return o;
}

class RecommenderTest : public ::testing::Test {
 protected:
  RecommenderTest() : rec_(SmallOptions(), EventTypes::Defaults()) {}

  EventTypeId Type(std::string_view name) const { return *rec_.types().Find(name); }

  void Add(std::string_view user, std::string_view item, std::string_view type,
           float value = 0.0f) {
    const Event e{.user = user, .item = item, .type = Type(type), .value = value, .ts_ms = ts_};
    ts_ += 1000;
    ASSERT_TRUE(rec_.Apply(e).ok()) << user << " " << item;
  }

  static std::vector<std::string> Names(const std::vector<NamedScore>& v) {
    std::vector<std::string> out;
    for (const auto& s : v) out.push_back(s.item);
    return out;
  }

  Recommender rec_;
  int64_t ts_ = 1'700'000'000'000;
};

TEST_F(RecommenderTest, GrowsForNewUsersAndItems) {
  EXPECT_EQ(rec_.model().num_users(), 0u);
  Add("alice", "book", "view");
  Add("alice", "pen", "rating", 4.0f);
  Add("bob", "book", "purchase");
  EXPECT_EQ(rec_.users().size(), 2u);
  EXPECT_EQ(rec_.items().size(), 2u);
  EXPECT_EQ(rec_.model().num_users(), 2u);
  EXPECT_EQ(rec_.model().num_items(), 2u);
  EXPECT_EQ(rec_.users().Find("bob"), 1u);
  EXPECT_EQ(rec_.items().Name(1), "pen");
  EXPECT_EQ(rec_.events_applied(), 3u);
  EXPECT_EQ(rec_.popularity().num_items(), 2u);
  Add("carol", "cup", "click");
  EXPECT_EQ(rec_.model().num_users(), 3u);
  EXPECT_EQ(rec_.model().num_items(), 3u);
}

TEST_F(RecommenderTest, SeenIsSortedAndDistinct) {
  for (const char* item : {"i3", "i1", "i2", "i1", "i3", "i0"}) Add("u", item, "view");
  Add("other", "i9", "view");
  const std::span<const uint32_t> seen = rec_.Seen(0);
  // Indices: i3 = 0, i1 = 1, i2 = 2, i0 = 3.
  EXPECT_EQ(std::vector<uint32_t>(seen.begin(), seen.end()), (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(rec_.Seen(1).size(), 1u);
  EXPECT_TRUE(rec_.Seen(99).empty());
}

TEST_F(RecommenderTest, ValidateAcceptsGoodEvents) {
  EXPECT_TRUE(rec_.Validate({.user = "u", .item = "i", .type = Type("view")}).ok());
  EXPECT_TRUE(
      rec_.Validate({.user = "u", .item = "i", .type = Type("rating"), .value = 0.5f}).ok());
  EXPECT_TRUE(
      rec_.Validate({.user = "u", .item = "i", .type = Type("rating"), .value = 5.0f}).ok());
  EXPECT_TRUE(rec_.Validate({.user = "ü-ñ 漢字", .item = "a b/c", .type = 0}).ok());
  const std::string longest(256, 'x');
  EXPECT_TRUE(rec_.Validate({.user = longest, .item = longest, .type = 0}).ok());
  // The value of an implicit type is not used, but it is stored and echoed
  // (`log dump`, JSON): it must be finite all the same (issue 12).
  EXPECT_FALSE(rec_.Validate({.user = "u",
                              .item = "i",
                              .type = Type("view"),
                              .value = std::numeric_limits<float>::quiet_NaN()})
                   .ok());
  EXPECT_FALSE(rec_.Validate({.user = "u",
                              .item = "i",
                              .type = Type("view"),
                              .value = std::numeric_limits<float>::infinity()})
                   .ok());
}

TEST_F(RecommenderTest, ValidateRejectsBadEvents) {
  const EventTypeId rating = Type("rating");
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::string too_long(257, 'x');
  const std::string with_nul("a\0b", 3);
  const std::vector<std::pair<Event, std::string>> bad = {
      {{.user = "", .item = "i", .type = 0}, "empty user"},
      {{.user = "u", .item = "", .type = 0}, "empty item"},
      {{.user = too_long, .item = "i", .type = 0}, "long user"},
      {{.user = "u", .item = too_long, .type = 0}, "long item"},
      {{.user = "u\n", .item = "i", .type = 0}, "newline"},
      {{.user = "u", .item = "i\t", .type = 0}, "tab"},
      {{.user = with_nul, .item = "i", .type = 0}, "NUL"},
      {{.user = "u", .item = "\x7f", .type = 0}, "DEL"},
      {{.user = "\x1b[31m", .item = "i", .type = 0}, "escape"},
      {{.user = "u", .item = "i", .type = 5}, "type index 5"},
      {{.user = "u", .item = "i", .type = 65535}, "type index 65535"},
      {{.user = "u", .item = "i", .type = rating, .value = 0.49f}, "rating below"},
      {{.user = "u", .item = "i", .type = rating, .value = 5.01f}, "rating above"},
      {{.user = "u", .item = "i", .type = rating, .value = -1.0f}, "negative rating"},
      {{.user = "u", .item = "i", .type = rating, .value = nan}, "NaN rating"},
      {{.user = "u", .item = "i", .type = rating, .value = inf}, "inf rating"},
  };
  for (const auto& [event, what] : bad) {
    const Status s = rec_.Validate(event);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << what;
    // Apply validates too, and a rejected event leaves no trace.
    EXPECT_EQ(rec_.Apply(event).code(), StatusCode::kInvalidArgument) << what;
  }
  EXPECT_EQ(rec_.events_applied(), 0u);
  EXPECT_EQ(rec_.users().size(), 0u);
  EXPECT_EQ(rec_.items().size(), 0u);
  EXPECT_EQ(rec_.model().num_users(), 0u);
  EXPECT_EQ(rec_.popularity().num_items(), 0u);
}

TEST_F(RecommenderTest, ValidateHonoursConfiguredIdLength) {
  RecommenderOptions o = SmallOptions();
  o.max_id_length = 4;
  const Recommender r(o, EventTypes::Defaults());
  EXPECT_TRUE(r.Validate({.user = "abcd", .item = "i", .type = 0}).ok());
  EXPECT_FALSE(r.Validate({.user = "abcde", .item = "i", .type = 0}).ok());
}

TEST_F(RecommenderTest, UnknownUserGetsPopularItems) {
  for (int n = 0; n < 3; ++n) Add(fmt::format("u{}", n), "hit", "purchase");
  Add("u0", "ok", "purchase");
  Add("u1", "meh", "view");
  const Recommendations r = rec_.RecommendForUser("stranger", Req(10));
  EXPECT_EQ(r.source, RecommendationSource::kPopular);
  EXPECT_EQ(SourceName(r.source), "popular");
  EXPECT_EQ(Names(r.items), (std::vector<std::string>{"hit", "ok", "meh"}));
  EXPECT_EQ(Names(rec_.Popular(2)), (std::vector<std::string>{"hit", "ok"}));
  EXPECT_GT(r.items[0].score, r.items[1].score);
  // Exclusions apply to the popular list too; unknown ids are ignored.
  const Recommendations ex = rec_.RecommendForUser("stranger", Req(10, {"ok", "nope", "ok"}));
  EXPECT_EQ(Names(ex.items), (std::vector<std::string>{"hit", "meh"}));
}

TEST_F(RecommenderTest, ColdUserGetsPopularItemsMinusSeen) {
  for (const char* item : {"a", "b", "c", "d", "e"}) Add("crowd", item, "purchase");
  Add("crowd", "a", "purchase");  // a is the most popular
  // Two distinct items, many events: still below cold_start_min_items = 3.
  for (int n = 0; n < 5; ++n) {
    Add("newbie", "a", "view");
    Add("newbie", "c", "click");
  }
  const Recommendations r = rec_.RecommendForUser("newbie", Req(10));
  EXPECT_EQ(r.source, RecommendationSource::kPopular);
  const std::vector<std::string> names = Names(r.items);
  EXPECT_EQ(std::count(names.begin(), names.end(), "a"), 0);
  EXPECT_EQ(std::count(names.begin(), names.end(), "c"), 0);
  EXPECT_EQ(names.size(), 3u);
  const Recommendations with_seen = rec_.RecommendForUser("newbie", Req(10, {"b"}, true));
  EXPECT_EQ(Names(with_seen.items).front(), "a");
  EXPECT_EQ(with_seen.items.size(), 4u);  // all 5 minus the excluded b
}

TEST_F(RecommenderTest, UserWithEnoughItemsGetsTheModel) {
  for (int i = 0; i < 8; ++i) Add("crowd", fmt::format("i{}", i), "purchase");
  Add("warm", "i0", "rating", 5.0f);
  Add("warm", "i1", "rating", 4.0f);
  EXPECT_EQ(rec_.RecommendForUser("warm", {}).source, RecommendationSource::kPopular);
  Add("warm", "i2", "view");
  const Recommendations r = rec_.RecommendForUser("warm", Req(3));
  EXPECT_EQ(r.source, RecommendationSource::kModel);
  EXPECT_EQ(SourceName(r.source), "model");
  EXPECT_EQ(r.items.size(), 3u);
}

TEST_F(RecommenderTest, ModelPathExcludesSeenUnlessIncludeSeen) {
  for (int i = 0; i < 20; ++i) Add("crowd", fmt::format("i{}", i), "rating", 1.0f + i % 5);
  for (int i = 0; i < 6; ++i) Add("me", fmt::format("i{}", i * 3), "purchase");
  const std::set<std::string> seen = {"i0", "i3", "i6", "i9", "i12", "i15"};
  const Recommendations r = rec_.RecommendForUser("me", Req(100));
  ASSERT_EQ(r.source, RecommendationSource::kModel);
  EXPECT_EQ(r.items.size(), 14u);
  for (const auto& s : r.items) EXPECT_EQ(seen.count(s.item), 0u) << s.item;

  const Recommendations all = rec_.RecommendForUser("me", Req(100, {}, true));
  EXPECT_EQ(all.items.size(), 20u);

  const Recommendations ex =
      rec_.RecommendForUser("me", Req(100, {"i1", "i19", "unknown", "i1", "i0"}));
  EXPECT_EQ(ex.items.size(), 12u);
  for (const auto& s : ex.items) {
    EXPECT_EQ(seen.count(s.item), 0u) << s.item;
    EXPECT_NE(s.item, "i1");
    EXPECT_NE(s.item, "i19");
  }
  const Recommendations ex_seen = rec_.RecommendForUser("me", Req(100, {"i1", "i0"}, true));
  EXPECT_EQ(ex_seen.items.size(), 18u);
}

TEST_F(RecommenderTest, ModelScoresArePredictedRatingsBestFirst) {
  SplitMix64 rng(3);
  for (int n = 0; n < 400; ++n) {
    Add(fmt::format("u{}", rng.Uniform(20)), fmt::format("i{}", rng.Uniform(30)), "rating",
        1.0f + static_cast<float>(rng.Uniform(9)) * 0.5f);
  }
  const uint32_t u = *rec_.users().Find("u3");
  const Recommendations r = rec_.RecommendForUser("u3", Req(30));
  ASSERT_EQ(r.source, RecommendationSource::kModel);
  ASSERT_FALSE(r.items.empty());
  EXPECT_EQ(r.items.size(), 30u - rec_.Seen(u).size());
  for (size_t k = 0; k < r.items.size(); ++k) {
    const uint32_t i = *rec_.items().Find(r.items[k].item);
    EXPECT_NEAR(r.items[k].score, rec_.learner().Predict(u, i), 1e-4) << r.items[k].item;
    if (k > 0) {
      EXPECT_GE(r.items[k - 1].score, r.items[k].score);
    }
  }
}

TEST_F(RecommenderTest, SimilarItemsUnknownItemIsNotFound) {
  Add("u", "known", "view");
  const auto r = rec_.SimilarItems("unknown", 5);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("unknown"), std::string::npos);
}

TEST_F(RecommenderTest, SimilarItemsAreCosineNeighboursWithoutSelf) {
  SplitMix64 rng(9);
  for (int n = 0; n < 600; ++n) {
    Add(fmt::format("u{}", rng.Uniform(25)), fmt::format("i{}", rng.Uniform(40)), "rating",
        1.0f + static_cast<float>(rng.Uniform(9)) * 0.5f);
  }
  const uint32_t self = *rec_.items().Find("i7");
  const auto r = rec_.SimilarItems("i7", 10);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 10u);
  // Reference: cosine of every other item, sorted.
  const MFModel& m = rec_.model();
  const int k = m.rank();
  auto cosine = [&](uint32_t a, uint32_t b) {
    double dot = 0, na = 0, nb = 0;
    for (int d = 0; d < k; ++d) {
      dot += double{m.item_factors(a)[d]} * m.item_factors(b)[d];
      na += double{m.item_factors(a)[d]} * m.item_factors(a)[d];
      nb += double{m.item_factors(b)[d]} * m.item_factors(b)[d];
    }
    return dot / std::sqrt(na * nb);
  };
  std::vector<double> others;
  for (uint32_t i = 0; i < m.num_items(); ++i) {
    if (i != self) others.push_back(cosine(self, i));
  }
  std::sort(others.rbegin(), others.rend());
  for (size_t n = 0; n < r->size(); ++n) {
    const NamedScore& s = (*r)[n];
    EXPECT_NE(s.item, "i7");
    EXPECT_NEAR(s.score, cosine(self, *rec_.items().Find(s.item)), 1e-4) << s.item;
    EXPECT_NEAR(s.score, others[n], 1e-4) << "rank " << n;
  }
  // Asking for everything returns every other item exactly once.
  const auto all = rec_.SimilarItems("i7", 1000);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), m.num_items() - 1);
}

TEST_F(RecommenderTest, SimilarItemsForUserExcludesTheirSeenItems) {
  SplitMix64 rng(10);
  for (int n = 0; n < 300; ++n) {
    Add(fmt::format("u{}", rng.Uniform(10)), fmt::format("i{}", rng.Uniform(30)), "click");
  }
  Add("me", "i1", "view");
  Add("me", "i2", "view");
  Add("me", "i5", "view");
  const auto r = rec_.SimilarItems("i1", 100, "me");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), rec_.items().size() - 3);  // not i1 itself, nor i2, i5
  for (const auto& s : *r) {
    EXPECT_NE(s.item, "i1");
    EXPECT_NE(s.item, "i2");
    EXPECT_NE(s.item, "i5");
  }
  // An unknown for_user just means "no extra exclusions".
  const auto anon = rec_.SimilarItems("i1", 100, "nobody");
  ASSERT_TRUE(anon.ok());
  EXPECT_EQ(anon->size(), rec_.items().size() - 1);
}

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
  EXPECT_EQ(std::memcmp(m.item_factors(), expected.item_factors(), sizeof(float) * k * snap_items),
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

// The same events in the same order give bit-identical engines.
bool ModelRecommendationsWithZeroNAreEmpty(const Recommender& rec) {
  const Recommendations r = rec.RecommendForUser("me", Req(0));
  return r.items.empty() && r.source == RecommendationSource::kModel;
}

bool SimilarItemsWithZeroNAreEmpty(const Recommender& rec) {
  const auto r = rec.SimilarItems("i0", 0);
  return r.ok() && r->empty();
}

TEST_F(RecommenderTest, ZeroNReturnsNothing) {
  for (int i = 0; i < 5; ++i) Add("me", fmt::format("i{}", i), "purchase");
  Add("other", "i9", "purchase");
  EXPECT_TRUE(rec_.RecommendForUser("stranger", Req(0)).items.empty());
  EXPECT_EXIT(std::exit(ModelRecommendationsWithZeroNAreEmpty(rec_) ? 0 : 1),
              testing::ExitedWithCode(0), "");
  EXPECT_EXIT(std::exit(SimilarItemsWithZeroNAreEmpty(rec_) ? 0 : 1), testing::ExitedWithCode(0),
              "");
}

// "All of them" is a legitimate request (n is a size_t; a caller may pass
// SIZE_MAX): it must return every candidate, not throw out of the engine.
TEST_F(RecommenderTest, HugeNReturnsEverything) {
  for (int i = 0; i < 5; ++i) Add("me", fmt::format("i{}", i), "purchase");
  for (int i = 5; i < 9; ++i) Add("other", fmt::format("i{}", i), "view");
  const size_t huge = std::numeric_limits<size_t>::max();
  EXPECT_EQ(rec_.RecommendForUser("stranger", Req(huge)).items.size(), 9u);
  EXPECT_EQ(rec_.RecommendForUser("me", Req(huge)).items.size(), 4u);
  EXPECT_EQ(rec_.Popular(huge).size(), 9u);
}

TEST_F(RecommenderTest, ForgetUserDropsTheirStateAndTheirIdComesBackNew) {
  for (int n = 0; n < 6; ++n) Add("alice", fmt::format("i{}", n), "rating", 5.0f);
  for (int n = 0; n < 6; ++n) Add("bob", fmt::format("i{}", n), "rating", 2.0f);
  const uint32_t alice = *rec_.users().Find("alice");
  EXPECT_FALSE(rec_.ForgetUser("nobody"));
  ASSERT_TRUE(rec_.ForgetUser("alice"));
  EXPECT_FALSE(rec_.users().Find("alice").has_value());
  EXPECT_TRUE(rec_.users().Find("bob").has_value());
  EXPECT_TRUE(rec_.Seen(alice).empty());
  EXPECT_EQ(rec_.learner().user_event_count(alice), 0u);
  EXPECT_EQ(rec_.model().user_bias(alice), 0.0f);
  for (int d = 0; d < rec_.model().rank(); ++d) EXPECT_EQ(rec_.model().user_factors(alice)[d], 0);
  EXPECT_EQ(rec_.RecommendForUser("alice", Req(3)).source, RecommendationSource::kPopular);
  // The index is never reused: she returns as a new user with a new row.
  Add("alice", "i9", "view");
  EXPECT_EQ(*rec_.users().Find("alice"), rec_.users().size() - 1);
  EXPECT_NE(*rec_.users().Find("alice"), alice);
  EXPECT_EQ(rec_.users().Name(alice), "");
}

}  // namespace
}  // namespace streamrec::engine

namespace streamrec::engine {
namespace {

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
TEST(RecommenderOptionsTest, CreateRefusesOptionsTheEngineCannotRun) {
  RecommenderOptions o;
  EXPECT_TRUE(Recommender::Create(o, EventTypes::Defaults()).ok());
  o.model.rank = kMaxRank + 1;
  auto r = Recommender::Create(o, EventTypes::Defaults());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "rank must be in [1, 1024], got 1025");
  o.model.rank = 0;
  EXPECT_FALSE(Recommender::Create(o, EventTypes::Defaults()).ok());
  o = RecommenderOptions{};
  o.learner.sgd.learning_rate = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(Recommender::ValidateOptions(o).code(), StatusCode::kInvalidArgument);
  o = RecommenderOptions{};
  o.popularity.half_life_ms = 0;
  EXPECT_EQ(Recommender::ValidateOptions(o).code(), StatusCode::kInvalidArgument);
  o = RecommenderOptions{};
  o.objective = Objective::kImplicit;
  o.implicit.sweeps = 0;
  EXPECT_EQ(Recommender::ValidateOptions(o).code(), StatusCode::kInvalidArgument);
  o.objective = Objective::kRating;  // the implicit settings are not used
  EXPECT_TRUE(Recommender::ValidateOptions(o).ok());
}

}  // namespace
}  // namespace streamrec::engine
