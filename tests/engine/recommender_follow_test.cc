// The Left-Right follower: two copies sharing one implicit updater, each
// change applied to the leader and then followed by the other, with the
// roles alternating as they do in the live store, stay bit-identical to
// each other and to one recommender that applied everything itself. The
// leader applies its runs through a LookaheadApplier, as the store's model
// thread does (and event by event on alternate runs of the longest test).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/live/lookahead_applier.h"
#include "engine/live/recommender.h"
#include "engine/live/snapshot.h"
#include "engine/live/step_thread.h"
#include "tests/engine/recommender_fixture.h"

namespace streamrec::engine {
namespace {

// n events, one a second, each from pick(e, rng, &event) (which sets the
// type and value and returns the user and item numbers); their ids are
// kept in *ids, which the events point into.
template <typename Pick>
std::vector<Event> MakeEvents(std::vector<std::string>* ids, uint32_t n, uint64_t seed, Pick pick) {
  SplitMix64 rng(seed);
  std::vector<Event> out;
  ids->reserve(2 * n);  // the events point into it
  for (uint32_t e = 0; e < n; ++e) {
    Event event;
    event.ts_ms = 1'700'000'000'000 + int64_t{e} * 1000;
    const auto [u, i] = pick(e, rng, &event);
    ids->push_back(fmt::format("u{}", u));
    event.user = ids->back();
    ids->push_back(fmt::format("i{}", i));
    event.item = ids->back();
    out.push_back(event);
  }
  return out;
}

// 40 users, 90 items (the low ones far more often), a third of the events
// ratings and the rest clicks.
std::vector<Event> RandomEvents(const EventTypes& types, std::vector<std::string>* ids, uint32_t n,
                                uint64_t seed) {
  return MakeEvents(ids, n, seed, [&](uint32_t, SplitMix64& rng, Event* event) {
    const uint64_t u = rng.Uniform(40);
    const uint64_t i = rng.Uniform(1 + rng.Uniform(90));
    const bool rated = rng.Uniform(3) == 0;
    event->type = *types.Find(rated ? "rating" : "click");
    event->value = rated ? static_cast<float>(1 + rng.Uniform(5)) : 0.0f;
    return std::pair{u, i};
  });
}

class FollowTest : public ::testing::TestWithParam<Objective> {};

// The int8 mirror or the IVF index (whichever the method keeps) follows
// too: the follower's answers are the lone copy's. `as_opened`: the first
// 500 events are a log the store opens on, as LiveStore::Open makes its
// two copies: `a` replays them alone (BeginReplay, EndReplay), then
// MakeSecondCopy trims it and makes `b`, sharing its updater and given its
// state. `steps`: the leader's runs go through it instead of a
// LookaheadApplier.
void FollowAndCompare(Objective objective, TopNMethod method, bool as_opened = false,
                      StepThread* steps = nullptr) {
  RecommenderOptions o = SmallOptions();
  o.objective = objective;
  o.topn.method = method;
  Recommender a(o, EventTypes::Defaults()), alone(o, EventTypes::Defaults());
  auto second = std::make_unique<Recommender>(o, EventTypes::Defaults());
  if (!as_opened) {
    second->ShareUpdater(a);
    EXPECT_EQ(second->SharesUpdaterWith(a), objective == Objective::kImplicit);
  }
  std::vector<std::string> ids;
  const std::vector<Event> events = RandomEvents(a.types(), &ids, 3000, 1);
  size_t start = 0;
  if (as_opened) {
    start = 500;
    a.BeginReplay();
    for (const Event& e : std::span(events).subspan(0, start)) {
      ASSERT_TRUE(a.Apply(e).ok());
      ASSERT_TRUE(alone.Apply(e).ok());
    }
    a.EndReplay();
    StatusOr<std::unique_ptr<Recommender>> made = MakeSecondCopy(&a);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    second = std::move(made).value();
    EXPECT_EQ(second->SharesUpdaterWith(a), objective == Objective::kImplicit);
    ASSERT_EQ(EncodeSnapshot(*second), EncodeSnapshot(alone));
  }
  Recommender& b = *second;
  Recommender* leader = &a;
  Recommender* follower = &b;
  for (size_t begin = start; begin < events.size(); begin += 250) {
    const std::span<const Event> run = std::span(events).subspan(begin, 250);
    if (steps != nullptr) {
      steps->Begin(leader);
      for (const Event& e : run) ASSERT_TRUE(steps->Apply(e).ok());
      steps->Finish();
    } else {
      LookaheadApplier applier(leader);  // as the store's model thread leads
      for (const Event& e : run) ASSERT_TRUE(applier.Apply(e).ok());
    }
    for (const Event& e : run) ASSERT_TRUE(follower->ApplyFollowing(e, *leader).ok());
    if (objective == Objective::kImplicit && begin >= 500) {
      // Every user known by now: the follower took the leader's indices
      // and seen-list pages instead of inserting into pages of its own.
      EXPECT_EQ(follower->seen_lists().OwnPages(), 0u) << "after event " << begin + 250;
    }
    for (const Event& e : run) ASSERT_TRUE(alone.Apply(e).ok());
    if (begin == 1000) {  // a user forgotten with their events
      std::vector<Event> mine;
      for (const Event& e : std::span(events).subspan(0, begin + 250)) {
        if (e.user == "u7") mine.push_back(e);
      }
      ASSERT_TRUE(leader->ForgetUser("u7", mine));
      ASSERT_TRUE(follower->ForgetUserFollowing("u7", mine, *leader));
      ASSERT_TRUE(alone.ForgetUser("u7", mine));
    }
    if (begin == 2000) {  // a retrained model installed, with steps after it
      MFModel trained = alone.model().Clone();
      trained.Reinitialize();
      const std::span<const Event> since = std::span(events).subspan(begin - 100, 100);
      ASSERT_TRUE(leader->InstallModel(trained.Clone(), since).ok());
      follower->InstallModelFollowing(*leader);
      ASSERT_TRUE(alone.InstallModel(std::move(trained), since).ok());
    }
    // The run's end: every user and item page, seen-list page and id page
    // is held once, by both copies.
    follower->FinishFollowing(*leader);
    EXPECT_EQ(a.model().OwnUserPages(), 0u) << "after event " << begin + 250;
    EXPECT_EQ(b.model().OwnUserPages(), 0u) << "after event " << begin + 250;
    EXPECT_EQ(a.model().OwnItemPages(), 0u) << "after event " << begin + 250;
    EXPECT_EQ(b.model().OwnItemPages(), 0u) << "after event " << begin + 250;
    EXPECT_EQ(a.seen_lists().OwnPages(), 0u) << "after event " << begin + 250;
    EXPECT_EQ(b.seen_lists().OwnPages(), 0u) << "after event " << begin + 250;
    EXPECT_EQ(a.seen_lists().Pages(), b.seen_lists().Pages());
    EXPECT_EQ(a.users().OwnPages() + a.items().OwnPages(), 0u) << "after event " << begin + 250;
    EXPECT_EQ(b.users().OwnPages() + b.items().OwnPages(), 0u) << "after event " << begin + 250;
    const std::string want = EncodeSnapshot(alone);
    ASSERT_EQ(EncodeSnapshot(a), want) << "after event " << begin + 250;
    ASSERT_EQ(EncodeSnapshot(b), want) << "after event " << begin + 250;
    for (int u = 0; u < 40; u += 7) {
      const std::string user = fmt::format("u{}", u);
      const auto want_recs = alone.RecommendForUser(user, Req(5));
      const auto got = follower->RecommendForUser(user, Req(5));
      ASSERT_EQ(got.items.size(), want_recs.items.size());
      for (size_t t = 0; t < got.items.size(); ++t) {
        ASSERT_EQ(got.items[t].item, want_recs.items[t].item);
      }
    }
    if (method == TopNMethod::kIvf) {
      for (uint32_t i = 0; i < alone.model().num_items(); ++i) {
        ASSERT_EQ(a.ivf_index().ListOf(i), alone.ivf_index().ListOf(i)) << i;
        ASSERT_EQ(b.ivf_index().ListOf(i), alone.ivf_index().ListOf(i)) << i;
      }
    }
    std::swap(leader, follower);  // as Left-Right alternates the copies
  }
}

TEST_P(FollowTest, CopiesFollowingEachOtherStayEqualToOneThatAppliedEverything) {
  for (const TopNMethod method : {TopNMethod::kInt8, TopNMethod::kIvf}) {
    SCOPED_TRACE(std::string(TopNMethodName(method)));
    FollowAndCompare(GetParam(), method);
  }
}

TEST_P(FollowTest, CopiesMadeAsTheStoreOpensStayEqualToOneThatAppliedEverything) {
  for (const TopNMethod method : {TopNMethod::kInt8, TopNMethod::kIvf}) {
    SCOPED_TRACE(std::string(TopNMethodName(method)));
    FollowAndCompare(GetParam(), method, /*as_opened=*/true);
  }
}

TEST_P(FollowTest, ALeaderWhoseStepsRunOnAStepThreadIsFollowedAlike) {
  StepThread steps;  // one for every run, as the store keeps one
  for (const TopNMethod method : {TopNMethod::kInt8, TopNMethod::kIvf}) {
    SCOPED_TRACE(std::string(TopNMethodName(method)));
    FollowAndCompare(GetParam(), method, /*as_opened=*/true, &steps);
  }
}

TEST_P(FollowTest, ASnapshotDecodedIntoASharingCopyLeavesTheLeaderAlone) {
  RecommenderOptions o = SmallOptions();
  o.objective = GetParam();
  Recommender a(o, EventTypes::Defaults()), b(o, EventTypes::Defaults()),
      other(o, EventTypes::Defaults());
  std::vector<std::string> ids;
  for (const Event& e : RandomEvents(a.types(), &ids, 500, 2)) ASSERT_TRUE(a.Apply(e).ok());
  ASSERT_TRUE(DecodeSnapshot(EncodeSnapshot(a), &b).ok());
  b.ShareUpdater(a);
  const std::string before = EncodeSnapshot(a);
  std::vector<std::string> more;
  for (const Event& e : RandomEvents(a.types(), &more, 300, 3)) ASSERT_TRUE(other.Apply(e).ok());
  ASSERT_TRUE(DecodeSnapshot(EncodeSnapshot(other), &b).ok());
  EXPECT_FALSE(b.SharesUpdaterWith(a));
  EXPECT_EQ(EncodeSnapshot(a), before);
  EXPECT_EQ(EncodeSnapshot(b), EncodeSnapshot(other));
}

TEST_P(FollowTest, ACopyOfItsLeadersStateKeepsTheSharedUpdater) {
  // The second Left-Right copy at open: shares the updater first, then
  // takes the leader's state; the history is not built a second time.
  RecommenderOptions o = SmallOptions();
  o.objective = GetParam();
  Recommender a(o, EventTypes::Defaults()), b(o, EventTypes::Defaults()),
      alone(o, EventTypes::Defaults());
  std::vector<std::string> ids;
  const std::vector<Event> events = RandomEvents(a.types(), &ids, 800, 4);
  for (size_t e = 0; e < 500; ++e) {
    ASSERT_TRUE(a.Apply(events[e]).ok());
    ASSERT_TRUE(alone.Apply(events[e]).ok());
  }
  // Without the shared updater there is no copy (under kImplicit), and a
  // copy of another configuration is refused as its snapshot would be;
  // neither changes the target.
  Recommender unshared(o, EventTypes::Defaults());
  const std::string empty = EncodeSnapshot(unshared);
  EXPECT_EQ(CopySnapshotState(a, &unshared).code(),
            GetParam() == Objective::kImplicit ? StatusCode::kFailedPrecondition : StatusCode::kOk);
  if (GetParam() == Objective::kImplicit) {
    EXPECT_EQ(EncodeSnapshot(unshared), empty);
  }
  RecommenderOptions other_rank = o;
  other_rank.model.rank = o.model.rank + 1;
  Recommender other(other_rank, EventTypes::Defaults());
  other.ShareUpdater(a);
  const Status refused = CopySnapshotState(a, &other);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("rank"), std::string::npos) << refused.message();
  EXPECT_EQ(other.model().num_users(), 0u);
  b.ShareUpdater(a);
  const std::string bytes = EncodeSnapshot(a);
  ASSERT_TRUE(CopySnapshotState(a, &b).ok());
  EXPECT_EQ(b.SharesUpdaterWith(a), GetParam() == Objective::kImplicit);
  EXPECT_EQ(EncodeSnapshot(b), bytes);
  EXPECT_EQ(EncodeSnapshot(a), bytes);       // the source unchanged
  EXPECT_EQ(b.seen_lists().OwnPages(), 0u);  // held once
  EXPECT_EQ(b.users().OwnPages() + b.items().OwnPages(), 0u);
  EXPECT_EQ(b.model().OwnUserPages(), 0u);
  EXPECT_EQ(b.model().OwnItemPages(), 0u);
  EXPECT_GT(b.seen_lists().Pages(), 0u);
  for (size_t e = 500; e < events.size(); ++e) {
    ASSERT_TRUE(a.Apply(events[e]).ok());
    ASSERT_TRUE(b.ApplyFollowing(events[e], a).ok());
    ASSERT_TRUE(alone.Apply(events[e]).ok());
  }
  EXPECT_EQ(EncodeSnapshot(a), EncodeSnapshot(alone));
  EXPECT_EQ(EncodeSnapshot(b), EncodeSnapshot(alone));
}

// The runs that once crashed `bench ingest`: the leader's run ends on a
// user it knows just as its id table is 3/4 full, and the follower takes
// the leader's index for that user instead of looking it up. Both copies'
// tables must grow at the same id, or the pages the follower shares back
// are laid out otherwise and its lookups fail.
TEST_P(FollowTest, ARunEndingOnAKnownIdAtTheIdTableThresholdKeepsTheCopiesEqual) {
  RecommenderOptions o = SmallOptions();
  o.objective = GetParam();
  Recommender a(o, EventTypes::Defaults()), b(o, EventTypes::Defaults());
  b.ShareUpdater(a);
  std::vector<std::string> users;
  for (int u = 0; u < 386; ++u) users.push_back(fmt::format("u{}", u));
  const EventTypeId click = *a.types().Find("click");
  auto event = [&](int u) {
    return Event{
        .user = users[u], .item = "i1", .type = click, .value = 0.0f, .ts_ms = 1'700'000'000'000};
  };
  Recommender* leader = &a;
  Recommender* follower = &b;
  auto run = [&](const std::vector<int>& us) {
    for (const int u : us) ASSERT_TRUE(leader->Apply(event(u)).ok());
    for (const int u : us) ASSERT_TRUE(follower->ApplyFollowing(event(u), *leader).ok());
    follower->FinishFollowing(*leader);
    std::swap(leader, follower);
  };
  std::vector<int> first(383);
  for (int u = 0; u < 383; ++u) first[u] = u;
  run(first);
  run({383, 0});  // a new user, then a known one at the threshold
  run({384, 1});
  run({2, 385});
  for (const Recommender* r : {&a, &b}) {
    ASSERT_EQ(r->users().size(), 386u);
    for (int u = 0; u < 386; ++u) ASSERT_EQ(r->users().Find(users[u]), uint32_t(u)) << u;
  }
  EXPECT_EQ(EncodeSnapshot(a), EncodeSnapshot(b));
}

// Events over id pools that grow slowly (`users`/`items` at the end), so
// most events name known ids and the id tables fill past each growth
// point on a known id as often as on a new one.
std::vector<Event> GrowingEvents(const EventTypes& types, std::vector<std::string>* ids, uint32_t n,
                                 uint32_t users, uint32_t items, uint64_t seed) {
  return MakeEvents(ids, n, seed, [&](uint32_t e, SplitMix64& rng, Event* event) {
    const uint64_t grown = uint64_t{e} + 1;
    const uint64_t u = rng.Uniform(1 + grown * users / n);
    const uint64_t i = rng.Uniform(1 + grown * items / n);
    event->type = *types.Find(rng.Uniform(4) == 0 ? "view" : "click");
    return std::pair{u, i};
  });
}

// At the size where the shared structures page and grow (thousands of
// ids: id tables past their first growths, user pages, seen-list pages),
// with runs of random length, forgets among them, and the roles
// alternating: both copies stay equal to one that applied everything.
TEST_P(FollowTest, ThousandsOfIdsInRunsOfRandomLengthKeepTheCopiesEqualToALoneOne) {
  RecommenderOptions o = SmallOptions();
  o.objective = GetParam();
  o.model.rank = 8;
  Recommender a(o, EventTypes::Defaults()), b(o, EventTypes::Defaults()),
      alone(o, EventTypes::Defaults());
  b.ShareUpdater(a);
  std::vector<std::string> ids;
  const std::vector<Event> events = GrowingEvents(a.types(), &ids, 12000, 3000, 2000, 5);
  SplitMix64 rng(6);
  Recommender* leader = &a;
  Recommender* follower = &b;
  size_t runs = 0;
  for (size_t begin = 0; begin < events.size(); ++runs) {
    const size_t n =
        std::min<size_t>(1 + rng.Uniform(runs % 5 == 0 ? 200 : 6), events.size() - begin);
    const std::span<const Event> run = std::span(events).subspan(begin, n);
    if (runs % 2 == 0) {
      for (const Event& e : run) ASSERT_TRUE(leader->Apply(e).ok());
    } else {
      LookaheadApplier applier(leader);  // as the store's model thread leads
      for (const Event& e : run) ASSERT_TRUE(applier.Apply(e).ok());
    }
    for (const Event& e : run) ASSERT_TRUE(follower->ApplyFollowing(e, *leader).ok());
    for (const Event& e : run) ASSERT_TRUE(alone.Apply(e).ok());
    begin += n;
    if (runs % 97 == 96) {  // a user forgotten with their events so far
      const std::string user = fmt::format("u{}", rng.Uniform(3000));
      std::vector<Event> mine;
      for (const Event& e : std::span(events).subspan(0, begin)) {
        if (e.user == user) mine.push_back(e);
      }
      const bool known = leader->ForgetUser(user, mine);
      ASSERT_EQ(follower->ForgetUserFollowing(user, mine, *leader), known);
      ASSERT_EQ(alone.ForgetUser(user, mine), known);
    }
    follower->FinishFollowing(*leader);
    if (runs % 50 == 0 || begin == events.size()) {
      ASSERT_EQ(a.users().size(), alone.users().size()) << "after event " << begin;
      ASSERT_EQ(b.users().size(), alone.users().size()) << "after event " << begin;
      const std::string want = EncodeSnapshot(alone);
      ASSERT_EQ(EncodeSnapshot(a), want) << "after event " << begin;
      ASSERT_EQ(EncodeSnapshot(b), want) << "after event " << begin;
    }
    std::swap(leader, follower);
  }
  // Every id found where the lone copy has it, in both.
  for (uint32_t u = 0; u < alone.users().size(); ++u) {
    const std::string name(alone.users().Name(u));
    if (name.empty()) continue;
    ASSERT_EQ(a.users().Find(name), u);
    ASSERT_EQ(b.users().Find(name), u);
  }
  for (uint32_t i = 0; i < alone.items().size(); ++i) {
    const std::string name(alone.items().Name(i));
    ASSERT_EQ(a.items().Find(name), i);
    ASSERT_EQ(b.items().Find(name), i);
  }
  EXPECT_EQ(a.users().OwnPages() + a.items().OwnPages() + a.seen_lists().OwnPages() +
                a.model().OwnUserPages() + a.model().OwnItemPages(),
            0u);
}

// Readers of the published copy fold a session in with that copy's item
// Gramian, taken when it was prepared for them, not the updater's, which
// the writer changes while they read: the other copy's changes move the
// shared updater and leave the published copy's answers alone, to the bit,
// until it has followed them and is prepared again.
TEST(FollowReadersTest, TheOtherCopysChangesLeaveAPublishedCopysSessionAnswersAlone) {
  RecommenderOptions o = SmallOptions();
  o.objective = Objective::kImplicit;
  Recommender a(o, EventTypes::Defaults()), b(o, EventTypes::Defaults());
  b.ShareUpdater(a);
  std::vector<std::string> ids;
  const std::vector<Event> events = RandomEvents(a.types(), &ids, 1200, 3);
  auto run = [&](Recommender* leader, Recommender* follower, size_t begin, size_t n) {
    for (const Event& e : std::span(events).subspan(begin, n)) ASSERT_TRUE(leader->Apply(e).ok());
    for (const Event& e : std::span(events).subspan(begin, n)) {
      ASSERT_TRUE(follower->ApplyFollowing(e, *leader).ok());
    }
    follower->FinishFollowing(*leader);
  };
  run(&a, &b, 0, 800);
  a.PrepareForReaders();
  b.PrepareForReaders();
  const EventTypeId click = *a.types().Find("click");
  const std::vector<HistoryEvent> history = {
      {"i1", click, 0.0f}, {"i4", click, 0.0f}, {"i9", click, 0.0f}};
  auto scores = [&](const Recommender& r) {
    SessionInfo info;
    StatusOr<Recommendations> got = r.RecommendForHistory(history, Req(10), &info);
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->source, RecommendationSource::kModel);
    std::vector<std::pair<std::string, float>> out;
    for (const NamedScore& s : got->items) out.emplace_back(s.item, s.score);
    return out;
  };
  const auto published = scores(a);
  // b leads the next run: the shared updater's Gramians move with it.
  const Eigen::MatrixXf before = a.implicit()->item_gramian();
  for (const Event& e : std::span(events).subspan(800, 400)) ASSERT_TRUE(b.Apply(e).ok());
  ASSERT_NE(a.implicit()->item_gramian(), before);
  EXPECT_EQ(scores(a), published);
  // Once a has followed the run and is prepared again, it answers as b.
  for (const Event& e : std::span(events).subspan(800, 400)) {
    ASSERT_TRUE(a.ApplyFollowing(e, b).ok());
  }
  a.FinishFollowing(b);
  b.PrepareForReaders();
  a.PrepareForReaders();
  EXPECT_NE(scores(a), published);
  EXPECT_EQ(scores(a), scores(b));
}

// A popular item's update that the leader's step skipped
// (ImplicitOnlineOptions::min_item_step) left its row as it was: the
// follower, copying the leader's row, leaves its own page shared too
// instead of taking it for the same bytes.
TEST(FollowItemsTest, AnItemRowTheLeaderLeftAloneKeepsItsSharedPage) {
  RecommenderOptions o = SmallOptions();
  o.objective = Objective::kImplicit;
  o.implicit.max_item_cells = 2;
  o.implicit.min_item_step = 1.0f;  // a row of n > 2 cells moves on 1 / (n - 1) of its events
  Recommender a(o, EventTypes::Defaults()), b(o, EventTypes::Defaults());
  b.ShareUpdater(a);
  std::vector<std::string> ids;
  const std::vector<Event> events =
      MakeEvents(&ids, 200, 5, [&](uint32_t e, SplitMix64&, Event* ev) {
        ev->type = *a.types().Find("click");
        return std::pair{uint64_t{e}, uint64_t{0}};  // a new user on item 0 each time
      });
  const int k = o.model.rank;
  uint32_t left_alone = 0;
  for (const Event& e : events) {
    const MFModel& rows = a.model();
    std::vector<float> before;  // none before the first event made the item
    if (rows.num_items() > 0) before.assign(rows.item_factors(0), rows.item_factors(0) + k);
    ASSERT_TRUE(a.Apply(e).ok());
    const bool moved =
        before.empty() || !std::equal(before.begin(), before.end(), rows.item_factors(0));
    ASSERT_TRUE(b.ApplyFollowing(e, a).ok());
    if (!moved) {
      ++left_alone;
      EXPECT_EQ(b.model().OwnItemPages(), 0u) << "the follower took the page of a row that stayed";
    }
    b.FinishFollowing(a);
    ASSERT_EQ(EncodeSnapshot(a), EncodeSnapshot(b));
  }
  // ~200 - ln(200) * 1: nearly every event past the first few.
  EXPECT_GT(left_alone, 150u);
}

INSTANTIATE_TEST_SUITE_P(Objectives, FollowTest,
                         ::testing::Values(Objective::kRating, Objective::kImplicit,
                                           Objective::kBpr),
                         [](const auto& info) { return std::string(ObjectiveName(info.param)); });

}  // namespace
}  // namespace streamrec::engine
