// The Recommender's top-N paths: the int8 mirror stays in step with the
// model through every way item vectors change, batched queries answer as
// single ones do, and the int8 path finds what the exact scan finds.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/live/recommender.h"
#include "engine/live/snapshot.h"
#include "tests/engine/recommender_fixture.h"

namespace streamrec::engine {
namespace {

RecommenderOptions WithTopN(Objective objective, TopNMethod method) {
  RecommenderOptions o = SmallOptions();
  o.objective = objective;
  o.topn.method = method;
  return o;
}

// Random clicks and ratings of `users` x `items` (item popularity skewed).
void Feed(Recommender* rec, uint32_t users, uint32_t items, uint32_t events, uint64_t seed) {
  SplitMix64 rng(seed);
  const EventTypeId rate = *rec->types().Find("rating");
  const EventTypeId click = *rec->types().Find("click");
  for (uint32_t e = 0; e < events; ++e) {
    const auto u = static_cast<uint32_t>(rng.Uniform(users));
    const auto i = static_cast<uint32_t>(rng.Uniform(1 + rng.Uniform(items)));
    const bool rated = rng.Uniform(2) == 0;
    const std::string user = "u" + std::to_string(u), item = "i" + std::to_string(i);
    const Event ev{.user = user,
                   .item = item,
                   .type = rated ? rate : click,
                   .value = rated ? static_cast<float>(1 + rng.Uniform(5)) : 0.0f,
                   .ts_ms = 1'700'000'000'000 + int64_t{e} * 1000};
    const Status st = rec->Apply(ev);
    ASSERT_TRUE(st.ok()) << st.message();
  }
}

// The mirror holds exactly what quantising the model's rows afresh gives.
void ExpectMirrorCurrent(const Recommender& rec, const char* when) {
  const MFModel& m = rec.model();
  QuantizedItems fresh;
  fresh.Assign(m.item_factors(), m.num_items(), m.rank());
  ASSERT_EQ(rec.quantized_items().size(), m.num_items()) << when;
  std::vector<float> a(m.rank()), b(m.rank());
  for (uint32_t i = 0; i < m.num_items(); ++i) {
    rec.quantized_items().Decode(i, a.data());
    fresh.Decode(i, b.data());
    ASSERT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << when << " item " << i;
  }
}

class TopNObjectives : public ::testing::TestWithParam<Objective> {};

TEST_P(TopNObjectives, TheInt8MirrorFollowsEveryChangeOfTheItemVectors) {
  Recommender rec(WithTopN(GetParam(), TopNMethod::kInt8), EventTypes::Defaults());
  Feed(&rec, 40, 60, 2000, 1);
  ExpectMirrorCurrent(rec, "after Apply");
  MFModel retrained = rec.model().Clone();
  retrained.Reinitialize();
  std::vector<Event> none;
  ASSERT_TRUE(rec.InstallModel(std::move(retrained), none).ok());
  ExpectMirrorCurrent(rec, "after InstallModel");
  ASSERT_TRUE(rec.ForgetUser("u3"));
  ExpectMirrorCurrent(rec, "after ForgetUser");
  Recommender restored(WithTopN(GetParam(), TopNMethod::kInt8), EventTypes::Defaults());
  ASSERT_TRUE(DecodeSnapshot(EncodeSnapshot(rec), &restored).ok());
  ExpectMirrorCurrent(restored, "after a snapshot");
  Feed(&restored, 50, 70, 300, 2);  // new users and items on a restored model
  ExpectMirrorCurrent(restored, "after Apply on the restored model");
  restored.Reset();
  ExpectMirrorCurrent(restored, "after Reset");
}

TEST_P(TopNObjectives, ABatchAnswersAsSingleQueriesDo) {
  for (const TopNMethod method : {TopNMethod::kExact, TopNMethod::kInt8}) {
    Recommender rec(WithTopN(GetParam(), method), EventTypes::Defaults());
    Feed(&rec, 30, 80, 1500, 3);
    ItemMeta books;
    books.categories = {"books"};
    for (int i = 0; i < 80; i += 3) ASSERT_TRUE(rec.SetItemMeta("i" + std::to_string(i), books).ok());
    ItemMeta hidden;
    hidden.hidden = true;
    ASSERT_TRUE(rec.SetItemMeta("i1", hidden).ok());
    std::vector<std::string> users;
    std::vector<RecommendRequest> reqs;
    for (int j = 0; j < 24; ++j) {
      users.push_back(j == 5 ? "nobody" : "u" + std::to_string(j));  // one unknown user
      RecommendRequest r = Req(1 + j % 12, {"i" + std::to_string(j), "i0"}, j % 4 == 0);
      if (j % 3 == 0) r.category = "books";
      reqs.push_back(r);
    }
    std::vector<UserQuery> batch;
    for (size_t j = 0; j < users.size(); ++j) batch.push_back({users[j], &reqs[j]});
    const std::vector<Recommendations> got = rec.RecommendForUsers(batch);
    ASSERT_EQ(got.size(), users.size());
    for (size_t j = 0; j < users.size(); ++j) {
      const Recommendations one = rec.RecommendForUser(users[j], reqs[j]);
      ASSERT_EQ(got[j].source, one.source) << j;
      ASSERT_EQ(got[j].items.size(), one.items.size()) << j;
      for (size_t t = 0; t < one.items.size(); ++t) {
        EXPECT_EQ(got[j].items[t].item, one.items[t].item) << j;
        EXPECT_FLOAT_EQ(got[j].items[t].score, one.items[t].score) << j;  // GEMM vs GEMV rounding
        EXPECT_NE(got[j].items[t].item, "i1");  // hidden
      }
    }
  }
}

TEST_P(TopNObjectives, TheInt8PathFindsWhatTheExactScanFinds) {
  Recommender exact(WithTopN(GetParam(), TopNMethod::kExact), EventTypes::Defaults());
  Recommender int8(WithTopN(GetParam(), TopNMethod::kInt8), EventTypes::Defaults());
  Feed(&exact, 200, 3000, 20000, 4);
  Feed(&int8, 200, 3000, 20000, 4);
  EXPECT_FALSE(exact.UsesInt8Scan());
  EXPECT_TRUE(int8.UsesInt8Scan());
  size_t hit = 0, total = 0;
  for (int u = 0; u < 200; ++u) {
    const std::string user = "u" + std::to_string(u);
    const Recommendations a = exact.RecommendForUser(user, Req(10));
    const Recommendations b = int8.RecommendForUser(user, Req(10));
    ASSERT_EQ(a.source, b.source);
    std::set<std::string> want;
    for (const NamedScore& s : a.items) want.insert(s.item);
    for (const NamedScore& s : b.items) hit += want.count(s.item);
    total += want.size();
    const auto sim_a = exact.SimilarItems("i" + std::to_string(u), 10);
    const auto sim_b = int8.SimilarItems("i" + std::to_string(u), 10);
    ASSERT_EQ(sim_a.ok(), sim_b.ok());
    if (!sim_a.ok()) continue;
    std::set<std::string> sim_want;
    for (const NamedScore& s : *sim_a) sim_want.insert(s.item);
    for (const NamedScore& s : *sim_b) hit += sim_want.count(s.item);
    total += sim_want.size();
  }
  ASSERT_GT(total, 3000u);
  EXPECT_GE(static_cast<double>(hit) / static_cast<double>(total), 0.99);
}

INSTANTIATE_TEST_SUITE_P(Objectives, TopNObjectives,
                         ::testing::Values(Objective::kRating, Objective::kImplicit,
                                           Objective::kBpr),
                         [](const auto& info) { return std::string(ObjectiveName(info.param)); });

TEST(TopNMethodTest, AutoSwitchesAtTheConfiguredCatalogSize) {
  RecommenderOptions o = WithTopN(Objective::kImplicit, TopNMethod::kAuto);
  o.topn.int8_min_items = 50;
  Recommender rec(o, EventTypes::Defaults());
  Feed(&rec, 10, 40, 200, 5);
  EXPECT_FALSE(rec.UsesInt8Scan());
  EXPECT_EQ(rec.quantized_items().size(), 0u);  // not kept while unused
  Feed(&rec, 10, 200, 2000, 6);
  EXPECT_TRUE(rec.UsesInt8Scan());
  ExpectMirrorCurrent(rec, "auto");
  EXPECT_EQ(ParseTopNMethod("int8").value(), TopNMethod::kInt8);
  EXPECT_EQ(TopNMethodName(TopNMethod::kExact), "exact");
  EXPECT_FALSE(ParseTopNMethod("fast").ok());
  o.topn.int8.candidate_factor = 0;
  EXPECT_FALSE(Recommender::ValidateOptions(o).ok());
}

}  // namespace
}  // namespace streamrec::engine
