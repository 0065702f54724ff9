#include "storage/recovery.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "engine/core/random.h"
#include "engine/live/snapshot.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::TempDir;

engine::RecommenderOptions SmallOptions() {
  engine::RecommenderOptions o;
  o.model.rank = 8;
  o.learner.fold_in_max_events = 5;  // so that users graduate within the test
  return o;
}

// A seeded stream over 60 users and `items` items, mixed event types.
std::vector<StoredEvent> Stream(size_t n, uint64_t seed, uint64_t items = 40) {
  engine::SplitMix64 rng(seed);
  const char* types[] = {"view", "click", "cart", "purchase", "rating"};
  std::vector<StoredEvent> out;
  for (size_t k = 0; k < n; ++k) {
    const char* type = types[rng.Uniform(5)];
    const bool rating = std::string_view(type) == "rating";
    out.push_back({0, fmt::format("e{}", k), fmt::format("u{}", rng.Uniform(60)),
                   fmt::format("i{}", rng.Uniform(items)), type,
                   rating ? static_cast<float>(1 + rng.Uniform(5)) : 0.0f,
                   1'700'000'000'000 + static_cast<int64_t>(k) * 1000});
  }
  return out;
}

std::unique_ptr<EventLog> Open(const std::string& dir) {
  auto log = EventLog::Open(dir, {});
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return std::move(log).value();
}

TEST(RecoveryTest, SnapshotPlusTailEqualsFullReplayBitForBit) {
  // A whole-log recovery (the snapshot's) runs the model's steps on a
  // second thread (engine::ReplayPipeline) with the top-N index filed at
  // the end, and so does a tail after a snapshot at least as long as the
  // catalog; a shorter tail is applied event by event. The full replay
  // below is event by event throughout, keeping the index up.
  const engine::EventTypes types = engine::EventTypes::Defaults();
  struct Case {
    engine::Objective objective;
    size_t cut;
    engine::TopNMethod method = engine::TopNMethod::kAuto;
    uint64_t items = 40;
  };
  const Case cases[] = {
      {engine::Objective::kRating, 1},
      {engine::Objective::kRating, 200},
      {engine::Objective::kRating, 4500},
      {engine::Objective::kRating, 4999},
      {engine::Objective::kImplicit, 4500},
      // An IVF index (trained again as events go) and an int8 mirror, with
      // a tail longer than the catalog (filed at the end) and one shorter.
      {engine::Objective::kImplicit, 1500, engine::TopNMethod::kIvf, 300},
      {engine::Objective::kImplicit, 4900, engine::TopNMethod::kIvf, 300},
      {engine::Objective::kImplicit, 2000, engine::TopNMethod::kInt8, 300},
      {engine::Objective::kRating, 1500, engine::TopNMethod::kIvf, 300},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(fmt::format("{} {} {}", engine::ObjectiveName(c.objective), c.cut,
                             engine::TopNMethodName(c.method)));
    const auto events = Stream(5000, 3, c.items);
    engine::RecommenderOptions options = SmallOptions();
    options.objective = c.objective;
    options.topn.method = c.method;
    TempDir d;
    auto l = Open(d.path());
    ASSERT_TRUE(l->Append(std::span(events).subspan(0, c.cut)).ok());
    {
      // A running server: applies, then snapshots at `cut`.
      engine::Recommender live(options, types);
      auto r = Recover(*l, &live);
      ASSERT_TRUE(r.ok());
      ASSERT_TRUE(WriteSnapshot(l.get(), live, r->last_seq).ok());
    }
    ASSERT_TRUE(l->Append(std::span(events).subspan(c.cut)).ok());
    engine::Recommender from_snapshot(options, types);
    auto r = Recover(*l, &from_snapshot);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->snapshot_seq, c.cut);
    EXPECT_EQ(r->replayed, events.size() - c.cut);
    EXPECT_EQ(r->last_seq, events.size());
    EXPECT_TRUE(r->snapshot_skipped.empty());

    // The same log applied from scratch, ignoring the snapshot.
    engine::Recommender full(options, types);
    ASSERT_TRUE(l->Scan(1, UINT64_MAX, [&](const StoredEvent& e) {
                   EXPECT_TRUE(ApplyStored(e, &full).ok());
                   return true;
                 }).ok());
    if (c.method == engine::TopNMethod::kIvf) {
      ASSERT_GT(full.ivf_index().lists(), 0u);
    }
    EXPECT_TRUE(engine::EncodeSnapshot(full) == engine::EncodeSnapshot(from_snapshot))
        << "snapshot + tail differs from a full replay";
    for (uint32_t i = 0; i < full.model().num_items() && c.method == engine::TopNMethod::kIvf;
         ++i) {
      ASSERT_EQ(from_snapshot.ivf_index().ListOf(i), full.ivf_index().ListOf(i)) << i;
    }
  }
}

TEST(RecoveryTest, SnapshotOfAnotherRankIsSkippedAndTheLogReplayed) {
  TempDir dir;
  auto log = Open(dir.path());
  const auto events = Stream(300, 5);
  ASSERT_TRUE(log->Append(events).ok());
  const engine::EventTypes types = engine::EventTypes::Defaults();
  {
    engine::RecommenderOptions other = SmallOptions();
    other.model.rank = 4;
    engine::Recommender rec(other, types);
    ASSERT_TRUE(Recover(*log, &rec).ok());
    ASSERT_TRUE(WriteSnapshot(log.get(), rec, 300).ok());
  }
  engine::Recommender rec(SmallOptions(), types);
  auto r = Recover(*log, &rec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->snapshot_seq, 0u);
  EXPECT_EQ(r->replayed, 300u);
  EXPECT_NE(r->snapshot_skipped.find("settings"), std::string::npos) << r->snapshot_skipped;
  EXPECT_EQ(rec.events_applied(), 300u);
}

TEST(RecoveryTest, SnapshotUnderOtherLearnerSettingsIsSkipped) {
  // Same rank and seed, another learning rate: decoding would succeed, but
  // replaying the tail onto it would match no full replay.
  TempDir dir;
  auto log = Open(dir.path());
  const auto events = Stream(300, 6);
  ASSERT_TRUE(log->Append(std::span(events).subspan(0, 200)).ok());
  const engine::EventTypes types = engine::EventTypes::Defaults();
  {
    engine::RecommenderOptions other = SmallOptions();
    other.learner.sgd.learning_rate *= 2;
    engine::Recommender rec(other, types);
    ASSERT_TRUE(Recover(*log, &rec).ok());
    ASSERT_TRUE(WriteSnapshot(log.get(), rec, 200).ok());
  }
  ASSERT_TRUE(log->Append(std::span(events).subspan(200)).ok());
  engine::Recommender rec(SmallOptions(), types);
  auto r = Recover(*log, &rec);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->snapshot_seq, 0u);
  EXPECT_EQ(r->replayed, 300u);
  engine::Recommender full(SmallOptions(), types);
  ASSERT_TRUE(log->Scan(1, UINT64_MAX,
                        [&](const StoredEvent& e) {
                          EXPECT_TRUE(ApplyStored(e, &full).ok());
                          return true;
                        })
                  .ok());
  EXPECT_TRUE(engine::EncodeSnapshot(full) == engine::EncodeSnapshot(rec));
  // The fingerprint covers event-type weights too.
  engine::EventTypeSpec view{"view", 0.2f, false, 3.5f, 0, 0};
  auto changed = engine::EventTypes::Create({view});
  ASSERT_TRUE(changed.ok());
  engine::Recommender a(SmallOptions(), types), b(SmallOptions(), *changed);
  EXPECT_NE(ConfigFingerprint(a), ConfigFingerprint(b));
  EXPECT_EQ(ConfigFingerprint(a), ConfigFingerprint(engine::Recommender(SmallOptions(), types)));
}

TEST(RecoveryTest, DeletedUserIsUnknownAfterRestart) {
  TempDir dir;
  const engine::EventTypes types = engine::EventTypes::Defaults();
  {
    auto log = Open(dir.path());
    ASSERT_TRUE(log->Append(Stream(400, 9)).ok());
    engine::Recommender rec(SmallOptions(), types);
    ASSERT_TRUE(Recover(*log, &rec).ok());
    ASSERT_TRUE(rec.users().Find("u7").has_value());
    ASSERT_TRUE(WriteSnapshot(log.get(), rec, log->next_seq() - 1).ok());
    auto removed = log->DeleteUser("u7");
    ASSERT_TRUE(removed.ok());
    EXPECT_GT(*removed, 0u);
  }
  auto log = Open(dir.path());
  engine::Recommender rec(SmallOptions(), types);
  auto r = Recover(*log, &rec);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(rec.users().Find("u7").has_value());
  EXPECT_TRUE(rec.users().Find("u8").has_value());
  EXPECT_EQ(r->snapshot_seq, 0u) << "the snapshot that knew u7 is gone";
}

TEST(RecoveryTest, UnknownEventTypeStopsRecoveryWithItsName) {
  TempDir dir;
  auto log = Open(dir.path());
  std::vector<StoredEvent> b = {{0, "", "u", "i", "view", 0, 1},
                                {0, "", "u", "j", "wishlist", 0, 2}};
  ASSERT_TRUE(log->Append(b).ok());
  engine::Recommender rec(SmallOptions(), engine::EventTypes::Defaults());
  auto r = Recover(*log, &rec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("wishlist"), std::string::npos);
}

TEST(RecoveryTest, UpToStopsEarly) {
  TempDir dir;
  auto log = Open(dir.path());
  ASSERT_TRUE(log->Append(Stream(100, 1)).ok());
  engine::Recommender rec(SmallOptions(), engine::EventTypes::Defaults());
  auto r = Recover(*log, &rec, 40);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replayed, 40u);
  EXPECT_EQ(r->last_seq, 40u);
}

}  // namespace
}  // namespace streamrec::storage
