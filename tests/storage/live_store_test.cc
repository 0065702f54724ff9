#include "storage/live_store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "engine/live/snapshot.h"
#include "tests/engine/recommender_fixture.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::TempDir;

engine::RecommenderOptions Small() {
  engine::RecommenderOptions o;
  o.model.rank = 8;
  o.cold_start_min_items = 2;
  return o;
}

LiveStoreOptions Fast() {
  LiveStoreOptions o;
  o.store.log.durability = Durability::kProcess;
  o.training.als.iterations = 3;
  return o;
}

StoredEvent Ev(std::string id, std::string user, std::string item, std::string type = "rating",
               float value = 4.0f, int64_t ts = 1000) {
  return {0, std::move(id), std::move(user), std::move(item), std::move(type), value, ts};
}

std::vector<StoredEvent> Batch(int start, int n) {
  std::vector<StoredEvent> b;
  for (int k = start; k < start + n; ++k) {
    b.push_back(Ev(fmt::format("e{}", k), fmt::format("u{}", k % 13), fmt::format("i{}", k % 17),
                   k % 2 ? "rating" : "click", k % 2 ? static_cast<float>(1 + k % 5) : 0.0f,
                   1000 + k));
  }
  return b;
}

std::unique_ptr<LiveStore> Open(const std::string& dir, LiveStoreOptions o = Fast()) {
  auto s = LiveStore::Open(dir, o, Small(), engine::EventTypes::Defaults());
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

std::string State(const LiveStore& s) {
  return s.Read([](const Replica& r) { return engine::EncodeSnapshot(*r.rec); });
}

TEST(LiveStoreTest, AnAcknowledgedEventIsVisibleToTheNextRead) {
  TempDir dir;
  auto store = Open(dir.path());
  for (int k = 0; k < 50; ++k) {
    auto r = store->Ingest({Ev(fmt::format("x{}", k), "alice", fmt::format("i{}", k))});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->first_seq, static_cast<uint64_t>(k + 1));
    // Read-your-writes: the very next read has it.
    store->Read([&](const Replica& rep) {
      EXPECT_EQ(rep.applied_seq, r->last_seq);
      const auto u = rep.rec->users().Find("alice");
      ASSERT_TRUE(u.has_value());
      EXPECT_EQ(rep.rec->Seen(*u).size(), static_cast<size_t>(k + 1));
    });
  }
  const LiveStatus st = store->status();
  EXPECT_EQ(st.applied_seq, 50u);
  EXPECT_EQ(st.durable_seq, 50u);
  EXPECT_EQ(st.pending_events, 0u);
  EXPECT_EQ(st.events_applied, 50u);
}

TEST(LiveStoreTest, DuplicatesConflictsAndBadEvents) {
  TempDir dir;
  auto store = Open(dir.path());
  ASSERT_TRUE(store->Ingest(Batch(0, 10)).ok());
  auto again = store->Ingest(Batch(5, 10));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->duplicates, 5u);
  EXPECT_EQ(again->accepted, 5u);
  EXPECT_EQ(store->status().events_applied, 15u);

  auto conflict = store->Ingest({Ev("e0", "someone", "else")});
  EXPECT_EQ(conflict.status().code(), StatusCode::kConflict);
  auto bad_type = store->Ingest({Ev("", "u", "i", "clik")});
  EXPECT_EQ(bad_type.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad_type.status().message().find("clik"), std::string::npos);
  auto bad_rating = store->Ingest({Ev("", "u", "i", "rating", 9.0f)});
  EXPECT_EQ(bad_rating.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Ingest({}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->status().durable_seq, 15u);  // nothing refused was logged
}

TEST(LiveStoreTest, RestartRecoversTheSameStateAndCatalog) {
  TempDir dir;
  std::string before;
  {
    auto store = Open(dir.path());
    ASSERT_TRUE(store->Ingest(Batch(0, 200)).ok());
    std::promise<Status> put;
    store->PutItemAsync("i3", {{"toys"}, true}, [&](Status s) { put.set_value(s); });
    ASSERT_TRUE(put.get_future().get().ok());
    before = State(*store);
    ASSERT_TRUE(store->Close().ok());
    EXPECT_EQ(store->Ingest(Batch(500, 1)).status().code(), StatusCode::kFailedPrecondition);
  }
  auto store = Open(dir.path());
  EXPECT_EQ(State(*store), before);
  EXPECT_EQ(store->status().recovery.snapshot_seq, 200u);  // Close() wrote one
  store->Read([](const Replica& r) {
    const engine::ItemMeta* m = r.rec->catalog().Find("i3");
    ASSERT_NE(m, nullptr);
    EXPECT_TRUE(m->hidden);
    for (const auto& s : r.rec->Popular(100)) EXPECT_NE(s.item, "i3");
  });
  std::promise<Status> del;
  store->DeleteItemAsync("i3", [&](Status s) { del.set_value(s); });
  EXPECT_TRUE(del.get_future().get().ok());
  std::promise<Status> del2;
  store->DeleteItemAsync("i3", [&](Status s) { del2.set_value(s); });
  EXPECT_EQ(del2.get_future().get().code(), StatusCode::kNotFound);
}

TEST(LiveStoreTest, ForgetUserRemovesEventsAndVectorAndSurvivesRestart) {
  TempDir dir;
  {
    auto store = Open(dir.path());
    ASSERT_TRUE(store->Ingest(Batch(0, 130)).ok());
    std::promise<StatusOr<uint64_t>> p;
    store->ForgetUserAsync("u1", [&](StatusOr<uint64_t> n) { p.set_value(std::move(n)); });
    auto removed = p.get_future().get();
    ASSERT_TRUE(removed.ok());
    EXPECT_EQ(*removed, 10u);  // u1 = events 1, 14, 27, ...
    store->Read([](const Replica& r) { EXPECT_FALSE(r.rec->users().Find("u1").has_value()); });
    std::promise<StatusOr<uint64_t>> q;
    store->ForgetUserAsync("u1", [&](StatusOr<uint64_t> n) { q.set_value(std::move(n)); });
    EXPECT_EQ(q.get_future().get().status().code(), StatusCode::kNotFound);
  }
  auto store = Open(dir.path());
  store->Read([](const Replica& r) { EXPECT_FALSE(r.rec->users().Find("u1").has_value()); });
  EXPECT_EQ(store->status().applied_seq, 130u);
  EXPECT_EQ(store->status().recovery.snapshot_seq, 130u)
      << "the delete of an unknown user keeps the snapshot written after the first";
}

TEST(LiveStoreTest, RetrainSwapsInABatchModelThatARestartKeeps) {
  TempDir dir;
  std::string after;
  {
    auto store = Open(dir.path());
    ASSERT_TRUE(store->Ingest(Batch(0, 300)).ok());
    const std::string online = State(*store);
    ASSERT_TRUE(store->Retrain().ok());
    for (int i = 0; i < 500 && store->status().retrain.state == RetrainState::kRunning; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const LiveStatus st = store->status();
    ASSERT_EQ(st.retrain.state, RetrainState::kSucceeded) << st.retrain.error;
    EXPECT_EQ(st.retrain.trained_through_seq, 300u);
    EXPECT_EQ(st.retrain.examples, 300u);  // ratings and clicks (implied ratings)
    EXPECT_EQ(st.retrain.algorithm, "als");
    after = State(*store);
    EXPECT_NE(after, online);
    EXPECT_EQ(st.snapshot_seq, 300u);
  }
  auto store = Open(dir.path());
  EXPECT_EQ(State(*store), after);
}

TEST(LiveStoreTest, ConcurrentIngestAndReadsEndInTheReplayedState) {
  TempDir dir;
  auto store = Open(dir.path());
  constexpr int kWriters = 4, kBatches = 60, kPerBatch = 5;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      uint64_t last = 0;
      while (!stop.load()) {
        store->Read([&](const Replica& r) {
          EXPECT_GE(r.applied_seq, last);  // never goes back
          last = r.applied_seq;
          (void)r.rec->RecommendForUser(fmt::format("u{}", t), engine::Req(5));
        });
        reads.fetch_add(1);
      }
    });
  }
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int b = 0; b < kBatches; ++b) {
        auto r = store->Ingest(Batch((w * kBatches + b) * kPerBatch, kPerBatch));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        // Read-your-writes from this thread too.
        EXPECT_GE(store->Read([](const Replica& rep) { return rep.applied_seq; }), r->last_seq);
      }
    });
  }
  for (auto& t : writers) t.join();
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_GT(reads.load(), 0);
  // The two copies hold the user factors and seen lists once (shared pages)
  // once the second copy has followed the last run, which comes after the
  // last acknowledgement.
  size_t alone = 0;
  for (int tries = 0; tries < 500; ++tries) {
    alone = store->Read([](const Replica& r) {
      return r.rec->model().OwnUserPages() + r.rec->seen_lists().OwnPages();
    });
    if (alone == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(alone, 0u);
  const std::string live = State(*store);
  ASSERT_TRUE(store->Close().ok());
  store.reset();  // releases the database
  // The log replayed from scratch gives the same engine, bit for bit.
  auto log = EventLog::Open(dir.path(), {});
  ASSERT_TRUE(log.ok());
  engine::Recommender replayed(Small(), engine::EventTypes::Defaults());
  auto r = Recover(**log, &replayed);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->last_seq, static_cast<uint64_t>(kWriters * kBatches * kPerBatch));
  EXPECT_EQ(engine::EncodeSnapshot(replayed), live);
}

TEST(LiveStoreTest, OverloadIsRefusedNotQueued) {
  TempDir dir;
  LiveStoreOptions o = Fast();
  o.store.log.durability = Durability::kSync;
  o.max_pending_events = 1;
  auto store = Open(dir.path(), o);
  std::atomic<int> ok{0}, refused{0}, other{0};
  std::atomic<int> answered{0};
  for (int k = 0; k < 200; ++k) {
    store->IngestAsync({Ev("", "u", fmt::format("i{}", k))}, [&](StatusOr<AppendResult> r) {
      if (r.ok()) {
        ok.fetch_add(1);
      } else if (r.status().code() == StatusCode::kResourceExhausted) {
        refused.fetch_add(1);
      } else {
        other.fetch_add(1);
      }
      answered.fetch_add(1);
    });
  }
  while (answered.load() < 200) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(other.load(), 0);
  EXPECT_GE(ok.load(), 1);
  EXPECT_EQ(store->status().durable_seq, static_cast<uint64_t>(ok.load()));
  EXPECT_EQ(store->status().pending_events, 0u);
}

}  // namespace
}  // namespace streamrec::storage
