// LiveStore's cluster mode (storage/live_store_cluster.cc) with its threads
// under load: two stores share one ordered stream and must end in the same
// state. The stream here lives in memory, so this runs in the
// ThreadSanitizer build (label concurrent), which cannot run libnats; the
// same paths over real NATS JetStream are tests/tools/cluster_test.cc's.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "storage/live_store.h"
#include "storage/replica_image.h"
#include "storage/stream_record.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::TempDir;

// A totally ordered in-memory stream with JetStream's duplicate window (by
// id, for the whole test), trims, images, and per-reader cursors.
class MemoryStream {
 public:
  uint64_t Append(std::string_view id, std::string_view data) {
    std::lock_guard lock(mu_);
    if (auto it = ids_.find(std::string(id)); it != ids_.end()) return it->second;
    messages_.push_back(std::string(data));
    ids_.emplace(std::string(id), messages_.size());
    cv_.notify_all();
    return messages_.size();
  }
  // Messages from seq `from` on, up to `max`, waiting up to `timeout`;
  // FailedPrecondition if `from` was trimmed.
  StatusOr<std::vector<StreamMessage>> Read(uint64_t from, size_t max,
                                            std::chrono::milliseconds timeout) {
    if (hold_reads.load()) {  // a consumer that delivers nothing
      std::this_thread::sleep_for(timeout);
      return std::vector<StreamMessage>();
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return messages_.size() >= from; });
    if (hold_reads.load()) return std::vector<StreamMessage>();  // held meanwhile
    if (from <= trimmed_) return Status::FailedPrecondition("trimmed");
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
  uint64_t first() {
    std::lock_guard lock(mu_);
    return messages_.empty() ? 0 : trimmed_ + 1;
  }
  // Tests: reads deliver nothing (as a consumer being recreated after its
  // node died) while set; appends are stored as usual.
  std::atomic<bool> hold_reads{false};
  // Tests: trims fail (as when the stream has no leader) while set.
  std::atomic<bool> fail_trims{false};
  Status Trim(uint64_t seq) {
    if (fail_trims.load()) return Status::Unavailable("no leader");
    std::lock_guard lock(mu_);
    trimmed_ = std::max(trimmed_, std::min<uint64_t>(seq, messages_.size()));
    for (uint64_t s = 1; s <= trimmed_; ++s) messages_[s - 1].clear();  // gone
    return Status::OK();
  }
  // The messages still held.
  std::vector<std::string> Held() {
    std::lock_guard lock(mu_);
    return {messages_.begin() + static_cast<std::ptrdiff_t>(trimmed_), messages_.end()};
  }
  using Files = std::map<std::string, std::string>;
  void PutImage(uint64_t seq, Files files) {
    std::lock_guard lock(mu_);
    images_[seq] = std::move(files);
  }
  std::optional<std::pair<uint64_t, Files>> Image(uint64_t seq) {  // 0: the newest
    std::lock_guard lock(mu_);
    if (images_.empty()) return std::nullopt;
    auto it = seq == 0 ? std::prev(images_.end()) : images_.find(seq);
    if (it == images_.end()) return std::nullopt;
    return *it;
  }
  void DropImagesBefore(uint64_t seq) {
    std::lock_guard lock(mu_);
    images_.erase(images_.begin(), images_.lower_bound(seq));
  }
  size_t images() {
    std::lock_guard lock(mu_);
    return images_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> messages_;
  uint64_t trimmed_ = 0;
  std::map<std::string, uint64_t> ids_;
  std::map<uint64_t, Files> images_;
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
    if (s_->first() > from) return Status::FailedPrecondition("trimmed");
    next_ = from;
    return Status::OK();
  }
  StatusOr<std::vector<StreamMessage>> Read(size_t max, std::chrono::milliseconds t) override {
    StatusOr<std::vector<StreamMessage>> got = s_->Read(next_, max, t);
    if (got.ok() && !got->empty()) next_ = got->back().seq + 1;
    return got;
  }
  StatusOr<StreamPosition> Position() override { return StreamPosition{s_->first(), s_->last()}; }
  Status Delete(uint64_t) override { return Status::Unimplemented("not here"); }
  std::string Describe() const override { return "memory"; }
  Status Trim(uint64_t seq) override { return s_->Trim(seq); }
  Status WaitForReaders(uint64_t, std::chrono::milliseconds) override { return Status::OK(); }
  Status PutImage(uint64_t seq, const std::string& dir) override {
    MemoryStream::Files files;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(e.path(), std::ios::binary);
      files[e.path().filename().string()] = {std::istreambuf_iterator<char>(in), {}};
    }
    s_->PutImage(seq, std::move(files));
    return Status::OK();
  }
  StatusOr<std::optional<StreamImage>> LatestImage() override {
    auto image = s_->Image(0);
    if (!image) return std::optional<StreamImage>();
    return std::optional<StreamImage>(StreamImage{image->first, image->second.size(), 0});
  }
  Status GetImage(uint64_t seq, const std::string& dir) override {
    auto image = s_->Image(seq);
    if (!image) return Status::NotFound("no image");
    std::filesystem::create_directory(dir);
    for (const auto& [name, bytes] : image->second) {
      std::ofstream(std::filesystem::path(dir) / name, std::ios::binary) << bytes;
    }
    return Status::OK();
  }
  Status DropImagesBefore(uint64_t seq) override {
    s_->DropImagesBefore(seq);
    return Status::OK();
  }

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

// Opens a replica as `serve` does: loading the newest image first if the
// stream was trimmed past its position (unless `load_image` is false).
std::unique_ptr<LiveStore> OpenReplica(
    const std::string& dir, MemoryStream* stream, bool load_image = true,
    std::chrono::milliseconds take_in_wait = std::chrono::milliseconds(10000)) {
  LiveStoreOptions o;
  o.cluster_take_in_wait = take_in_wait;
  o.store.log.durability = Durability::kProcess;
  o.training.algorithm = engine::Algorithm::kIals;
  o.training.ials.iterations = 2;
  o.cluster = std::make_shared<MemoryLog>(stream);
  if (load_image) {
    StatusOr<ImageLoad> loaded = LoadImageIfBehind(o.cluster.get(), dir, o.store.log);
    EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  }
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

// Events of `user` in the events records of `messages`.
size_t CountUserEvents(const std::vector<std::string>& messages, const std::string& user) {
  size_t n = 0;
  for (const std::string& m : messages) {
    StreamRecord r;
    if (!DecodeRecord(m, &r).ok() || r.kind != RecordKind::kEvents) continue;
    for (const auto& batch : r.batches) {
      for (const StoredEvent& e : batch) n += e.user == user;
    }
  }
  return n;
}

// Forgets `user` through `s` and waits for the answer.
StatusOr<uint64_t> Forget(LiveStore* s, const std::string& user) {
  std::promise<StatusOr<uint64_t>> p;
  s->ForgetUserAsync(user, [&](StatusOr<uint64_t> n) { p.set_value(std::move(n)); });
  return p.get_future().get();
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
  StatusOr<uint64_t> removed = Forget(b.get(), "u5");
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_GT(*removed, 0u);
  // Answered only once the user's events are out of the stream: an image
  // stored, the stream trimmed through the forget record.
  const ClusterStatus after_forget = b->status().cluster;
  EXPECT_EQ(after_forget.images.stored, 1u);
  EXPECT_GT(after_forget.images.trimmed_through, 0u);
  EXPECT_GE(after_forget.images.last_seq, after_forget.images.trimmed_through);
  EXPECT_EQ(stream.first(), after_forget.images.trimmed_through + 1);
  EXPECT_EQ(stream.images(), 1u);
  EXPECT_EQ(CountUserEvents(stream.Held(), "u5"), 0u);
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
  // A third from empty loads the image (the stream no longer starts at 1)
  // and replays the rest, retrain included, to the same state.
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

// A batch the stream stored while this replica's consumer delivers nothing
// is answered Unavailable after the take-in wait, not held without bound;
// it is applied once the consumer delivers again, and a retry with the
// same event ids is a duplicate.
TEST(LiveClusterTest, AStoredBatchNotTakenInInTimeIsAnswered503AndAppliedLater) {
  TempDir d;
  MemoryStream stream;
  auto a = OpenReplica(d.path(), &stream, true, std::chrono::milliseconds(300));
  ASSERT_TRUE(a);
  auto first = a->Ingest(Batch("e", 0, 10));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  stream.hold_reads = true;
  const auto started = std::chrono::steady_clock::now();
  // Without the bound the Ingest would wait for the consumer: released
  // after 5 s so that it fails rather than hangs.
  std::atomic<bool> answered{false};
  std::thread release([&] {
    while (!answered.load() &&
           std::chrono::steady_clock::now() - started < std::chrono::seconds(5)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stream.hold_reads = false;
  });
  auto held = a->Ingest(Batch("h", 0, 10));
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(a->status().cluster.applied_stream_seq, 1u);
  answered = true;
  release.join();
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(held.status().message().find("stored in the cluster's stream"), std::string::npos)
      << held.status().ToString();
  EXPECT_GE(waited, 0.3);
  EXPECT_LT(waited, 5.0);
  EXPECT_EQ(stream.last(), 2u);  // stored all the same
  WaitApplied(*a, 2);
  EXPECT_EQ(a->Read([](const Replica& r) { return r.applied_seq; }), 20u);
  EXPECT_EQ(a->status().pending_events, 0u);
  auto retry = a->Ingest(Batch("h", 0, 10));
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(retry->accepted, 0u);
  EXPECT_EQ(retry->duplicates, 10u);
  EXPECT_EQ(a->Read([](const Replica& r) { return r.applied_seq; }), 20u);
}

TEST(LiveClusterTest, AReplicaBehindATrimStopsAndCatchesUpFromTheImage) {
  TempDir da, db;
  MemoryStream stream;
  auto a = OpenReplica(da.path(), &stream);
  auto b = OpenReplica(db.path(), &stream);
  ASSERT_TRUE(a && b);
  for (int k = 0; k < 10; ++k) ASSERT_TRUE(a->Ingest(Batch("e", k * 20, 20)).ok());
  WaitApplied(*b, stream.last());
  // b goes down; a forgets a user and trims the stream past b's position.
  ASSERT_TRUE(b->Close().ok());
  b.reset();
  for (int k = 10; k < 15; ++k) ASSERT_TRUE(a->Ingest(Batch("e", k * 20, 20)).ok());
  ASSERT_TRUE(Forget(a.get(), "u3").ok());
  EXPECT_EQ(CountUserEvents(stream.Held(), "u3"), 0u);
  // (u3 comes back with new events: a new user, after the delete.)
  for (int k = 15; k < 20; ++k) ASSERT_TRUE(a->Ingest(Batch("e", k * 20, 20)).ok());
  // Started without the image, b cannot go on: it says so and refuses
  // writes, its state untouched.
  auto stale = OpenReplica(db.path(), &stream, /*load_image=*/false);
  ASSERT_TRUE(stale);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!stale->status().cluster.behind_trim && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(stale->status().cluster.behind_trim);
  EXPECT_EQ(stale->Ingest(Batch("x", 0, 3)).status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE(stale->Close().ok());
  stale.reset();
  // Restarted as serve does: the image replaces its database (u3 gone
  // with it), the rest comes from the stream, and it agrees with a.
  auto b2 = OpenReplica(db.path(), &stream);
  ASSERT_TRUE(b2);
  WaitApplied(*b2, stream.last());
  WaitApplied(*a, stream.last());
  EXPECT_FALSE(b2->status().cluster.behind_trim);
  EXPECT_EQ(b2->status().applied_seq, a->status().applied_seq);
  EXPECT_EQ(Checksum(*b2), Checksum(*a));
  EXPECT_TRUE(a->Close().ok());
  EXPECT_TRUE(b2->Close().ok());
}

TEST(LiveClusterTest, ADeleteWhoseTrimFailedIsTrimmedByTheRetry) {
  TempDir da, db;
  MemoryStream stream;
  auto a = OpenReplica(da.path(), &stream);
  auto b = OpenReplica(db.path(), &stream);
  ASSERT_TRUE(a && b);
  for (int k = 0; k < 10; ++k) ASSERT_TRUE(a->Ingest(Batch("e", k * 20, 20)).ok());
  // The stream cannot be trimmed: the user is forgotten everywhere, but
  // the DELETE says the stream still holds their events (503).
  stream.fail_trims = true;
  StatusOr<uint64_t> first = Forget(a.get(), "u4");
  EXPECT_EQ(first.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(first.status().message().find("could not yet be taken out"), std::string::npos)
      << first.status().ToString();
  const uint64_t pending = a->status().cluster.images.pending_trim;
  EXPECT_GT(pending, 0u);
  EXPECT_GT(CountUserEvents(stream.Held(), "u4"), 0u);
  // Its replica goes before its own retry; the client sends the DELETE
  // again, to the other replica: the user is unknown there (404), and the
  // earlier forget is trimmed before that answer.
  ASSERT_TRUE(a->Close().ok());
  a.reset();
  stream.fail_trims = false;
  StatusOr<uint64_t> again = Forget(b.get(), "u4");
  EXPECT_EQ(again.status().code(), StatusCode::kNotFound) << again.status().ToString();
  EXPECT_EQ(CountUserEvents(stream.Held(), "u4"), 0u);
  EXPECT_GT(stream.first(), pending);
  EXPECT_EQ(b->status().cluster.images.stored, 1u);
  // Another unknown user, with nothing left to trim: no image.
  EXPECT_EQ(Forget(b.get(), "nobody").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(b->status().cluster.images.stored, 1u);
  EXPECT_TRUE(b->Close().ok());
}

}  // namespace
}  // namespace streamrec::storage
