// LiveStore's cluster mode (storage/live_store_cluster.cc) with its threads
// under load: two stores share one ordered stream and must end in the same
// state. The stream here lives in memory, so this runs in the
// ThreadSanitizer build (label concurrent), which cannot run libnats; the
// same paths over real NATS JetStream are tests/tools/cluster_test.cc's.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "storage/live_store.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::TempDir;

// A totally ordered in-memory stream with JetStream's duplicate window (by
// id, for the whole test) and per-reader cursors.
class MemoryStream {
 public:
  class Reader;
  uint64_t Append(std::string_view id, std::string_view data) {
    std::lock_guard lock(mu_);
    if (auto it = ids_.find(std::string(id)); it != ids_.end()) return it->second;
    messages_.push_back(std::string(data));
    ids_.emplace(std::string(id), messages_.size());
    cv_.notify_all();
    return messages_.size();
  }
  // Messages from seq `from` on, up to `max`, waiting up to `timeout`.
  std::vector<StreamMessage> Read(uint64_t from, size_t max, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return messages_.size() >= from; });
    std::vector<StreamMessage> out;
    for (uint64_t s = from; s <= messages_.size() && out.size() < max; ++s) {
      out.push_back({s, messages_[s - 1]});
    }
    return out;
  }
  uint64_t last() {
    std::lock_guard lock(mu_);
    return messages_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> messages_;
  std::map<std::string, uint64_t> ids_;
};

// One replica's view of the MemoryStream.
class MemoryLog final : public ReplicatedLog {
 public:
  explicit MemoryLog(MemoryStream* s) : s_(s) {}
  StatusOr<uint64_t> Append(std::string_view id, std::string_view data) override {
    return s_->Append(id, data);
  }
  size_t max_message_bytes() const override { return 64 << 10; }  // splits big batches
  Status StartReading(uint64_t from) override {
    next_ = from;
    return Status::OK();
  }
  StatusOr<std::vector<StreamMessage>> Read(size_t max, std::chrono::milliseconds t) override {
    std::vector<StreamMessage> got = s_->Read(next_, max, t);
    if (!got.empty()) next_ = got.back().seq + 1;
    return got;
  }
  StatusOr<StreamPosition> Position() override { return StreamPosition{1, s_->last()}; }
  Status Delete(uint64_t) override { return Status::Unimplemented("not here"); }
  std::string Describe() const override { return "memory"; }

 private:
  MemoryStream* s_;
  uint64_t next_ = 1;
};

engine::RecommenderOptions Small() {
  engine::RecommenderOptions o;
  o.model.rank = 8;
  o.cold_start_min_items = 2;
  o.objective = engine::Objective::kImplicit;
  return o;
}

std::unique_ptr<LiveStore> OpenReplica(const std::string& dir, MemoryStream* stream) {
  LiveStoreOptions o;
  o.store.log.durability = Durability::kProcess;
  o.training.algorithm = engine::Algorithm::kIals;
  o.training.ials.iterations = 2;
  o.cluster = std::make_shared<MemoryLog>(stream);
  auto s = LiveStore::Open(dir, o, Small(), engine::EventTypes::Defaults());
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

std::vector<StoredEvent> Batch(const std::string& prefix, int start, int n) {
  std::vector<StoredEvent> b;
  for (int k = start; k < start + n; ++k) {
    b.push_back({0, fmt::format("{}{}", prefix, k), fmt::format("u{}", k % 23),
                 fmt::format("i{}", (k * 7) % 31), k % 3 ? "click" : "view", 0.0f, 1000 + k});
  }
  return b;
}

// Waits (<= 30 s) until `s` has applied the stream through `seq`.
void WaitApplied(const LiveStore& s, uint64_t seq) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (s.status().cluster.applied_stream_seq < seq &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_GE(s.status().cluster.applied_stream_seq, seq);
}

uint64_t Checksum(const LiveStore& s) {
  return s.Read([](const Replica& r) { return ModelChecksum(*r.rec); });
}

TEST(LiveClusterTest, TwoStoresOnOneStreamEndInTheSameState) {
  TempDir da, db;
  MemoryStream stream;
  auto a = OpenReplica(da.path(), &stream);
  auto b = OpenReplica(db.path(), &stream);
  ASSERT_TRUE(a && b);
  // Writers on both at once, async and blocking; the same event ids from
  // both sides (duplicates decided in stream order) and one conflict.
  std::atomic<int> acked{0};
  auto writer = [&](LiveStore* s, int offset) {
    for (int k = 0; k < 30; ++k) {
      auto r = s->Ingest(Batch("e", (k + offset) * 20, 20));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      acked += static_cast<int>(r->accepted);
      // Read-your-writes on the replica written to.
      const uint64_t seq = r->seqs.back();
      EXPECT_GE(s->Read([](const Replica& rep) { return rep.applied_seq; }), seq);
    }
  };
  std::thread ta(writer, a.get(), 0), tb(writer, b.get(), 15);  // overlap: k 15..29
  ta.join();
  tb.join();
  EXPECT_EQ(acked.load(), 45 * 20);  // 900 distinct ids; the overlap stored once
  std::vector<StoredEvent> conflict = Batch("e", 0, 1);
  conflict[0].item = "other";
  EXPECT_EQ(b->Ingest(conflict).status().code(), StatusCode::kConflict);
  // Catalog writes and a forget through either replica.
  std::promise<Status> put;
  a->PutItemAsync("i3", engine::ItemMeta{{"books"}, false}, [&](Status st) { put.set_value(st); });
  EXPECT_TRUE(put.get_future().get().ok());
  std::promise<StatusOr<uint64_t>> forgot;
  b->ForgetUserAsync("u5", [&](StatusOr<uint64_t> n) { forgot.set_value(std::move(n)); });
  StatusOr<uint64_t> removed = forgot.get_future().get();
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_GT(*removed, 0u);
  // min_seq from the other replica.
  std::promise<Status> visible;
  a->WaitForSeqAsync(b->status().applied_seq, std::chrono::seconds(10),
                     [&](Status st) { visible.set_value(st); });
  EXPECT_TRUE(visible.get_future().get().ok());
  // A retrain requested on one, events arriving meanwhile on the other.
  ASSERT_TRUE(b->Retrain().ok());
  for (int k = 0; k < 5; ++k) ASSERT_TRUE(a->Ingest(Batch("late", k * 10, 10)).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((a->status().retrain.state == RetrainState::kRunning ||
          b->status().retrain.state == RetrainState::kRunning) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  WaitApplied(*a, stream.last());
  WaitApplied(*b, stream.last());
  EXPECT_EQ(a->status().retrain.state, RetrainState::kSucceeded) << a->status().retrain.error;
  EXPECT_EQ(b->status().retrain.state, RetrainState::kSucceeded) << b->status().retrain.error;
  EXPECT_EQ(a->status().applied_seq, b->status().applied_seq);
  EXPECT_EQ(Checksum(*a), Checksum(*b));
  // A third from empty replays the stream to the same state.
  TempDir dc;
  auto c = OpenReplica(dc.path(), &stream);
  ASSERT_TRUE(c);
  WaitApplied(*c, stream.last());
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (c->status().retrain.state == RetrainState::kRunning &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(Checksum(*c), Checksum(*a));
  EXPECT_TRUE(a->Close().ok());
  EXPECT_TRUE(b->Close().ok());
  EXPECT_TRUE(c->Close().ok());
  const uint64_t before = Checksum(*c);
  a.reset();  // releases the database
  // Reopened from their own logs and snapshots, at the stream's end.
  auto a2 = OpenReplica(da.path(), &stream);
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->status().cluster.applied_stream_seq, stream.last());
  EXPECT_EQ(Checksum(*a2), before);
}

}  // namespace
}  // namespace streamrec::storage
