// The per-request features of the engine's queries. What it computes from a
// history at query time (fold_in.h):
// Recommender::Explain, the history items behind a recommendation (under
// the implicit objective an exact split: the terms and the part the online
// updates left from the ridge solve add up to the score; under rating and
// bpr the similarity of the items' vectors), and RecommendForHistory, an
// anonymous visitor's recommendations; and the rules (RankRules: boosts,
// caps per category, diversity) and category filters.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <cmath>
#include <map>
#include <set>

#include "engine/core/random.h"
#include "engine/eval/evaluation.h"
#include "engine/live/recommender.h"
#include "engine/train/train.h"

namespace streamrec::engine {
namespace {

constexpr uint32_t kTastes = 3, kUsers = 60, kItems = 300;

// User u clicks items of taste u % 3 (item i has taste i % 3), in a fixed
// pseudo-random order; then (implicit) an iALS retrain is installed, as the
// server does, so that the vectors carry the tastes.
std::unique_ptr<Recommender> Trained(Objective objective) {
  RecommenderOptions o;
  o.objective = objective;
  o.model.rank = 8;
  auto rec = std::make_unique<Recommender>(o, EventTypes::Defaults());
  const EventTypeId click = *rec->types().Find("click");
  SplitMix64 rng(7);
  EvalSplit split;
  for (int e = 0; e < 4000; ++e) {
    const uint32_t u = static_cast<uint32_t>(rng.Uniform(kUsers));
    const uint32_t i = static_cast<uint32_t>(rng.Uniform(kItems / kTastes)) * kTastes + u % kTastes;
    const std::string user = fmt::format("u{}", u), item = fmt::format("i{}", i);
    const Status st = rec->Apply(Event{user, item, click, 0.0f, 1'700'000'000'000 + e});
    EXPECT_TRUE(st.ok()) << st.ToString();
    split.train.push_back({*rec->users().Find(user), *rec->items().Find(item),
                           ImplicitTarget(rec->types(), click, 0.0f, rec->options().signal),
                           rec->types().spec(click).weight});
  }
  if (objective == Objective::kImplicit) {
    split.num_users = rec->users().size();
    split.num_items = rec->items().size();
    EvalOptions eo;
    eo.algorithm = Algorithm::kIals;
    eo.model = o.model;
    eo.ials.iterations = 6;
    StatusOr<MFModel> trained = TrainModel(split, eo, nullptr);
    EXPECT_TRUE(trained.ok()) << trained.status().ToString();
    EXPECT_TRUE(rec->InstallModel(std::move(trained).value()).ok());
  }
  return rec;
}

TEST(ExplainTest, ImplicitTermsAddUpToTheScore) {
  auto rec = Trained(Objective::kImplicit);
  RecommendRequest req;
  req.n = 5;
  for (uint32_t u = 0; u < kUsers; u += 7) {
    const std::string user = fmt::format("u{}", u);
    const Recommendations recs = rec->RecommendForUser(user, req);
    ASSERT_EQ(recs.source, RecommendationSource::kModel);
    // Every history item, so the terms can be added up.
    const Explanation all = rec->Explain(user, recs, 1000);
    EXPECT_EQ(all.method, ExplanationMethod::kExact);
    ASSERT_EQ(all.items.size(), recs.items.size());
    const std::set<uint32_t> seen(rec->Seen(*rec->users().Find(user)).begin(),
                                  rec->Seen(*rec->users().Find(user)).end());
    for (size_t k = 0; k < recs.items.size(); ++k) {
      const ItemExplanation& e = all.items[k];
      EXPECT_EQ(e.item, recs.items[k].item);
      EXPECT_EQ(e.score, recs.items[k].score);
      ASSERT_EQ(e.because.size(), seen.size());
      double sum = e.unexplained, shares = 0.0;
      for (const Contribution& c : e.because) {
        EXPECT_TRUE(seen.contains(*rec->items().Find(c.item))) << c.item;
        sum += c.value;
        shares += std::abs(c.share);
      }
      EXPECT_NEAR(sum, e.score, 1e-4 * std::max(1.0f, std::abs(e.score))) << user << " " << e.item;
      EXPECT_NEAR(shares, 1.0, 1e-4);
      // After a retrain the user's vector is close to the ridge solve:
      // nearly all of the score is the history's.
      EXPECT_LT(std::abs(e.unexplained), 0.05 * std::abs(e.score)) << user << " " << e.item;
      // Largest first, and the largest is of the user's taste (as the
      // recommended item is).
      for (size_t j = 1; j < e.because.size(); ++j) {
        EXPECT_GE(e.because[j - 1].value, e.because[j].value);
      }
      const uint32_t taste = u % kTastes;
      EXPECT_EQ(std::stoul(e.item.substr(1)) % kTastes, taste) << e.item;
      EXPECT_EQ(std::stoul(e.because[0].item.substr(1)) % kTastes, taste) << e.because[0].item;
    }
    // `top` cuts the list, shares stay shares of the whole history.
    const Explanation top = rec->Explain(user, recs, 2);
    for (size_t k = 0; k < top.items.size(); ++k) {
      ASSERT_EQ(top.items[k].because.size(), 2u);
      EXPECT_EQ(top.items[k].because[0].item, all.items[k].because[0].item);
      EXPECT_EQ(top.items[k].because[0].share, all.items[k].because[0].share);
    }
  }
}

TEST(ExplainTest, RatingAndBprUseTheItemsSimilarity) {
  for (Objective objective : {Objective::kRating, Objective::kBpr}) {
    auto rec = Trained(objective);
    RecommendRequest req;
    req.n = 4;
    const Recommendations recs = rec->RecommendForUser("u4", req);
    ASSERT_EQ(recs.source, RecommendationSource::kModel);
    const Explanation ex = rec->Explain("u4", recs, 3);
    EXPECT_EQ(ex.method, ExplanationMethod::kSimilarity) << ObjectiveName(objective);
    for (const ItemExplanation& e : ex.items) {
      ASSERT_EQ(e.because.size(), 3u);
      for (const Contribution& c : e.because) {
        EXPECT_LE(std::abs(c.value), 1.0f + 1e-5f);  // a cosine
        EXPECT_LE(std::abs(c.share), 1.0f);
      }
      EXPECT_GE(e.because[0].value, e.because[2].value);
    }
  }
}

TEST(ExplainTest, PopularAnswersAndUnknownUsersHaveNoHistoryBehindThem) {
  auto rec = Trained(Objective::kImplicit);
  RecommendRequest req;
  const Recommendations recs = rec->RecommendForUser("stranger", req);
  EXPECT_EQ(recs.source, RecommendationSource::kPopular);
  const Explanation ex = rec->Explain("stranger", recs, 3);
  EXPECT_EQ(ex.method, ExplanationMethod::kPopular);
  ASSERT_EQ(ex.items.size(), recs.items.size());
  for (const ItemExplanation& e : ex.items) EXPECT_TRUE(e.because.empty());
  EXPECT_EQ(ExplanationMethodName(ExplanationMethod::kExact), "exact");
  EXPECT_EQ(ExplanationMethodName(ExplanationMethod::kSimilarity), "similarity");
  EXPECT_EQ(ExplanationMethodName(ExplanationMethod::kPopular), "popular");
}

// The history of `user` as a session would send it.
std::vector<HistoryEvent> HistoryOf(const Recommender& rec, const std::string& user) {
  std::vector<HistoryEvent> h;
  const EventTypeId click = *rec.types().Find("click");
  for (uint32_t i : rec.Seen(*rec.users().Find(user))) {
    h.push_back({std::string(rec.items().Name(i)), click, 0.0f});
  }
  return h;
}

TEST(SessionTest, AVisitorWithAUsersHistoryGetsThatUsersRecommendations) {
  auto rec = Trained(Objective::kImplicit);
  RecommendRequest req;
  req.n = 5;
  for (uint32_t u = 1; u < kUsers; u += 11) {
    const std::string user = fmt::format("u{}", u);
    std::vector<HistoryEvent> history = HistoryOf(*rec, user);
    history.push_back({"never-seen", 0, 0.0f});
    history.push_back({"never-seen", 0, 0.0f});
    SessionInfo info;
    StatusOr<Recommendations> got = rec->RecommendForHistory(history, req, &info);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->source, RecommendationSource::kModel);
    EXPECT_EQ(info.used, history.size() - 2);
    EXPECT_EQ(info.unknown, std::vector<std::string>{"never-seen"});
    // The exact row solve is what a retrain gave the user (their events
    // were clicks too, one per event: the strengths differ, the taste not).
    const Recommendations mine = rec->RecommendForUser(user, req);
    std::set<std::string> theirs;
    for (const NamedScore& s : mine.items) theirs.insert(s.item);
    size_t common = 0;
    for (const NamedScore& s : got->items) {
      common += theirs.contains(s.item);
      EXPECT_EQ(std::stoul(s.item.substr(1)) % kTastes, u % kTastes) << s.item;
      for (const HistoryEvent& h : history) EXPECT_NE(s.item, h.item);  // not what they have
    }
    EXPECT_GE(common, 3u) << user;
  }
}

TEST(SessionTest, EveryObjectiveFoldsInTheSessionsTaste) {
  for (Objective objective : {Objective::kImplicit, Objective::kRating, Objective::kBpr}) {
    auto rec = Trained(objective);
    RecommendRequest req;
    req.n = 5;
    const EventTypeId purchase = *rec->types().Find("purchase");
    const EventTypeId rating = *rec->types().Find("rating");
    // Items of taste 2 bought and rated well.
    const std::vector<HistoryEvent> history = {{"i2", purchase, 0.0f},
                                               {"i5", purchase, 0.0f},
                                               {"i8", rating, 5.0f},
                                               {"i11", rating, 4.5f}};
    SessionInfo info;
    StatusOr<Recommendations> got = rec->RecommendForHistory(history, req, &info);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->source, RecommendationSource::kModel) << ObjectiveName(objective);
    size_t in_taste = 0;
    for (const NamedScore& s : got->items) in_taste += std::stoul(s.item.substr(1)) % kTastes == 2;
    if (objective == Objective::kRating) {
      // Clicks all imply one rating: the rating model has no taste to
      // learn here. Its scores are ratings (μ + b_u + b_i + p·q).
      for (const NamedScore& s : got->items) EXPECT_GT(s.score, 3.0f) << s.item;
    } else {
      EXPECT_GE(in_taste, 4u) << ObjectiveName(objective);
    }
    // A filter and an exclusion apply as for users.
    req.exclude = {got->items[0].item};
    StatusOr<Recommendations> again = rec->RecommendForHistory(history, req, &info);
    ASSERT_TRUE(again.ok());
    for (const NamedScore& s : again->items) EXPECT_NE(s.item, got->items[0].item);
  }
}

TEST(SessionTest, NothingKnownIsPopularAndBadEventsAreRefused) {
  auto rec = Trained(Objective::kImplicit);
  RecommendRequest req;
  SessionInfo info;
  StatusOr<Recommendations> empty = rec->RecommendForHistory({}, req, &info);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->source, RecommendationSource::kPopular);
  EXPECT_EQ(empty->items.size(), 10u);
  const std::vector<HistoryEvent> bad = {{"i1", 0, 0.0f}, {"i2", 200, 0.0f}};
  StatusOr<Recommendations> refused = rec->RecommendForHistory(bad, req, &info);
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("history[1]"), std::string::npos)
      << refused.status().ToString();
}

// Item i carries category "t<i % 3>" (its taste).
std::unique_ptr<Recommender> Categorised() {
  auto rec = Trained(Objective::kImplicit);
  for (uint32_t i = 0; i < kItems; ++i) {
    EXPECT_TRUE(
        rec->SetItemMeta(fmt::format("i{}", i), ItemMeta{{fmt::format("t{}", i % kTastes)}, false})
            .ok());
  }
  return rec;
}

std::string TasteOf(const std::string& item) {
  return fmt::format("t{}", std::stoul(item.substr(1)) % kTastes);
}

TEST(RulesTest, CategoryFiltersApplyBeforeTheCut) {
  auto rec = Categorised();
  RecommendRequest req;
  req.n = 8;
  req.categories = {"t1", "t2"};  // not the user's own taste (u0: t0)
  const Recommendations only = rec->RecommendForUser("u0", req);
  ASSERT_EQ(only.items.size(), 8u);
  for (const NamedScore& s : only.items) EXPECT_NE(TasteOf(s.item), "t0") << s.item;
  req.categories.clear();
  req.exclude_categories = {"t0", "t2"};
  const Recommendations dropped = rec->RecommendForUser("u0", req);
  ASSERT_EQ(dropped.items.size(), 8u);
  for (const NamedScore& s : dropped.items) EXPECT_EQ(TasteOf(s.item), "t1") << s.item;
  SimilarRequest sr;
  sr.n = 5;
  sr.exclude_categories = {"t0"};
  StatusOr<std::vector<NamedScore>> similar = rec->SimilarItems("i0", sr);
  ASSERT_TRUE(similar.ok());
  ASSERT_EQ(similar->size(), 5u);
  for (const NamedScore& s : *similar) EXPECT_NE(TasteOf(s.item), "t0") << s.item;
}

TEST(RulesTest, BoostsRescoreTheCandidatesAndCapsHoldWithNItems) {
  auto rec = Categorised();
  RecommendRequest plain;
  plain.n = 60;  // the pool an answer of 10 re-ranks
  const Recommendations base = rec->RecommendForUser("u3", plain);
  RecommendRequest req;
  req.n = 10;
  req.rules.boosts = {{"t1", 3.0f}, {"t0", 0.5f}};
  const Recommendations boosted = rec->RecommendForUser("u3", req);
  // The same as boosting the plain pool by hand and cutting to 10.
  std::vector<NamedScore> want = base.items;
  for (NamedScore& s : want) {
    const float f = TasteOf(s.item) == "t1" ? 3.0f : TasteOf(s.item) == "t0" ? 0.5f : 1.0f;
    s.score = s.score >= 0 ? s.score * f : s.score / f;
  }
  std::stable_sort(want.begin(), want.end(),
                   [](const NamedScore& a, const NamedScore& b) { return a.score > b.score; });
  want.resize(10);
  ASSERT_EQ(boosted.items.size(), 10u);
  for (size_t k = 0; k < 10; ++k) {
    EXPECT_EQ(boosted.items[k].item, want[k].item);
    EXPECT_FLOAT_EQ(boosted.items[k].score, want[k].score);
  }
  // At most two per category: u3's own taste fills two places, and the
  // pool grows until the other tastes fill the rest.
  RecommendRequest capped;
  capped.n = 6;
  capped.rules.max_per_category = 2;
  const Recommendations c = rec->RecommendForUser("u3", capped);
  ASSERT_EQ(c.items.size(), 6u);
  std::map<std::string, int> per;
  for (const NamedScore& s : c.items) ++per[TasteOf(s.item)];
  EXPECT_EQ(per, (std::map<std::string, int>{{"t0", 2}, {"t1", 2}, {"t2", 2}}));
  // One per category: the catalog allows three.
  capped.rules.max_per_category = 1;
  capped.n = 5;
  EXPECT_EQ(rec->RecommendForUser("u3", capped).items.size(), 3u);
  // On similar items and anonymous sessions too.
  SimilarRequest sr;
  sr.n = 4;
  sr.rules.max_per_category = 2;
  StatusOr<std::vector<NamedScore>> similar = rec->SimilarItems("i0", sr);
  ASSERT_TRUE(similar.ok());
  ASSERT_EQ(similar->size(), 4u);
  per.clear();
  for (const NamedScore& s : *similar) ++per[TasteOf(s.item)];
  for (const auto& [taste, count] : per) EXPECT_LE(count, 2) << taste;
  SessionInfo info;
  StatusOr<Recommendations> session = rec->RecommendForHistory(
      std::vector<HistoryEvent>{{"i0", 1, 0.0f}, {"i3", 1, 0.0f}}, capped, &info);
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->items.size(), 3u);
}

TEST(RulesTest, DiversitySpreadsTheAnswerAndZeroKeepsTheOrder) {
  auto rec = Categorised();
  auto mean_cosine = [&](const std::vector<NamedScore>& items) {
    double sum = 0.0;
    int pairs = 0;
    for (size_t a = 0; a < items.size(); ++a) {
      for (size_t b = a + 1; b < items.size(); ++b) {
        const int k = rec->model().rank();
        Eigen::Map<const Eigen::VectorXf> x(
            rec->model().item_factors(*rec->items().Find(items[a].item)), k);
        Eigen::Map<const Eigen::VectorXf> y(
            rec->model().item_factors(*rec->items().Find(items[b].item)), k);
        sum += x.dot(y) / (x.norm() * y.norm());
        ++pairs;
      }
    }
    return sum / pairs;
  };
  RecommendRequest plain;
  plain.n = 8;
  const Recommendations base = rec->RecommendForUser("u6", plain);
  RecommendRequest zero = plain;
  zero.rules.max_per_category = 100;  // active, but changes nothing here
  const Recommendations same = rec->RecommendForUser("u6", zero);
  ASSERT_EQ(same.items.size(), base.items.size());
  for (size_t k = 0; k < base.items.size(); ++k) EXPECT_EQ(same.items[k].item, base.items[k].item);
  RecommendRequest diverse = plain;
  diverse.rules.diversity = 0.7f;
  const Recommendations spread = rec->RecommendForUser("u6", diverse);
  ASSERT_EQ(spread.items.size(), 8u);
  EXPECT_EQ(spread.items[0].item, base.items[0].item);  // the most relevant first
  EXPECT_LT(mean_cosine(spread.items), mean_cosine(base.items) - 0.05);
  std::set<std::string> tastes;
  for (const NamedScore& s : spread.items) tastes.insert(TasteOf(s.item));
  EXPECT_GE(tastes.size(), 2u);
}

TEST(RowsTest, APageOfNamedRowsWithNoItemTwice) {
  auto rec = Categorised();
  RowsRequest req;
  req.rows = 6;
  req.n = 5;
  req.because = 2;
  req.recent = {"i0", "unknown-item", "i0", "i3", "i6"};
  const std::vector<Row> rows = rec->Rows("u0", req);
  ASSERT_EQ(rows.size(), 6u);
  const std::vector<std::pair<RowKind, std::string>> want = {
      {RowKind::kTopPicks, ""},  {RowKind::kBecause, "i0"},  {RowKind::kBecause, "i3"},
      {RowKind::kTrending, ""},  {RowKind::kCategory, "t0"},  // the top picks' category first
      {RowKind::kCategory, "t1"}};
  std::set<std::string> all;
  const std::set<uint32_t> seen(rec->Seen(*rec->users().Find("u0")).begin(),
                                rec->Seen(*rec->users().Find("u0")).end());
  for (size_t r = 0; r < rows.size(); ++r) {
    EXPECT_EQ(rows[r].kind, want[r].first) << r;
    EXPECT_EQ(rows[r].key, want[r].second) << r;
    EXPECT_EQ(rows[r].items.size(), 5u) << rows[r].title;
    for (const NamedScore& s : rows[r].items) {
      EXPECT_TRUE(all.insert(s.item).second) << s.item << " twice";
      EXPECT_FALSE(seen.contains(*rec->items().Find(s.item)))
          << s.item << " seen, in " << rows[r].title;
      if (rows[r].kind == RowKind::kCategory) {
        EXPECT_EQ(TasteOf(s.item), rows[r].key);
      }
    }
  }
  EXPECT_EQ(rows[1].title, "Because you watched i0");
  // The top picks are the plain recommendations.
  RecommendRequest plain;
  plain.n = 5;
  const Recommendations picks = rec->RecommendForUser("u0", plain);
  for (size_t k = 0; k < 5; ++k) EXPECT_EQ(rows[0].items[k].item, picks.items[k].item);
  // Fewer rows, filters and rules for every row.
  req.rows = 3;
  req.exclude_categories = {"t2"};
  req.rules.max_per_category = 4;
  for (const Row& row : rec->Rows("u0", req)) {
    EXPECT_LE(row.items.size(), 5u);
    for (const NamedScore& s : row.items) EXPECT_NE(TasteOf(s.item), "t2") << row.title;
  }
  EXPECT_EQ(rec->Rows("u0", req).size(), 3u);
  // A cold user: popular picks, no history rows, trending without repeats.
  RowsRequest cold;
  cold.n = 4;
  const std::vector<Row> c = rec->Rows("stranger", cold);
  ASSERT_GE(c.size(), 2u);
  EXPECT_EQ(c[0].kind, RowKind::kTopPicks);
  EXPECT_EQ(c[1].kind, RowKind::kTrending);
  for (const NamedScore& s : c[1].items) {
    for (const NamedScore& t : c[0].items) EXPECT_NE(s.item, t.item);
  }
  EXPECT_EQ(RowKindName(RowKind::kBecause), "because");
}

TEST(ExplorationTest, TheNewestItemsTakeTheLastPlaces) {
  RecommenderOptions o;
  o.objective = Objective::kImplicit;
  o.model.rank = 8;
  o.exploration.share = 0.2f;
  o.exploration.newest_items = 10;
  RecommenderOptions off = o;
  off.exploration.share = 0.0f;
  Recommender rec(o, EventTypes::Defaults()), plain(off, EventTypes::Defaults());
  const EventTypeId click = *rec.types().Find("click");
  SplitMix64 rng(3);
  auto both = [&](const std::string& user, const std::string& item, int64_t t) {
    ASSERT_TRUE(rec.Apply(Event{user, item, click, 0.0f, t}).ok());
    ASSERT_TRUE(plain.Apply(Event{user, item, click, 0.0f, t}).ok());
  };
  for (int e = 0; e < 3000; ++e) {
    both(fmt::format("u{}", rng.Uniform(40)), fmt::format("i{}", rng.Uniform(100)), e);
  }
  for (int j = 0; j < 10; ++j) both("z", fmt::format("n{}", j), 3000 + j);  // new items, one click
  RecommendRequest req;
  req.n = 10;
  const Recommendations with = rec.RecommendForUser("u1", req);
  const Recommendations without = plain.RecommendForUser("u1", req);
  ASSERT_EQ(with.items.size(), 10u);
  for (const NamedScore& s : without.items) EXPECT_NE(s.item[0], 'n') << s.item;
  // Two places (0.2 of 10), the last ones; the first eight are the plain list's.
  for (size_t k = 0; k < 8; ++k) EXPECT_EQ(with.items[k].item, without.items[k].item);
  EXPECT_EQ(with.items[8].item[0], 'n');
  EXPECT_EQ(with.items[9].item[0], 'n');
  // A cold user: the newest first.
  const Recommendations cold = rec.RecommendForUser("stranger", req);
  ASSERT_EQ(cold.items.size(), 10u);
  EXPECT_EQ(cold.items[8].item, "n9");
  EXPECT_EQ(cold.items[9].item, "n8");
  // Lists with rules are left alone; one place at least for a short list.
  RecommendRequest ruled = req;
  ruled.rules.max_per_category = 10;
  for (const NamedScore& s : rec.RecommendForUser("u1", ruled).items) EXPECT_NE(s.item[0], 'n');
  RecommendRequest three;
  three.n = 3;
  EXPECT_EQ(rec.RecommendForUser("u1", three).items.back().item[0], 'n');
  // Options are checked.
  RecommenderOptions bad = o;
  bad.exploration.share = 0.7f;
  EXPECT_EQ(Recommender::ValidateOptions(bad).code(), StatusCode::kInvalidArgument);
}

TEST(ExplorationTest, DescribedItemsWithoutEventsAndRecentlyCreatedOnesAreShown) {
  RecommenderOptions o;
  o.objective = Objective::kImplicit;
  o.model.rank = 8;
  o.exploration.share = 0.2f;  // two places of ten
  o.exploration.newest_items = 50;
  o.exploration.new_days = 7;
  Recommender rec(o, EventTypes::Defaults());
  const EventTypeId click = *rec.types().Find("click");
  const int64_t day = 86'400'000;
  const int64_t now = 1'700'000'000'000;
  SplitMix64 rng(5);
  // 100 old items (the catalog says they were created long ago, so
  // appearing last in the stream does not make them new).
  for (int i = 0; i < 100; ++i) {
    ItemMeta old;
    old.created_ms = now - 400 * day;
    ASSERT_TRUE(rec.SetItemMeta(fmt::format("i{}", i), old).ok());
  }
  for (int e = 0; e < 3000; ++e) {
    ASSERT_TRUE(rec.Apply(Event{fmt::format("u{}", rng.Uniform(40)),
                                fmt::format("i{}", rng.Uniform(100)), click, 0.0f, now - day})
                    .ok());
  }
  // Three products described, no event yet; one more hidden, one in c2.
  for (int j = 0; j < 3; ++j) {
    ItemMeta m;
    m.created_ms = now - j * day;
    m.categories = {"c1"};
    ASSERT_TRUE(rec.SetItemMeta(fmt::format("new{}", j), m).ok());
  }
  ItemMeta hidden;
  hidden.hidden = true;
  ASSERT_TRUE(rec.SetItemMeta("hidden-new", hidden).ok());
  ItemMeta other;
  other.categories = {"c2"};
  ASSERT_TRUE(rec.SetItemMeta("new-c2", other).ok());
  RecommendRequest req;
  req.n = 10;
  req.now_ms = now;
  auto unseen_shown = [&](const Recommendations& r) {
    std::vector<std::string> out;
    for (const NamedScore& s : r.items) {
      if (s.item.starts_with("new") || s.item == "hidden-new") out.push_back(s.item);
    }
    return out;
  };
  // One unseen item per list (half the two places; nothing else is new
  // but... the old items are not), never the hidden one; users are spread
  // over the unseen items.
  std::set<std::string> seen_by_someone;
  for (int u = 0; u < 40; ++u) {
    const Recommendations r = rec.RecommendForUser(fmt::format("u{}", u), req);
    ASSERT_EQ(r.items.size(), 10u);
    const std::vector<std::string> shown = unseen_shown(r);
    ASSERT_EQ(shown.size(), 2u) << "no other new item: both places";
    for (const std::string& s : shown) {
      EXPECT_NE(s, "hidden-new");
      seen_by_someone.insert(s);
    }
    EXPECT_EQ(r.items[9].score, 0.0f);
  }
  EXPECT_EQ(seen_by_someone.size(), 4u);  // new0..2 and new-c2
  // Category filters hold for them; excluded ones stay out.
  RecommendRequest c1 = req;
  c1.exclude_categories = {"c2"};
  c1.exclude = {"new0"};
  for (int u = 0; u < 40; ++u) {
    for (const std::string& s : unseen_shown(rec.RecommendForUser(fmt::format("u{}", u), c1))) {
      EXPECT_TRUE(s == "new1" || s == "new2") << s;
    }
  }
  // An event names new1: it has a vector now, and its created time (a
  // day ago, within new_days) keeps it new: one place for it, one for an
  // unseen item.
  ASSERT_TRUE(rec.Apply(Event{"z", "new1", click, 0.0f, now}).ok());
  const Recommendations r = rec.RecommendForUser("u3", req);
  ASSERT_EQ(r.items.size(), 10u);
  EXPECT_EQ(r.items[8].item, "new1");
  EXPECT_NE(r.items[9].item, "new1");
  EXPECT_TRUE(r.items[9].item.starts_with("new")) << r.items[9].item;
  // A week later new1 is no longer new.
  RecommendRequest later = req;
  later.now_ms = now + 8 * day;
  for (const NamedScore& s : rec.RecommendForUser("u3", later).items) EXPECT_NE(s.item, "new1");
  // Removing metadata (or hiding) takes an unseen item out.
  ASSERT_TRUE(rec.RemoveItemMeta("new-c2"));
  ASSERT_TRUE(rec.SetItemMeta("new0", hidden).ok());
  ItemMeta m2;
  m2.created_ms = now - 2 * day;
  m2.categories = {"c1"};
  ASSERT_TRUE(rec.SetItemMeta("new2", m2).ok());  // put again: replaced, not doubled
  ASSERT_EQ(rec.catalog().unseen().size(), 1u);
  EXPECT_EQ(rec.catalog().unseen().begin()->second, "new2");
}

TEST(CatalogValidateTest, CreatedBeforeTheEpochIsRefused) {
  ItemMeta m;
  m.created_ms = -1;
  EXPECT_EQ(Catalog::Validate(m).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace streamrec::engine
