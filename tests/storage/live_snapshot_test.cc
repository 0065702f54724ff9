// LiveStore's snapshot policy (storage/storage_options.h) and what a
// restart makes of the snapshot and the log after it. (Ported from the
// tests of ModelStore, LiveStore's single-threaded predecessor.)
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "engine/live/snapshot.h"
#include "storage/live_store.h"
#include "storage/recovery.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::TempDir;

engine::RecommenderOptions Small() {
  engine::RecommenderOptions o;
  o.model.rank = 8;
  return o;
}

LiveStoreOptions Snapshots(uint64_t every_events, double every_seconds) {
  LiveStoreOptions o;
  o.store.log.durability = Durability::kProcess;
  o.store.snapshot_every_events = every_events;
  o.store.snapshot_every_seconds = every_seconds;
  return o;
}

std::vector<StoredEvent> Batch(int start, int n) {
  std::vector<StoredEvent> b;
  for (int k = start; k < start + n; ++k) {
    b.push_back({0, fmt::format("e{}", k), fmt::format("u{}", k % 13), fmt::format("i{}", k % 17),
                 k % 2 ? "rating" : "click", k % 2 ? static_cast<float>(1 + k % 5) : 0.0f,
                 1000 + k});
  }
  return b;
}

std::unique_ptr<LiveStore> Open(const std::string& dir, const LiveStoreOptions& o) {
  auto s = LiveStore::Open(dir, o, Small(), engine::EventTypes::Defaults());
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

std::string State(const LiveStore& s) {
  return s.Read([](const Replica& r) { return engine::EncodeSnapshot(*r.rec); });
}

// The state a full replay of `events` gives.
std::string Replayed(const std::vector<StoredEvent>& events) {
  engine::Recommender rec(Small(), engine::EventTypes::Defaults());
  uint64_t seq = 0;
  for (StoredEvent e : events) {
    e.seq = ++seq;
    EXPECT_TRUE(ApplyStored(e, &rec).ok());
  }
  return engine::EncodeSnapshot(rec);
}

TEST(LiveSnapshotTest, ByCountAtTheFirstBatchPastTheCountAndOnClose) {
  TempDir dir;
  const LiveStoreOptions o = Snapshots(25, 0);
  std::string before;
  {
    auto store = Open(dir.path(), o);
    // Each batch is acknowledged before the next is sent, and the model
    // thread checks the policy after each before it applies the next.
    for (int b = 0; b < 4; ++b) ASSERT_TRUE(store->Ingest(Batch(b * 10, 10)).ok());
    // A scheduled snapshot is encoded on the model thread and stored by
    // another: it is noted once stored.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (store->status().snapshots_written == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(store->status().snapshot_seq, 30u) << "first batch boundary past 25 events";
    EXPECT_EQ(store->status().snapshots_written, 1u);
    const LiveStatus status = store->status();
    ASSERT_EQ(status.snapshot_history.size(), 1u);
    const SnapshotRecord& scheduled = status.snapshot_history[0];
    EXPECT_EQ(scheduled.reason, "schedule");
    EXPECT_GT(scheduled.encode_seconds, 0.0);
    EXPECT_LE(scheduled.encode_seconds, scheduled.seconds);
    ASSERT_TRUE(store->Ingest(Batch(40, 3)).ok());
    before = State(*store);
    ASSERT_TRUE(store->Close().ok());
    EXPECT_EQ(store->status().snapshot_seq, 43u) << "a clean shutdown snapshots";
  }
  auto store = Open(dir.path(), o);
  EXPECT_EQ(store->status().recovery.snapshot_seq, 43u);
  EXPECT_EQ(store->status().recovery.replayed, 0u);
  EXPECT_EQ(State(*store), before);
}

TEST(SnapshotDueTest, SpacingWaitsForTheFactorTimesTheLastDuration) {
  StorageOptions o;
  o.snapshot_every_events = 100;
  o.snapshot_every_seconds = 60;
  o.snapshot_spacing_factor = 10;
  EXPECT_FALSE(SnapshotDue(o, 0, 1000, 0)) << "nothing new";
  EXPECT_FALSE(SnapshotDue(o, 99, 59, 0));
  EXPECT_TRUE(SnapshotDue(o, 100, 0.1, 0)) << "no snapshot encoded yet: the count decides";
  EXPECT_TRUE(SnapshotDue(o, 1, 60, 0));
  // The last snapshot took 2 s: neither trigger fires before 20 s.
  EXPECT_FALSE(SnapshotDue(o, 1000000, 19.9, 2.0));
  EXPECT_TRUE(SnapshotDue(o, 100, 20.0, 2.0));
  EXPECT_FALSE(SnapshotDue(o, 99, 20.0, 2.0));
  o.snapshot_spacing_factor = 0;
  EXPECT_TRUE(SnapshotDue(o, 100, 0.0, 2.0));
  // Its encode took 0.5 s: not before 30 x 0.5 s either.
  o.snapshot_encode_spacing_factor = 30;
  EXPECT_FALSE(SnapshotDue(o, 1000000, 14.9, 2.0, 0.5));
  EXPECT_TRUE(SnapshotDue(o, 100, 15.0, 2.0, 0.5));
  o.snapshot_spacing_factor = 10;
  EXPECT_FALSE(SnapshotDue(o, 100, 19.9, 2.0, 0.5)) << "the longer of the two waits";
  EXPECT_TRUE(SnapshotDue(o, 100, 20.0, 2.0, 0.5));
  o.snapshot_encode_spacing_factor = 0;
  EXPECT_TRUE(SnapshotDue(o, 100, 20.0, 2.0, 1000.0));
}

TEST(LiveSnapshotTest, ScheduledSnapshotsWaitForTheSpacing) {
  TempDir dir;
  LiveStoreOptions o = Snapshots(10, 0);
  // Any snapshot's duration (at least microseconds) times this is hours.
  o.store.snapshot_spacing_factor = 1e6;
  auto store = Open(dir.path(), o);
  ASSERT_TRUE(store->Ingest(Batch(0, 10)).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (store->status().snapshots_written == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(store->status().snapshots_written, 1u) << "the first waits for nothing";
  EXPECT_GT(store->status().snapshot_history.back().seconds, 0.0);
  for (int b = 1; b < 6; ++b) ASSERT_TRUE(store->Ingest(Batch(b * 10, 10)).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(store->status().snapshots_written, 1u) << "50 events past the count, within the spacing";
  EXPECT_EQ(store->status().snapshot_seq, 10u);
  // Admin snapshots are not spaced.
  std::promise<StatusOr<uint64_t>> admin;
  store->SnapshotAsync([&](StatusOr<uint64_t> r) { admin.set_value(std::move(r)); });
  const StatusOr<uint64_t> seq = admin.get_future().get();
  ASSERT_TRUE(seq.ok()) << seq.status().ToString();
  EXPECT_EQ(*seq, 60u);
  EXPECT_EQ(store->status().snapshot_seq, 60u);
}

TEST(LiveSnapshotTest, ByTimeOnlyAfterNewEvents) {
  TempDir dir;
  auto store = Open(dir.path(), Snapshots(0, 0.2));
  ASSERT_TRUE(store->Ingest(Batch(0, 5)).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (store->status().snapshot_seq == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(store->status().snapshot_seq, 5u);
  const uint64_t written = store->status().snapshots_written;
  EXPECT_EQ(written, 1u);
  // Idle: the timer passes again and again, but nothing new is to be kept.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(store->status().snapshots_written, written);
}

TEST(LiveSnapshotTest, RestartLoadsTheSnapshotAndReplaysTheLogAfterIt) {
  TempDir dir;
  const LiveStoreOptions o = Snapshots(0, 0);
  const std::vector<StoredEvent> first = Batch(0, 40), tail = Batch(40, 7);
  {
    auto store = Open(dir.path(), o);
    ASSERT_TRUE(store->Ingest(first).ok());
    ASSERT_TRUE(store->Close().ok());  // the snapshot at 40
  }
  {
    // Events logged after the snapshot and never applied by a store: what
    // a crash between a log write and the next snapshot leaves.
    auto log = EventLog::Open(dir.path(), o.store.log);
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    ASSERT_TRUE((*log)->Append(tail).ok());
  }
  auto store = Open(dir.path(), o);
  EXPECT_EQ(store->status().recovery.snapshot_seq, 40u);
  EXPECT_EQ(store->status().recovery.replayed, 7u);
  EXPECT_EQ(store->status().applied_seq, 47u);
  std::vector<StoredEvent> all = first;
  all.insert(all.end(), tail.begin(), tail.end());
  EXPECT_EQ(State(*store), Replayed(all)) << "snapshot + tail = a full replay, bit for bit";
}

// A scheduled snapshot is stored by a writer thread while the model thread
// goes on: a forget that comes meanwhile must not leave it behind holding
// the forgotten user (the forget drops every stored snapshot; one stored
// after the drop would bring the user back at the next restart).
TEST(LiveSnapshotTest, NoStoredSnapshotHoldsAForgottenUser) {
  TempDir dir;
  LiveStoreOptions o = Snapshots(1, 0);  // one after every batch
  o.store.log.snapshots_to_keep = 1000;  // so that none is pruned away
  o.store.snapshot_after_forget_seconds = 3600;
  constexpr int kRounds = 40;
  {
    auto store = Open(dir.path(), o);
    for (int round = 0; round < kRounds; ++round) {
      std::vector<StoredEvent> b = Batch(round * 20, 20);
      for (size_t k = 0; k < b.size(); k += 2) b[k].user = fmt::format("gone{}", round);
      ASSERT_TRUE(store->Ingest(b).ok());
      // The snapshot after that batch is being encoded or stored now.
      std::promise<StatusOr<uint64_t>> p;
      store->ForgetUserAsync(fmt::format("gone{}", round),
                             [&](StatusOr<uint64_t> n) { p.set_value(std::move(n)); });
      const StatusOr<uint64_t> removed = p.get_future().get();
      ASSERT_TRUE(removed.ok()) << removed.status().ToString();
      EXPECT_EQ(*removed, 10u);
      // More events after the forget, so a later snapshot is due again.
      ASSERT_TRUE(store->Ingest(Batch(10000 + round * 5, 5)).ok());
    }
    ASSERT_TRUE(store->Close().ok());
  }
  auto log = EventLog::Open(dir.path(), o.store.log);
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::string problem;
  const std::vector<uint64_t> seqs = (*log)->SnapshotSeqs(&problem);
  EXPECT_TRUE(problem.empty()) << problem;
  ASSERT_FALSE(seqs.empty()) << "at least the one written at close";
  for (const uint64_t seq : seqs) {
    StatusOr<std::string> blob = (*log)->GetSnapshot(seq);
    ASSERT_TRUE(blob.ok()) << blob.status().ToString();
    engine::Recommender rec(Small(), engine::EventTypes::Defaults());
    ASSERT_TRUE(LoadSnapshot(*blob, &rec).ok()) << "snapshot at " << seq;
    for (int round = 0; round < kRounds; ++round) {
      EXPECT_FALSE(rec.users().Find(fmt::format("gone{}", round)).has_value())
          << "the snapshot at seq " << seq << " holds gone" << round;
    }
  }
}

TEST(LiveSnapshotTest, AnInvalidEventRefusesItsWholeBatchBeforeAnythingIsLogged) {
  TempDir dir;
  auto store = Open(dir.path(), Snapshots(0, 0));
  std::vector<StoredEvent> bad = Batch(0, 3);
  bad[2].type = "teleport";
  auto r = store->Ingest(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("teleport"), std::string::npos);
  bad = Batch(0, 3);
  bad[1].type = "rating";
  bad[1].value = 99.0f;  // outside the rating range
  EXPECT_EQ(store->Ingest(bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->status().durable_seq, 0u) << "nothing of a refused batch reached the log";
}

}  // namespace
}  // namespace streamrec::storage
