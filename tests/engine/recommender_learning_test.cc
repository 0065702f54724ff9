// The Recommender learning from a stream (rating objective): the same
// events give a bit-identical model, and planted structure is learned.
// (recommender_test.cc: ids, validation, queries, install, forget.)
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/live/recommender.h"

namespace streamrec::engine {
namespace {

RecommendRequest Req(size_t n) {
  RecommendRequest r;
  r.n = n;
  return r;
}

TEST(RecommenderDeterminismTest, SameEventsSameModel) {
  std::vector<std::string> users, items;
  for (int n = 0; n < 50; ++n) users.push_back(fmt::format("user-{}", n * 7919 % 1000));
  for (int n = 0; n < 80; ++n) items.push_back(fmt::format("sku:{}", n * 104729 % 100000));
  const EventTypes types = EventTypes::Defaults();
  RecommenderOptions o;
  o.model.rank = 32;
  Recommender a(o, types), b(o, types);
  SplitMix64 rng(77);
  int64_t ts = 1'600'000'000'000;
  for (int n = 0; n < 5000; ++n) {
    const EventTypeId type = static_cast<EventTypeId>(rng.Uniform(types.size()));
    const float value = 0.5f + 0.5f * static_cast<float>(rng.Uniform(10));
    const Event e{.user = users[rng.Uniform(users.size())],
                  .item = items[rng.Uniform(items.size())],
                  .type = type,
                  .value = value,
                  .ts_ms = ts};
    ts += static_cast<int64_t>(rng.Uniform(100000));
    ASSERT_TRUE(a.Apply(e).ok());
    ASSERT_TRUE(b.Apply(e).ok());
  }
  const MFModel& ma = a.model();
  const MFModel& mb = b.model();
  ASSERT_EQ(ma.num_users(), mb.num_users());
  ASSERT_EQ(ma.num_items(), mb.num_items());
  const size_t k = static_cast<size_t>(ma.rank());
  EXPECT_EQ(std::memcmp(ma.ItemRows().data(), mb.ItemRows().data(), sizeof(float) * k * ma.num_items()),
            0);
  EXPECT_EQ(
      std::memcmp(ma.UserRows().data(), mb.UserRows().data(), sizeof(float) * k * ma.num_users()),
      0);
  EXPECT_EQ(std::memcmp(ma.item_biases(), mb.item_biases(), sizeof(float) * ma.num_items()), 0);
  for (uint32_t u = 0; u < ma.num_users(); ++u) ASSERT_EQ(ma.user_bias(u), mb.user_bias(u));
  EXPECT_EQ(ma.global_mean(), mb.global_mean());
  EXPECT_EQ(a.popularity().raw_scores(), b.popularity().raw_scores());
  for (uint32_t u = 0; u < ma.num_users(); ++u) {
    ASSERT_TRUE(std::ranges::equal(a.Seen(u), b.Seen(u)));
  }
  // And so the answers agree.
  const Recommendations ra = a.RecommendForUser(users[3], Req(20));
  const Recommendations rb = b.RecommendForUser(users[3], Req(20));
  ASSERT_EQ(ra.items.size(), rb.items.size());
  for (size_t n = 0; n < ra.items.size(); ++n) {
    EXPECT_EQ(ra.items[n].item, rb.items[n].item);
    EXPECT_EQ(ra.items[n].score, rb.items[n].score);
  }
}

// Two clusters of items and users who each like one: the model must learn
// the structure from the stream and serve a user who likes cluster A more
// cluster-A items.
TEST(RecommenderClusterTest, UserWhoLikesClusterAGetsClusterA) {
  constexpr int kItemsPerCluster = 20;
  constexpr int kUsers = 60;
  constexpr int kPasses = 60;
  const EventTypes types = EventTypes::Defaults();
  const EventTypeId rating = *types.Find("rating");
  RecommenderOptions o;
  o.model.rank = 16;
  Recommender rec(o, types);
  std::vector<std::string> a_items, b_items, users;
  for (int i = 0; i < kItemsPerCluster; ++i) {
    a_items.push_back(fmt::format("a{}", i));
    b_items.push_back(fmt::format("b{}", i));
  }
  for (int u = 0; u < kUsers; ++u) users.push_back(fmt::format("u{}", u));
  // Each user rates 10 liked-cluster items high and 6 other-cluster items low.
  struct Rating {
    int user;
    bool a;
    int item;
    float value;
  };
  SplitMix64 rng(2024);
  std::vector<Rating> log;
  for (int u = 0; u < kUsers; ++u) {
    const bool likes_a = u % 2 == 0;
    for (int n = 0; n < 10; ++n) {
      log.push_back({u, likes_a, static_cast<int>(rng.Uniform(kItemsPerCluster)),
                     4.5f + 0.5f * static_cast<float>(rng.Uniform(2))});
    }
    for (int n = 0; n < 6; ++n) {
      log.push_back({u, !likes_a, static_cast<int>(rng.Uniform(kItemsPerCluster)),
                     1.0f + 0.5f * static_cast<float>(rng.Uniform(2))});
    }
  }
  for (size_t n = log.size(); n > 1; --n) std::swap(log[n - 1], log[rng.Uniform(n)]);
  // The newcomer has rated five cluster-A items 5 stars; they joined late, so
  // their ratings only appear in the last few passes.
  const std::vector<int> newcomer_items = {0, 3, 6, 9, 12};
  int64_t ts = 0;
  for (int pass = 0; pass < kPasses; ++pass) {
    for (const Rating& r : log) {
      const std::string& item = (r.a ? a_items : b_items)[r.item];
      ASSERT_TRUE(rec.Apply({.user = users[r.user],
                             .item = item,
                             .type = rating,
                             .value = r.value,
                             .ts_ms = ts++})
                      .ok());
    }
    if (pass >= kPasses - 5) {
      for (int i : newcomer_items) {
        ASSERT_TRUE(rec.Apply({.user = "newcomer",
                               .item = a_items[i],
                               .type = rating,
                               .value = 5.0f,
                               .ts_ms = ts++})
                        .ok());
      }
    }
  }
  const Recommendations r = rec.RecommendForUser("newcomer", Req(10));
  ASSERT_EQ(r.source, RecommendationSource::kModel);
  ASSERT_EQ(r.items.size(), 10u);
  int from_a = 0;
  std::string got;
  for (const auto& s : r.items) {
    got += s.item + " ";
    if (s.item[0] == 'a') ++from_a;
    for (int i : newcomer_items) EXPECT_NE(s.item, a_items[i]);  // seen
  }
  EXPECT_GE(from_a, 8) << got;
  // The established users are served their own cluster.
  for (int u : {0, 1, 2, 3}) {
    const Recommendations ru = rec.RecommendForUser(users[u], Req(5));
    ASSERT_EQ(ru.source, RecommendationSource::kModel);
    int own = 0;
    for (const auto& s : ru.items) own += (s.item[0] == 'a') == (u % 2 == 0);
    EXPECT_GE(own, 4) << users[u];
  }
  // Items of a cluster are each other's nearest neighbours.
  const auto similar = rec.SimilarItems("a1", 5);
  ASSERT_TRUE(similar.ok());
  int same = 0;
  for (const auto& s : *similar) same += s.item[0] == 'a';
  EXPECT_GE(same, 4);
}

// n == 0 must give an empty list on the model path as on the popular path.
// Run in a child process so that a crash fails this test only.

}  // namespace
}  // namespace streamrec::engine
