// The Recommender's top-N paths: the int8 mirror stays in step with the
// model through every way item vectors change, batched queries answer as
// single ones do, and the int8 path finds what the exact scan finds.
#include <fmt/format.h>
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
    const std::string user = fmt::format("u{}", u), item = fmt::format("i{}", i);
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
  fresh.Assign(m.item_rows(), m.num_items(), m.rank());
  ASSERT_EQ(rec.quantized_items().size(), m.num_items()) << when;
  std::vector<float> a(m.rank()), b(m.rank());
  for (uint32_t i = 0; i < m.num_items(); ++i) {
    rec.quantized_items().Decode(i, a.data());
    fresh.Decode(i, b.data());
    ASSERT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
        << when << " item " << i;
  }
}

// The IVF index files every item once and holds exactly what quantising
// the model's rows afresh gives.
void ExpectIndexCurrent(const Recommender& rec, const char* when) {
  const MFModel& m = rec.model();
  const IvfIndex& index = rec.ivf_index();
  ASSERT_EQ(index.size(), m.num_items()) << when;
  ASSERT_GT(index.lists(), 0u) << when;
  size_t filed = 0;
  for (uint32_t c = 0; c < index.lists(); ++c) {
    for (const uint32_t i : index.ListItems(c)) {
      ASSERT_EQ(index.ListOf(i), c) << when << " item " << i;
      ++filed;
    }
  }
  ASSERT_EQ(filed, m.num_items()) << when;
  QuantizedItems fresh;
  fresh.Assign(m.item_rows(), m.num_items(), m.rank());
  std::vector<float> a(m.rank()), b(m.rank());
  for (uint32_t i = 0; i < m.num_items(); ++i) {
    index.Decode(i, a.data());
    fresh.Decode(i, b.data());
    ASSERT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
        << when << " item " << i;
  }
}

class TopNObjectives : public ::testing::TestWithParam<Objective> {};

TEST_P(TopNObjectives, TheIvfIndexFollowsEveryChangeOfTheItemVectors) {
  Recommender rec(WithTopN(GetParam(), TopNMethod::kIvf), EventTypes::Defaults());
  Feed(&rec, 40, 60, 2000, 1);
  ExpectIndexCurrent(rec, "after Apply");
  EXPECT_EQ(rec.quantized_items().size(), 0u);  // the index has its own codes
  MFModel retrained = rec.model().Clone();
  retrained.Reinitialize();
  std::vector<Event> none;
  ASSERT_TRUE(rec.InstallModel(std::move(retrained), none).ok());
  ExpectIndexCurrent(rec, "after InstallModel");
  ASSERT_TRUE(rec.ForgetUser("u3"));
  ExpectIndexCurrent(rec, "after ForgetUser");
  Recommender restored(WithTopN(GetParam(), TopNMethod::kIvf), EventTypes::Defaults());
  ASSERT_TRUE(DecodeSnapshot(EncodeSnapshot(rec), &restored).ok());
  ExpectIndexCurrent(restored, "after a snapshot");
  // A copy of its state (the second Left-Right copy): the index taken as is.
  Recommender second(WithTopN(GetParam(), TopNMethod::kIvf), EventTypes::Defaults());
  second.ShareUpdater(rec);
  ASSERT_TRUE(CopySnapshotState(rec, &second).ok());
  ExpectIndexCurrent(second, "after a copy of its state");
  for (uint32_t i = 0; i < rec.model().num_items(); ++i) {
    ASSERT_EQ(second.ivf_index().ListOf(i), rec.ivf_index().ListOf(i)) << i;
  }
  const uint32_t trained = restored.ivf_index().trained_items();
  Feed(&restored, 50, 70, 300, 2);  // new users and items on a restored model
  ExpectIndexCurrent(restored, "after Apply on the restored model");
  // The catalog doubled: the cells were trained again for it.
  Feed(&restored, 50, 2 * trained + 10, 3000, 3);
  ASSERT_GE(restored.model().num_items(), 2 * trained);
  EXPECT_GE(restored.ivf_index().trained_items(), 2 * trained);
  ExpectIndexCurrent(restored, "after the catalog doubled");
  restored.Reset();
  EXPECT_EQ(restored.ivf_index().size(), 0u);
}

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
  for (const TopNMethod method : {TopNMethod::kExact, TopNMethod::kInt8, TopNMethod::kIvf}) {
    Recommender rec(WithTopN(GetParam(), method), EventTypes::Defaults());
    Feed(&rec, 30, 80, 1500, 3);
    ItemMeta books;
    books.categories = {"books"};
    for (int i = 0; i < 80; i += 3)
      ASSERT_TRUE(rec.SetItemMeta("i" + std::to_string(i), books).ok());
    ItemMeta hidden;
    hidden.hidden = true;
    ASSERT_TRUE(rec.SetItemMeta("i1", hidden).ok());
    std::vector<std::string> users;
    std::vector<RecommendRequest> reqs;
    for (int j = 0; j < 24; ++j) {
      users.push_back(j == 5 ? "nobody" : "u" + std::to_string(j));  // one unknown user
      // One long list among short ones: each is sized by its own n.
      RecommendRequest r =
          Req(j == 7 ? 30 : 1 + j % 12, {"i" + std::to_string(j), "i0"}, j % 4 == 0);
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
        EXPECT_NEAR(got[j].items[t].score, one.items[t].score, 1e-5f)
            << j;                               // GEMM vs GEMV rounding
        EXPECT_NE(got[j].items[t].item, "i1");  // hidden
      }
    }
  }
}

// Mean recall@10 of `approx` against `exact` over 200 users'
// recommendations and 200 items' similar items.
double RecallAgainst(const Recommender& exact, const Recommender& approx) {
  size_t hit = 0, total = 0;
  for (int u = 0; u < 200; ++u) {
    const std::string user = fmt::format("u{}", u);
    const Recommendations a = exact.RecommendForUser(user, Req(10));
    const Recommendations b = approx.RecommendForUser(user, Req(10));
    EXPECT_EQ(a.source, b.source);
    std::set<std::string> want;
    for (const NamedScore& s : a.items) want.insert(s.item);
    for (const NamedScore& s : b.items) hit += want.count(s.item);
    total += want.size();
    const auto sim_a = exact.SimilarItems(fmt::format("i{}", u), 10);
    const auto sim_b = approx.SimilarItems(fmt::format("i{}", u), 10);
    EXPECT_EQ(sim_a.ok(), sim_b.ok());
    if (!sim_a.ok() || !sim_b.ok()) continue;
    std::set<std::string> sim_want;
    for (const NamedScore& s : *sim_a) sim_want.insert(s.item);
    for (const NamedScore& s : *sim_b) hit += sim_want.count(s.item);
    total += sim_want.size();
  }
  EXPECT_GT(total, 3000u);
  return static_cast<double>(hit) / static_cast<double>(total);
}

TEST_P(TopNObjectives, TheApproximatePathsFindWhatTheExactScanFinds) {
  Recommender exact(WithTopN(GetParam(), TopNMethod::kExact), EventTypes::Defaults());
  Recommender int8(WithTopN(GetParam(), TopNMethod::kInt8), EventTypes::Defaults());
  RecommenderOptions all_cells = WithTopN(GetParam(), TopNMethod::kIvf);
  all_cells.topn.ivf.probe = 1u << 20;
  Recommender ivf_all(all_cells, EventTypes::Defaults());
  Feed(&exact, 200, 3000, 20000, 4);
  Feed(&int8, 200, 3000, 20000, 4);
  Feed(&ivf_all, 200, 3000, 20000, 4);
  EXPECT_EQ(exact.ActiveTopN(), TopNMethod::kExact);
  EXPECT_TRUE(int8.UsesInt8Scan());
  EXPECT_EQ(ivf_all.ActiveTopN(), TopNMethod::kIvf);
  EXPECT_GE(RecallAgainst(exact, int8), 0.99);
  // Every cell read: the index loses nothing the int8 pass keeps.
  EXPECT_GE(RecallAgainst(exact, ivf_all), 0.99);
}

TEST_P(TopNObjectives, AReplayBuildsTheIndexOnceAtItsEndWithTheSameModel) {
  for (const TopNMethod method : {TopNMethod::kInt8, TopNMethod::kIvf}) {
    SCOPED_TRACE(std::string(TopNMethodName(method)));
    RecommenderOptions all_cells = WithTopN(GetParam(), method);
    all_cells.topn.ivf.probe = 1u << 20;
    Recommender kept(all_cells, EventTypes::Defaults()),
        replayed(all_cells, EventTypes::Defaults());
    Feed(&kept, 200, 3000, 20000, 4);
    replayed.BeginReplay();
    Feed(&replayed, 200, 3000, 20000, 4);
    // Not kept up in between: nothing filed or coded yet.
    EXPECT_EQ(replayed.quantized_items().size() + replayed.ivf_index().size(), 0u);
    replayed.EndReplay();
    // The same model, popularity, seen lists and learner state...
    EXPECT_EQ(EncodeSnapshot(replayed), EncodeSnapshot(kept));
    // ...and an index of the final rows.
    if (method == TopNMethod::kInt8) {
      ExpectMirrorCurrent(replayed, "after EndReplay");
    } else {
      ExpectIndexCurrent(replayed, "after EndReplay");
    }
    // The mirror is a function of the rows: it answers as the one kept
    // event by event. The IVF index (cells of other k-means runs) reads
    // every cell here, so both find what the kept one finds.
    EXPECT_GE(RecallAgainst(kept, replayed), 0.99);
    // Kept up from here on.
    Feed(&replayed, 220, 3100, 500, 5);
    if (method == TopNMethod::kInt8) {
      ExpectMirrorCurrent(replayed, "after more events");
    } else {
      ExpectIndexCurrent(replayed, "after more events");
    }
  }
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
  EXPECT_EQ(ParseTopNMethod("ivf").value(), TopNMethod::kIvf);
  EXPECT_EQ(TopNMethodName(TopNMethod::kIvf), "ivf");
  EXPECT_EQ(TopNMethodName(TopNMethod::kExact), "exact");
  EXPECT_FALSE(ParseTopNMethod("fast").ok());
  o.topn.int8.candidate_factor = 0;
  EXPECT_FALSE(Recommender::ValidateOptions(o).ok());
  o.topn.int8.candidate_factor = 4;
  o.topn.ivf.kmeans_iterations = 0;
  EXPECT_FALSE(Recommender::ValidateOptions(o).ok());
}

TEST(TopNMethodTest, AutoTakesTheIvfIndexFromItsCatalogSize) {
  RecommenderOptions o = WithTopN(Objective::kImplicit, TopNMethod::kAuto);
  o.topn.int8_min_items = 50;
  o.topn.ivf_min_items = 150;
  Recommender rec(o, EventTypes::Defaults());
  Feed(&rec, 10, 100, 1000, 7);
  EXPECT_TRUE(rec.UsesInt8Scan());
  EXPECT_EQ(rec.ivf_index().size(), 0u);  // not kept while unused
  Feed(&rec, 10, 400, 4000, 8);
  EXPECT_EQ(rec.ActiveTopN(), TopNMethod::kIvf);
  EXPECT_EQ(rec.quantized_items().size(), 0u);
  ExpectIndexCurrent(rec, "auto");
}

}  // namespace
}  // namespace streamrec::engine
