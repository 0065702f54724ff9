// LiveStore serving the implicit objective ([model] objective = implicit):
// recovery, retrain with iALS, and a database switched between objectives.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "engine/live/snapshot.h"
#include "storage/live_store.h"
#include "storage/recovery.h"
#include "tests/engine/recommender_fixture.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::TempDir;

engine::RecommenderOptions Engine(engine::Objective objective) {
  engine::RecommenderOptions o;
  o.objective = objective;
  o.model.rank = 8;
  o.cold_start_min_items = 2;
  return o;
}

LiveStoreOptions Store(engine::Algorithm algorithm) {
  LiveStoreOptions o;
  o.store.log.durability = Durability::kProcess;
  o.training.bpr.epochs = 5;
  o.store.snapshot_every_events = 0;  // only Close() and retrains write them
  o.store.snapshot_every_seconds = 0;
  o.training.algorithm = algorithm;
  o.training.als.iterations = 3;
  o.training.ials.iterations = 3;
  return o;
}

// Every implicit type and some ratings; types with and without a rating.
std::vector<StoredEvent> Batch(int start, int n) {
  static const char* kTypes[] = {"view", "click", "cart", "purchase", "rating"};
  std::vector<StoredEvent> b;
  for (int k = start; k < start + n; ++k) {
    const char* type = kTypes[k % 5];
    const float value = k % 5 == 4 ? static_cast<float>(1 + k % 5) : 0.0f;
    b.push_back({0, fmt::format("e{}", k), fmt::format("u{}", k % 13), fmt::format("i{}", k % 17),
                 type, value, 1000 + k});
  }
  return b;
}

std::unique_ptr<LiveStore> Open(const std::string& dir, engine::Objective objective,
                                engine::Algorithm algorithm = engine::Algorithm::kIals) {
  auto s =
      LiveStore::Open(dir, Store(algorithm), Engine(objective), engine::EventTypes::Defaults());
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

std::string State(const LiveStore& s) {
  return s.Read([](const Replica& r) { return engine::EncodeSnapshot(*r.rec); });
}

// The state a full replay of `events` gives.
std::string Replayed(engine::Objective objective, const std::vector<StoredEvent>& events) {
  engine::Recommender rec(Engine(objective), engine::EventTypes::Defaults());
  uint64_t seq = 0;
  for (StoredEvent e : events) {
    e.seq = ++seq;
    EXPECT_TRUE(ApplyStored(e, &rec).ok());
  }
  return engine::EncodeSnapshot(rec);
}

void WaitForRetrain(const LiveStore& store) {
  for (int i = 0; i < 1000 && store.status().retrain.state == RetrainState::kRunning; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST(LiveImplicitTest, SnapshotPlusLogTailEqualsAFullReplay) {
  TempDir dir;
  const std::vector<StoredEvent> first = Batch(0, 200), second = Batch(200, 150);
  {
    auto store = Open(dir.path(), engine::Objective::kImplicit);
    ASSERT_TRUE(store->Ingest(first).ok());
    EXPECT_EQ(store->status().objective, engine::Objective::kImplicit);
    ASSERT_TRUE(store->Close().ok());  // writes the snapshot at 200
  }
  auto store = Open(dir.path(), engine::Objective::kImplicit);
  const LiveStatus st = store->status();
  EXPECT_EQ(st.recovery.snapshot_seq, 200u) << st.recovery.snapshot_skipped;
  EXPECT_EQ(st.recovery.replayed, 0u);
  ASSERT_TRUE(store->Ingest(second).ok());
  std::vector<StoredEvent> all = first;
  all.insert(all.end(), second.begin(), second.end());
  EXPECT_EQ(State(*store), Replayed(engine::Objective::kImplicit, all));
  store->Read([](const Replica& r) {
    const auto rec = r.rec->RecommendForUser("u1", engine::Req(5));
    EXPECT_EQ(rec.source, engine::RecommendationSource::kModel);
    EXPECT_NE(r.rec->implicit(), nullptr);
  });
}

TEST(LiveImplicitTest, RetrainInstallsIalsOverEveryEventAndARestartKeepsIt) {
  TempDir dir;
  std::string after;
  {
    auto store = Open(dir.path(), engine::Objective::kImplicit);
    ASSERT_TRUE(store->Ingest(Batch(0, 300)).ok());
    const std::string online = State(*store);
    ASSERT_TRUE(store->Retrain().ok());
    WaitForRetrain(*store);
    const LiveStatus st = store->status();
    ASSERT_EQ(st.retrain.state, RetrainState::kSucceeded) << st.retrain.error;
    EXPECT_EQ(st.retrain.algorithm, "ials");
    // Every event is an interaction iALS counts.
    EXPECT_EQ(st.retrain.examples, 300u);
    after = State(*store);
    EXPECT_NE(after, online);
    EXPECT_EQ(st.snapshot_seq, 300u);
    // The implicit model keeps learning online after the install.
    ASSERT_TRUE(store->Ingest(Batch(300, 20)).ok());
    after = State(*store);
  }
  auto store = Open(dir.path(), engine::Objective::kImplicit);
  EXPECT_EQ(State(*store), after);
}

TEST(LiveImplicitTest, BprObjectiveLearnsOnlineRetrainsWithBprAndRecovers) {
  TempDir dir;
  std::string after;
  {
    auto store = Open(dir.path(), engine::Objective::kBpr, engine::Algorithm::kBpr);
    ASSERT_TRUE(store->Ingest(Batch(0, 250)).ok());
    EXPECT_EQ(State(*store), Replayed(engine::Objective::kBpr, Batch(0, 250)));
    EXPECT_EQ(store->Retrain().code(), StatusCode::kOk);
    WaitForRetrain(*store);
    const LiveStatus st = store->status();
    ASSERT_EQ(st.retrain.state, RetrainState::kSucceeded) << st.retrain.error;
    EXPECT_EQ(st.retrain.algorithm, "bpr");
    EXPECT_EQ(st.retrain.examples, 250u);
    ASSERT_TRUE(store->Ingest(Batch(250, 30)).ok());
    after = State(*store);
  }
  auto store = Open(dir.path(), engine::Objective::kBpr, engine::Algorithm::kBpr);
  EXPECT_EQ(store->status().recovery.replayed, 0u);
  EXPECT_EQ(State(*store), after);
}

TEST(LiveImplicitTest, RetrainAlgorithmMustFitTheObjective) {
  TempDir dir;
  auto store = Open(dir.path(), engine::Objective::kImplicit, engine::Algorithm::kAls);
  ASSERT_TRUE(store->Ingest(Batch(0, 50)).ok());
  const Status st = store->Retrain();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("use ials"), std::string::npos) << st.message();
  EXPECT_EQ(store->status().retrain.runs, 0u);
  EXPECT_TRUE(CheckRetrainAlgorithm(engine::Objective::kRating, engine::Algorithm::kBpmf).ok());
  EXPECT_FALSE(CheckRetrainAlgorithm(engine::Objective::kRating, engine::Algorithm::kIals).ok());
  EXPECT_FALSE(CheckRetrainAlgorithm(engine::Objective::kImplicit, engine::Algorithm::kBpr).ok());
  EXPECT_TRUE(CheckRetrainAlgorithm(engine::Objective::kBpr, engine::Algorithm::kBpr).ok());
  EXPECT_FALSE(CheckRetrainAlgorithm(engine::Objective::kBpr, engine::Algorithm::kIals).ok());
}

// Switching a database to the other objective: its snapshots were written
// under other settings, so the whole log is replayed into the new model.
TEST(LiveImplicitTest, SwitchingObjectiveReplaysTheLog) {
  TempDir dir;
  const std::vector<StoredEvent> events = Batch(0, 120);
  {
    auto store = Open(dir.path(), engine::Objective::kRating, engine::Algorithm::kAls);
    ASSERT_TRUE(store->Ingest(events).ok());
    ASSERT_TRUE(store->Close().ok());
  }
  {
    auto store = Open(dir.path(), engine::Objective::kImplicit);
    const LiveStatus st = store->status();
    EXPECT_EQ(st.recovery.snapshot_seq, 0u);
    EXPECT_EQ(st.recovery.replayed, 120u);
    EXPECT_FALSE(st.recovery.snapshot_skipped.empty());
    EXPECT_EQ(State(*store), Replayed(engine::Objective::kImplicit, events));
    ASSERT_TRUE(store->Close().ok());
  }
  auto store = Open(dir.path(), engine::Objective::kRating, engine::Algorithm::kAls);
  EXPECT_EQ(store->status().recovery.replayed, 120u);
  EXPECT_EQ(State(*store), Replayed(engine::Objective::kRating, events));
}

}  // namespace
}  // namespace streamrec::storage
