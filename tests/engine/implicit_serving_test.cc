// The Recommender under the ranking objectives: what the live server runs
// when [model] objective = implicit (the default) or bpr. Learning,
// serving, retrain install, forgetting and snapshots.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/eval/evaluation.h"
#include "engine/live/recommender.h"
#include "engine/live/snapshot.h"
#include "tests/engine/snapshot_bytes.h"

namespace streamrec::engine {
namespace {

using snapshot_bytes::Header;
using snapshot_bytes::Reseal;
using snapshot_bytes::WithoutConfigTail;
using snapshot_bytes::WithoutFullScaleCounts;

constexpr size_t kGroups = 4, kUsersPerGroup = 40, kItemsPerGroup = 100;
constexpr int64_t kStartMs = 1'700'000'000'000;

RecommenderOptions Implicit() {
  RecommenderOptions o;
  o.objective = Objective::kImplicit;
  o.model.rank = 8;
  return o;
}

// Planted structure: user u of group g only touches items of group g, with
// all the implicit types (view, click, cart, purchase) and some ratings;
// items of group 0 are also the most popular overall (group 0 has twice the
// events), so popularity recommends group-0 items to everyone.
struct Stream {
  std::vector<std::string> users, items;
  std::vector<Event> events;
};

Stream Planted(size_t n, uint64_t seed) {
  Stream s;
  for (size_t u = 0; u < kGroups * kUsersPerGroup; ++u) s.users.push_back(fmt::format("u{}", u));
  for (size_t i = 0; i < kGroups * kItemsPerGroup; ++i) s.items.push_back(fmt::format("i{}", i));
  SplitMix64 rng(seed);
  for (size_t e = 0; e < n; ++e) {
    const size_t g = rng.Uniform(5) % kGroups;  // group 0 gets 2 of 5 draws
    const size_t u = g * kUsersPerGroup + rng.Uniform(kUsersPerGroup);
    const size_t i = g * kItemsPerGroup + rng.Uniform(kItemsPerGroup);
    const auto type = static_cast<EventTypeId>(rng.Uniform(5));  // view..rating
    const float value = type == 4 ? static_cast<float>(1 + rng.Uniform(5)) : 0.0f;
    s.events.push_back({s.users[u], s.items[i], type, value, kStartMs + static_cast<int64_t>(e)});
  }
  return s;
}

void ApplyAll(Recommender* rec, const std::vector<Event>& events, size_t from = 0,
              size_t to = SIZE_MAX) {
  for (size_t e = from; e < std::min(to, events.size()); ++e) {
    ASSERT_TRUE(rec->Apply(events[e]).ok());
  }
}

size_t GroupOfItem(const std::string& item) {
  return static_cast<size_t>(std::stoul(item.substr(1))) / kItemsPerGroup;
}

// Share of top-10 items from the user's own group, over model answers.
double InGroupShare(const Recommender& rec, const Stream& s, size_t* model_answers) {
  size_t in = 0, all = 0;
  *model_answers = 0;
  RecommendRequest req;
  req.n = 10;
  for (size_t u = 0; u < s.users.size(); ++u) {
    const Recommendations r = rec.RecommendForUser(s.users[u], req);
    if (r.source != RecommendationSource::kModel) continue;
    ++*model_answers;
    for (const NamedScore& x : r.items) {
      in += GroupOfItem(x.item) == u / kUsersPerGroup;
      ++all;
    }
  }
  return all == 0 ? 0.0 : static_cast<double>(in) / static_cast<double>(all);
}

TEST(ImplicitServingTest, LearnsPlantedStructureOnlineAndBeatsPopularity) {
  const Stream s = Planted(12000, 1);
  Recommender rec(Implicit(), EventTypes::Defaults());
  ApplyAll(&rec, s.events);
  size_t answers = 0;
  const double share = InGroupShare(rec, s, &answers);
  EXPECT_GT(answers, s.users.size() * 9 / 10);
  // Popularity would give group-0 items to every user: ~1/4 in group.
  EXPECT_GT(share, 0.9) << share;
  // Popular items are what popularity says they are (group 0).
  for (const NamedScore& x : rec.Popular(10)) EXPECT_EQ(GroupOfItem(x.item), 0u) << x.item;
  // No biases and no rating offset: the score is p·q.
  EXPECT_EQ(rec.model().global_mean(), 0.0f);
  for (uint32_t i = 0; i < rec.model().num_items(); ++i) EXPECT_EQ(rec.model().item_bias(i), 0.0f);
  const uint32_t u = *rec.users().Find("u5");
  RecommendRequest req;
  const Recommendations r = rec.RecommendForUser("u5", req);
  ASSERT_FALSE(r.items.empty());
  const uint32_t i = *rec.items().Find(r.items[0].item);
  float dot = 0;
  for (int f = 0; f < rec.model().rank(); ++f) {
    dot += rec.model().user_factors(u)[f] * rec.model().item_factors(i)[f];
  }
  EXPECT_NEAR(r.items[0].score, dot, 1e-5f);
  // The rating learner is idle under this objective.
  EXPECT_EQ(rec.learner().mean_count(), 0u);
}

TEST(ImplicitServingTest, EachEventAddsItsStrengthAndMovesTheUser) {
  Recommender rec(Implicit(), EventTypes::Defaults());
  const EventTypes& types = rec.types();
  ASSERT_TRUE(rec.Apply({"a", "x", *types.Find("view"), 0.0f, kStartMs}).ok());
  const uint32_t a = *rec.users().Find("a");
  const std::vector<float> before(rec.model().user_factors(a),
                                  rec.model().user_factors(a) + rec.model().rank());
  ASSERT_TRUE(rec.Apply({"a", "x", *types.Find("purchase"), 0.0f, kStartMs + 1}).ok());
  const std::span<const ImplicitOnlineUpdater::UserCell> cells = rec.implicit()->UserCells(a);
  ASSERT_EQ(cells.size(), 1u);
  // The default signal scales by the rating (implied for implicit types).
  const ImplicitSignalOptions& sig = rec.options().signal;
  const float want = EventStrength(types, *types.Find("view"), 0.0f, sig) +
                     EventStrength(types, *types.Find("purchase"), 0.0f, sig);
  EXPECT_FLOAT_EQ(rec.implicit()->StrengthOf(cells[0]), want);
  EXPECT_NE(std::vector<float>(rec.model().user_factors(a),
                               rec.model().user_factors(a) + rec.model().rank()),
            before);
  // Rows exist for every id, so snapshots and installs line up.
  EXPECT_EQ(rec.model().num_users(), rec.users().size());
  EXPECT_EQ(rec.model().num_items(), rec.items().size());
}

TEST(ImplicitServingTest, ForgetUserDropsTheirHistoryAndVector) {
  const Stream s = Planted(3000, 2);
  Recommender rec(Implicit(), EventTypes::Defaults());
  ApplyAll(&rec, s.events);
  const uint32_t u = *rec.users().Find("u3");
  ASSERT_FALSE(rec.implicit()->UserCells(u).empty());
  ASSERT_TRUE(rec.ForgetUser("u3"));
  EXPECT_TRUE(rec.implicit()->UserCells(u).empty());
  for (uint32_t i = 0; i < rec.items().size(); ++i) {
    for (const auto& c : rec.implicit()->ItemCells(i)) EXPECT_NE(c.id, u);
  }
  for (int f = 0; f < rec.model().rank(); ++f) EXPECT_EQ(rec.model().user_factors(u)[f], 0.0f);
  // The user's Gramian lost exactly their row: it equals a fresh sum.
  const RowMatrixXf p = rec.model().UserRows();
  const Eigen::MatrixXf g = p.transpose() * p;
  EXPECT_LT((g - rec.implicit()->user_gramian()).norm(), 1e-3f * g.norm());
  // Coming back is a new user who starts cold.
  ASSERT_TRUE(rec.Apply({"u3", "i0", 0, 0.0f, kStartMs}).ok());
  EXPECT_EQ(rec.RecommendForUser("u3", {}).source, RecommendationSource::kPopular);
}

TEST(ImplicitServingTest, InstallsAnIalsModelAndStepsTheEventsSince) {
  const Stream s = Planted(8000, 3);
  Recommender rec(Implicit(), EventTypes::Defaults());
  ApplyAll(&rec, s.events, 0, 6000);
  // Train iALS on what the recommender has, in its row order.
  EvalSplit split;
  split.num_users = rec.users().size();
  split.num_items = rec.items().size();
  for (size_t e = 0; e < 6000; ++e) {
    const Event& x = s.events[e];
    split.train.push_back({*rec.users().Find(x.user), *rec.items().Find(x.item),
                           ImplicitTarget(rec.types(), x.type, x.value, rec.options().signal),
                           rec.types().spec(x.type).weight});
  }
  EvalOptions eo;
  eo.algorithm = Algorithm::kIals;
  eo.model = rec.options().model;
  eo.ials.iterations = 4;
  StatusOr<MFModel> trained = TrainModel(split, eo, nullptr);
  ASSERT_TRUE(trained.ok()) << trained.status().ToString();
  // Meanwhile: more events, and a user forgotten.
  ApplyAll(&rec, s.events, 6000, 8000);
  ASSERT_TRUE(rec.ForgetUser("u7"));
  const std::vector<Event> since(s.events.begin() + 6000, s.events.end());
  const MFModel copy = trained->Clone();
  ASSERT_TRUE(rec.InstallModel(std::move(trained).value(), since).ok());
  // The forgotten user stays zero (their index has no name now).
  for (uint32_t u = 0; u < rec.users().size(); ++u) {
    if (!rec.users().Name(u).empty()) continue;
    for (int f = 0; f < rec.model().rank(); ++f) EXPECT_EQ(rec.model().user_factors(u)[f], 0.0f);
  }
  // The events since moved trained rows.
  size_t moved = 0;
  for (uint32_t u = 0; u < copy.num_users(); ++u) {
    moved += std::memcmp(copy.user_factors(u), rec.model().user_factors(u),
                         sizeof(float) * copy.rank()) != 0;
  }
  EXPECT_GT(moved, copy.num_users() / 2);
  // The Gramians follow the installed rows (resynced, then patched).
  const RowMatrixXf q = Eigen::Map<const RowMatrixXf>(rec.model().ItemRows().data(),
                                                      rec.model().num_items(), rec.model().rank());
  const Eigen::MatrixXf g = q.transpose() * q;
  EXPECT_LT((g - rec.implicit()->item_gramian()).norm(), 1e-3f * g.norm());
  size_t answers = 0;
  EXPECT_GT(InGroupShare(rec, s, &answers), 0.9);
}

TEST(ImplicitServingTest, SnapshotRoundTripContinuesBitIdentically) {
  const Stream s = Planted(6000, 4);
  Recommender a(Implicit(), EventTypes::Defaults());
  ApplyAll(&a, s.events, 0, 4000);
  ASSERT_TRUE(a.ForgetUser("u11"));  // swapped item histories must survive too
  const std::string bytes = EncodeSnapshot(a);
  Recommender b(Implicit(), EventTypes::Defaults());
  ASSERT_TRUE(DecodeSnapshot(bytes, &b).ok());
  EXPECT_EQ(EncodeSnapshot(b), bytes);  // canonical
  ApplyAll(&a, s.events, 4000);
  ApplyAll(&b, s.events, 4000);
  EXPECT_EQ(EncodeSnapshot(a), EncodeSnapshot(b));
  RecommendRequest req;
  for (const std::string& u : s.users) {
    const auto ra = a.RecommendForUser(u, req), rb = b.RecommendForUser(u, req);
    ASSERT_EQ(ra.items.size(), rb.items.size());
    for (size_t n = 0; n < ra.items.size(); ++n) {
      ASSERT_EQ(ra.items[n].item, rb.items[n].item);
      ASSERT_EQ(std::bit_cast<uint32_t>(ra.items[n].score),
                std::bit_cast<uint32_t>(rb.items[n].score));
    }
  }
}

TEST(ImplicitServingTest, SnapshotOfTheOtherObjectiveIsRefused) {
  const Stream s = Planted(500, 5);
  Recommender imp(Implicit(), EventTypes::Defaults());
  ApplyAll(&imp, s.events);
  RecommenderOptions ro = Implicit();
  ro.objective = Objective::kRating;
  Recommender rat(ro, EventTypes::Defaults());
  ApplyAll(&rat, s.events);
  Recommender into_rating(ro, EventTypes::Defaults());
  Status st = DecodeSnapshot(EncodeSnapshot(imp), &into_rating);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("objective implicit (configured rating)"), std::string::npos)
      << st.message();
  Recommender into_implicit(Implicit(), EventTypes::Defaults());
  st = DecodeSnapshot(EncodeSnapshot(rat), &into_implicit);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_EQ(into_implicit.users().size(), 0u);  // untouched
}

TEST(ImplicitServingTest, BrokenImplicitSectionIsCorruption) {
  const Stream s = Planted(800, 6);
  Recommender rec(Implicit(), EventTypes::Defaults());
  ApplyAll(&rec, s.events);
  const std::string good = EncodeSnapshot(rec);
  const size_t at = Header(good, 9) + 12;  // the implicit payload
  const size_t k = 8;
  // users_tracked beyond the model's rows.
  std::string bad = good;
  const uint32_t huge = 1u << 30;
  std::memcpy(bad.data() + at, &huge, 4);
  Recommender target(Implicit(), EventTypes::Defaults());
  Status st = DecodeSnapshot(Reseal(bad), &target);
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  // The first user's first cell names another item: its item histories no
  // longer list every cell once.
  bad = good;
  const size_t first_cell = at + 4 + 4 + 8 + 2 * k * k * 4 + 4 + 4;
  uint32_t item;
  std::memcpy(&item, bad.data() + first_cell, 4);
  item = (item + 1) % static_cast<uint32_t>(rec.items().size());
  std::memcpy(bad.data() + first_cell, &item, 4);
  st = DecodeSnapshot(Reseal(bad), &target);
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("implicit"), std::string::npos) << st.message();
  // A strength that is not > 0.
  bad = good;
  const float zero = 0.0f;
  std::memcpy(bad.data() + first_cell + 4, &zero, 4);
  st = DecodeSnapshot(Reseal(bad), &target);
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_EQ(target.users().size(), 0u);  // untouched by every refusal
  ASSERT_TRUE(DecodeSnapshot(good, &target).ok());
}

// A version-1 snapshot (written before objectives existed) of a rating
// model still loads: version 2 minus the objective byte and the implicit
// section.
TEST(ImplicitServingTest, VersionOneRatingSnapshotStillDecodes) {
  const Stream s = Planted(1500, 7);
  RecommenderOptions ro = Implicit();
  ro.objective = Objective::kRating;
  Recommender a(ro, EventTypes::Defaults());
  ApplyAll(&a, s.events);
  const std::string v2 = EncodeSnapshot(a);
  // Drop the implicit section (and leave room for the CRC), then the
  // config's init_full_scale_users and _items (version 6).
  std::string v1 = WithoutFullScaleCounts(v2.substr(0, Header(v2, 9)) + std::string(4, '\0'));
  const uint32_t one = 1;
  std::memcpy(v1.data() + 8, &one, 4);
  uint64_t len;
  std::memcpy(&len, v1.data() + Header(v1, 1) + 4, 8);
  ASSERT_EQ(len, 4u + 8u + 4u + 4u + 1u);
  v1 = WithoutConfigTail(std::move(v1), 1);  // the objective byte
  Recommender b(ro, EventTypes::Defaults());
  const Status st = DecodeSnapshot(Reseal(v1), &b);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(EncodeSnapshot(b), v2);
  // ... and never into an implicit recommender.
  Recommender c(Implicit(), EventTypes::Defaults());
  EXPECT_EQ(DecodeSnapshot(Reseal(v1), &c).code(), StatusCode::kFailedPrecondition);
}

RecommenderOptions Bpr() {
  RecommenderOptions o = Implicit();
  o.objective = Objective::kBpr;
  o.signal = BprTrainOptions{}.signal;
  return o;
}

TEST(BprServingTest, LearnsPlantedStructureOnlineAndBeatsPopularity) {
  const Stream s = Planted(12000, 1);
  Recommender rec(Bpr(), EventTypes::Defaults());
  ApplyAll(&rec, s.events);
  size_t answers = 0;
  const double share = InGroupShare(rec, s, &answers);
  EXPECT_GT(answers, s.users.size() * 9 / 10);
  EXPECT_GT(share, 0.6) << share;  // popularity: ~0.25
  EXPECT_EQ(rec.implicit(), nullptr);
  EXPECT_EQ(rec.learner().mean_count(), 0u);
  // The score is b_i + p·q.
  const uint32_t u = *rec.users().Find("u5");
  const Recommendations r = rec.RecommendForUser("u5", {});
  ASSERT_EQ(r.source, RecommendationSource::kModel);
  const uint32_t i = *rec.items().Find(r.items[0].item);
  float x = rec.model().item_bias(i);
  for (int f = 0; f < rec.model().rank(); ++f) {
    x += rec.model().user_factors(u)[f] * rec.model().item_factors(i)[f];
  }
  EXPECT_NEAR(r.items[0].score, x, 1e-5f);
}

TEST(BprServingTest, SnapshotRoundTripContinuesBitIdentically) {
  const Stream s = Planted(5000, 8);
  Recommender a(Bpr(), EventTypes::Defaults());
  ApplyAll(&a, s.events, 0, 3000);
  const std::string bytes = EncodeSnapshot(a);
  Recommender b(Bpr(), EventTypes::Defaults());
  ASSERT_TRUE(DecodeSnapshot(bytes, &b).ok());
  EXPECT_EQ(EncodeSnapshot(b), bytes);
  ApplyAll(&a, s.events, 3000);
  ApplyAll(&b, s.events, 3000);
  EXPECT_EQ(EncodeSnapshot(a), EncodeSnapshot(b));
  // Not into another objective.
  Recommender c(Implicit(), EventTypes::Defaults());
  EXPECT_EQ(DecodeSnapshot(bytes, &c).code(), StatusCode::kFailedPrecondition);
}

TEST(BprServingTest, InstallsABprModelAndStepsTheEventsSince) {
  const Stream s = Planted(6000, 9);
  Recommender rec(Bpr(), EventTypes::Defaults());
  ApplyAll(&rec, s.events, 0, 5000);
  EvalSplit split;
  split.num_users = rec.users().size();
  split.num_items = rec.items().size();
  for (size_t e = 0; e < 5000; ++e) {
    const Event& x = s.events[e];
    split.train.push_back({*rec.users().Find(x.user), *rec.items().Find(x.item),
                           ImplicitTarget(rec.types(), x.type, x.value, rec.options().signal),
                           rec.types().spec(x.type).weight});
  }
  EvalOptions eo;
  eo.algorithm = Algorithm::kBpr;
  eo.model = rec.options().model;
  eo.bpr.epochs = 20;
  StatusOr<MFModel> trained = TrainModel(split, eo, nullptr);
  ASSERT_TRUE(trained.ok()) << trained.status().ToString();
  ApplyAll(&rec, s.events, 5000);
  const MFModel copy = trained->Clone();
  const std::vector<Event> since(s.events.begin() + 5000, s.events.end());
  ASSERT_TRUE(rec.InstallModel(std::move(trained).value(), since).ok());
  size_t moved = 0;
  for (uint32_t u = 0; u < copy.num_users(); ++u) {
    moved += std::memcmp(copy.user_factors(u), rec.model().user_factors(u),
                         sizeof(float) * copy.rank()) != 0;
  }
  EXPECT_GT(moved, copy.num_users() / 2);
  size_t answers = 0;
  EXPECT_GT(InGroupShare(rec, s, &answers), 0.6);
}

TEST(ImplicitServingTest, ObjectiveNamesParse) {
  EXPECT_EQ(*ParseObjective("bpr"), Objective::kBpr);
  EXPECT_EQ(ObjectiveName(Objective::kBpr), "bpr");
  EXPECT_EQ(*ParseObjective("implicit"), Objective::kImplicit);
  EXPECT_EQ(*ParseObjective("rating"), Objective::kRating);
  EXPECT_EQ(ParseObjective("ranking").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ObjectiveName(Objective::kImplicit), "implicit");
}

}  // namespace
}  // namespace streamrec::engine
