// Forgetting a user (issue 12, item 6): after ForgetUser with the user's
// events, what the model shows others equals a replay of the events
// without that user where the contract says "exactly" (popularity, counts,
// histories, Gramians, cold-start answers), and approximates it where it
// says so (item vectors; README "Privacy").

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/live/recommender.h"

namespace streamrec::engine {
namespace {

struct Ev {
  std::string user, item, type;
  int64_t ts;
};

// Ten users over twelve items, and "gone", who bought "z" ten times (no one
// else has it) and viewed what others like. gone's events are spread
// through the stream, the newest event is someone else's.
std::vector<Ev> Stream() {
  std::vector<Ev> out;
  int64_t ts = 1'700'000'000'000;
  for (int round = 0; round < 5; ++round) {
    for (int u = 0; u < 10; ++u) {
      for (int k = 0; k < 3; ++k) {
        const int item = (u + round * 2 + k * 3) % 12;
        out.push_back({fmt::format("u{}", u), fmt::format("i{}", item),
                       k == 0 ? "purchase" : "view", ts += 60'000});
      }
      if (u == 4 || u == 7) out.push_back({"gone", "z", "purchase", ts += 60'000});
      if (u == 4) out.push_back({"gone", fmt::format("i{}", round), "view", ts += 60'000});
    }
  }
  return out;
}

RecommenderOptions Options(Objective objective) {
  RecommenderOptions o;
  o.objective = objective;
  o.model.rank = 8;
  o.cold_start_min_items = 3;
  return o;
}

void ApplyAll(Recommender* rec, const std::vector<Ev>& events, bool skip_gone) {
  for (const Ev& e : events) {
    if (skip_gone && e.user == "gone") continue;
    const Event x{e.user, e.item, *rec->types().Find(e.type), 0.0f, e.ts};
    ASSERT_TRUE(rec->Apply(x).ok());
  }
}

// Forgets "gone" with their events, as storage does after DeleteUser.
void Forget(Recommender* rec, const std::vector<Ev>& events) {
  std::vector<Event> gone;
  for (const Ev& e : events) {
    if (e.user == "gone") gone.push_back({e.user, e.item, *rec->types().Find(e.type), 0.0f, e.ts});
  }
  ASSERT_TRUE(rec->ForgetUser("gone", gone));
}

std::map<std::string, double> PopularScores(const Recommender& rec) {
  std::map<std::string, double> out;
  for (uint32_t i = 0; i < rec.items().size(); ++i) {
    const double s = rec.popularity().Score(i);
    if (s != 0.0) out[std::string(rec.items().Name(i))] = s;
  }
  return out;
}

class ForgetTest : public ::testing::TestWithParam<Objective> {};

TEST_P(ForgetTest, StateEqualsAReplayWithoutTheUser) {
  const std::vector<Ev> events = Stream();
  Recommender forgot(Options(GetParam()), EventTypes::Defaults());
  Recommender replay(Options(GetParam()), EventTypes::Defaults());
  ApplyAll(&forgot, events, /*skip_gone=*/false);
  ApplyAll(&replay, events, /*skip_gone=*/true);
  ASSERT_EQ(forgot.Popular(1).front().item, "z");  // the defect: gone's purchases lead
  Forget(&forgot, events);

  // Popularity: the same items with the same scores, up to rounding.
  const auto a = PopularScores(forgot), b = PopularScores(replay);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [item, score] : b) {
    ASSERT_TRUE(a.contains(item)) << item;
    EXPECT_NEAR(a.at(item), score, 1e-9 * score) << item;
  }
  EXPECT_FALSE(a.contains("z"));
  const auto top_a = forgot.Popular(20), top_b = replay.Popular(20);
  ASSERT_EQ(top_a.size(), top_b.size());
  for (size_t n = 0; n < top_a.size(); ++n) EXPECT_EQ(top_a[n].item, top_b[n].item) << n;
  // Cold-start answers (popular) for a new user are the replay's.
  RecommendRequest req;
  req.n = 5;
  const Recommendations cold_a = forgot.RecommendForUser("nobody", req);
  const Recommendations cold_b = replay.RecommendForUser("nobody", req);
  ASSERT_EQ(cold_a.items.size(), cold_b.items.size());
  for (size_t n = 0; n < cold_a.items.size(); ++n) {
    EXPECT_EQ(cold_a.items[n].item, cold_b.items[n].item);
  }
  // Counters and the rating model's global mean.
  EXPECT_EQ(forgot.events_applied(), replay.events_applied());
  EXPECT_NEAR(forgot.model().global_mean(), replay.model().global_mean(), 1e-5);
  EXPECT_EQ(forgot.learner().mean_count(), replay.learner().mean_count());
  EXPECT_FALSE(forgot.users().Find("gone").has_value());

  // Others' seen items (by name) are untouched.
  for (int u = 0; u < 10; ++u) {
    const std::string user = fmt::format("u{}", u);
    auto names = [&](const Recommender& r) {
      std::vector<std::string> out;
      for (uint32_t i : r.Seen(*r.users().Find(user))) out.emplace_back(r.items().Name(i));
      std::sort(out.begin(), out.end());
      return out;
    };
    EXPECT_EQ(names(forgot), names(replay)) << user;
  }

  if (GetParam() == Objective::kImplicit) {
    const ImplicitOnlineUpdater& up = *forgot.implicit();
    const MFModel& m = forgot.model();
    // Histories: every cell of every other user is the replay's, and no
    // item history holds gone's row.
    const std::vector<std::string> user_names = forgot.users().Names();
    const uint32_t gone = static_cast<uint32_t>(
        std::find(user_names.begin(), user_names.end(), "") - user_names.begin());
    size_t cells = 0, replay_cells = 0;
    for (uint32_t i = 0; i < forgot.items().size(); ++i) {
      for (const auto& c : up.ItemCells(i)) EXPECT_NE(c.id, gone);
      cells += up.ItemCells(i).size();
    }
    for (uint32_t i = 0; i < replay.items().size(); ++i) {
      replay_cells += replay.implicit()->ItemCells(i).size();
    }
    EXPECT_EQ(cells, replay_cells);
    EXPECT_TRUE(up.UserCells(gone).empty());
    // "z" had only gone: its vector is 0, so nobody is pulled to it.
    const uint32_t z = *forgot.items().Find("z");
    EXPECT_EQ(Eigen::Map<const Eigen::VectorXf>(m.item_factors(z), m.rank()).norm(), 0.0f);
    // The Gramians are those of the model as it now is.
    const RowMatrixXf p = m.UserRows();
    const RowMatrixXf q = m.ItemRows();
    const Eigen::MatrixXf pu = p.transpose() * p, qi = q.transpose() * q;
    EXPECT_LT((up.user_gramian() - pu).norm(), 1e-4f * (1.0f + pu.norm()));
    EXPECT_LT((up.item_gramian() - qi).norm(), 1e-4f * (1.0f + qi.norm()));
    // Warm users see z with preference 0 at most: nothing of gone's taste.
    for (int u = 0; u < 10; ++u) {
      req.n = 20;
      const Recommendations r = forgot.RecommendForUser(fmt::format("u{}", u), req);
      for (const NamedScore& s : r.items) {
        if (s.item == "z") {
          EXPECT_EQ(s.score, 0.0f) << u;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Objectives, ForgetTest,
                         ::testing::Values(Objective::kRating, Objective::kImplicit,
                                           Objective::kBpr),
                         [](const auto& info) { return std::string(ObjectiveName(info.param)); });

// When the forgotten user's event was the newest, the popularity clock
// stays where it was (not rolled back): every score is the replay's times
// one common factor, so the ranking is the replay's.
TEST(ForgetTest, TheClockStaysButTheRankingIsTheReplays) {
  std::vector<Ev> events = Stream();
  events.push_back({"gone", "i7", "purchase", events.back().ts + 3'600'000});
  Recommender forgot(Options(Objective::kImplicit), EventTypes::Defaults());
  Recommender replay(Options(Objective::kImplicit), EventTypes::Defaults());
  ApplyAll(&forgot, events, false);
  ApplyAll(&replay, events, true);
  Forget(&forgot, events);
  const auto a = forgot.Popular(20), b = replay.Popular(20);
  ASSERT_EQ(a.size(), b.size());
  const double factor = a.front().score / b.front().score;
  EXPECT_LT(factor, 1.0);
  for (size_t n = 0; n < a.size(); ++n) {
    EXPECT_EQ(a[n].item, b[n].item);
    EXPECT_NEAR(a[n].score, b[n].score * factor, 1e-5 * b[n].score);
  }
}

}  // namespace
}  // namespace streamrec::engine
