#include "storage/model_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "engine/live/snapshot.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::TempDir;

engine::RecommenderOptions Small() {
  engine::RecommenderOptions o;
  o.model.rank = 8;
  return o;
}

std::vector<NewEvent> Batch(int start, int n) {
  std::vector<NewEvent> b;
  for (int k = start; k < start + n; ++k) {
    b.push_back({0, fmt::format("e{}", k), fmt::format("u{}", k % 13), fmt::format("i{}", k % 17),
                 k % 2 ? "rating" : "click", k % 2 ? static_cast<float>(1 + k % 5) : 0.0f,
                 1000 + k});
  }
  return b;
}

std::unique_ptr<ModelStore> OpenStore(const std::string& dir, ModelStoreOptions o = {}) {
  auto s = ModelStore::Open(dir, o, Small(), engine::EventTypes::Defaults());
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

TEST(ModelStoreTest, IngestLogsThenAppliesAndDuplicatesAreNotReapplied) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  auto r = store->Ingest(Batch(0, 10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(store->last_applied_seq(), 10u);
  EXPECT_EQ(store->recommender().events_applied(), 10u);
  auto again = store->Ingest(Batch(5, 10));  // 5 duplicates, 5 new
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->duplicates, 5u);
  EXPECT_EQ(store->recommender().events_applied(), 15u);
  EXPECT_EQ(store->last_applied_seq(), 15u);
}

TEST(ModelStoreTest, InvalidEventsAreRefusedBeforeAnythingIsLogged) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  std::vector<NewEvent> bad = Batch(0, 3);
  bad[2].type = "teleport";
  auto r = store->Ingest(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("teleport"), std::string::npos);
  bad = Batch(0, 3);
  bad[1].type = "rating";
  bad[1].value = 99.0f;  // outside the rating range
  EXPECT_EQ(store->Ingest(bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->log().next_seq(), 1u) << "nothing of a refused batch reached the log";
}

TEST(ModelStoreTest, SnapshotsByCountAndOnCloseAndRestartIsBitIdentical) {
  TempDir dir;
  ModelStoreOptions o;
  o.snapshot_every_events = 25;
  o.snapshot_every_seconds = 0;
  std::string before;
  {
    auto store = OpenStore(dir.path(), o);
    for (int b = 0; b < 4; ++b) ASSERT_TRUE(store->Ingest(Batch(b * 10, 10)).ok());
    EXPECT_EQ(store->last_snapshot_seq(), 30u) << "first batch boundary past 25 events";
    ASSERT_TRUE(store->Ingest(Batch(40, 3)).ok());
    before = engine::EncodeSnapshot(store->recommender());
    ASSERT_TRUE(store->Close().ok());
    EXPECT_EQ(store->last_snapshot_seq(), 43u) << "clean shutdown snapshots";
    EXPECT_EQ(store->Ingest(Batch(50, 1)).status().code(), StatusCode::kFailedPrecondition);
  }
  auto store = OpenStore(dir.path(), o);
  EXPECT_EQ(store->recovery().snapshot_seq, 43u);
  EXPECT_EQ(store->recovery().replayed, 0u);
  EXPECT_EQ(engine::EncodeSnapshot(store->recommender()), before);
}

TEST(ModelStoreTest, ForgetUserAtOnceAndAfterRestart) {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    ASSERT_TRUE(store->Ingest(Batch(0, 130)).ok());
    ASSERT_TRUE(store->recommender().users().Find("u3").has_value());
    auto removed = store->ForgetUser("u3");
    ASSERT_TRUE(removed.ok()) << removed.status().ToString();
    EXPECT_EQ(*removed, 10u);
    EXPECT_FALSE(store->recommender().users().Find("u3").has_value()) << "forgotten at once";
    const auto recs = store->recommender().RecommendForUser("u3", {});
    EXPECT_EQ(recs.source, engine::RecommendationSource::kPopular);
    // Events after the deletion still work, and u3 may come back as new.
    ASSERT_TRUE(store->Ingest(Batch(200, 5)).ok());
  }
  auto store = OpenStore(dir.path());
  EXPECT_GT(store->recovery().snapshot_seq, 0u);
  EXPECT_FALSE(store->recommender().users().Find("u3").has_value());
  EXPECT_TRUE(store->recommender().users().Find("u4").has_value());
  size_t u3_events = 0;
  ASSERT_TRUE(store->log()
                  .Scan(1, UINT64_MAX,
                        [&](const StoredEvent& e) {
                          u3_events += e.user == "u3";
                          return true;
                        })
                  .ok());
  EXPECT_EQ(u3_events, 0u);
}

}  // namespace
}  // namespace streamrec::storage
