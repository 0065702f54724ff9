// Deletes on a real RocksDB: a deleted user's bytes leave every file of
// the data directory within the purge delay, and delete churn does not
// grow the directory (no snapshot per delete, old snapshots and WAL files
// reclaimed while running).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "engine/live/snapshot.h"
#include "storage/live_store.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

engine::RecommenderOptions Engine(int rank) {
  engine::RecommenderOptions o;
  o.model.rank = rank;
  return o;
}

LiveStoreOptions Options(double after_forget) {
  LiveStoreOptions o;
  o.store.log.purge_delay_seconds = 0.2;
  o.store.snapshot_after_forget_seconds = after_forget;
  return o;
}

std::unique_ptr<LiveStore> Open(const std::string& dir, int rank = 8, double after_forget = 0.2) {
  auto s = LiveStore::Open(dir, Options(after_forget), Engine(rank),
                           engine::EventTypes::Defaults());
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

StoredEvent Ev(std::string id, std::string user, std::string item) {
  return {0, std::move(id), std::move(user), std::move(item), "rating", 4.0f, 1000};
}

StatusOr<uint64_t> Forget(LiveStore* s, const std::string& user) {
  std::promise<StatusOr<uint64_t>> p;
  s->ForgetUserAsync(user, [&](StatusOr<uint64_t> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

StatusOr<uint64_t> Snapshot(LiveStore* s) {
  std::promise<StatusOr<uint64_t>> p;
  s->SnapshotAsync([&](StatusOr<uint64_t> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

// The files of `dir` that contain `needle`. The open database's background
// jobs delete files while this walks the directory: a file gone between
// listing and reading holds nothing.
std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& f = *it;
    std::error_code type_ec;
    if (!f.is_regular_file(type_ec)) continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    if (s.str().find(needle) != std::string::npos) out.push_back(f.path().filename().string());
  }
  return out;
}

// Bytes under `dir`; a file deleted while this walks counts as 0.
uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code size_ec;
    const uintmax_t size = it->is_regular_file(size_ec) ? fs::file_size(it->path(), size_ec) : 0;
    if (!size_ec) n += size;
  }
  return n;
}

TEST(PurgeTest, DeletedUserLeavesNoByteInAnyFileWithinThePurgeDelay) {
  TempDir dir;
  const std::string secret = "secret-user-xyz";
  {
    auto store = Open(dir.path());
    std::vector<StoredEvent> b;
    for (int k = 0; k < 40; ++k) {
      b.push_back(Ev(fmt::format("s{}", k), secret, fmt::format("i{}", k % 9)));
      b.push_back(Ev(fmt::format("o{}", k), fmt::format("other{}", k % 5), fmt::format("i{}", k)));
    }
    ASSERT_TRUE(store->Ingest(b).ok());
    ASSERT_TRUE(Snapshot(store.get()).ok());
    ASSERT_TRUE(store->Close().ok());  // snapshot and flush: table files
  }
  auto store = Open(dir.path());
  // More of theirs in the WAL and memtables only.
  ASSERT_TRUE(store->Ingest({Ev("s-late", secret, "i1"), Ev("o-late", "other1", "i2")}).ok());
  ASSERT_TRUE(Snapshot(store.get()).ok());
  ASSERT_FALSE(FilesContaining(dir.path(), secret).empty()) << "the test would prove nothing";
  auto removed = Forget(store.get(), secret);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 41u);
  // The bound: the purge delay, plus the purge itself (a flush and a few
  // compactions of a small database).
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  std::vector<std::string> left = FilesContaining(dir.path(), secret);
  while ((!left.empty() || store->status().store.purges == 0) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    left = FilesContaining(dir.path(), secret);
  }
  EXPECT_TRUE(left.empty()) << "still in: " << fmt::format("{}", fmt::join(left, ", "));
  EXPECT_GE(store->status().store.purges, 1u);
  EXPECT_EQ(store->status().store.last_purge_error, "");
  // Everyone else is all there, after a restart too.
  ASSERT_TRUE(store->Close().ok());
  store.reset();
  store = Open(dir.path());
  store->Read([&](const Replica& r) {
    EXPECT_FALSE(r.rec->users().Find(secret).has_value());
    EXPECT_TRUE(r.rec->users().Find("other1").has_value());
    EXPECT_EQ(r.applied_seq, 82u);
  });
  EXPECT_TRUE(FilesContaining(dir.path(), secret).empty());
}

TEST(PurgeTest, DeleteChurnKeepsTheDirectoryBoundedAndRestartsRight) {
  TempDir dir;
  // At most one snapshot per after_forget seconds, whatever the number of
  // deletes in them.
  constexpr double kAfterForget = 1.0;
  auto store = Open(dir.path(), /*rank=*/32, kAfterForget);
  // A model of 8000 users: a snapshot of a few MB.
  for (int start = 0; start < 24000; start += 4000) {
    std::vector<StoredEvent> b;
    for (int k = start; k < start + 4000; ++k) {
      b.push_back(
          Ev(fmt::format("p{}", k), fmt::format("u{}", k % 8000), fmt::format("i{}", k % 300)));
    }
    ASSERT_TRUE(store->Ingest(std::move(b)).ok());
  }
  ASSERT_TRUE(Snapshot(store.get()).ok());
  const uint64_t snapshot_bytes =
      store->Read([](const Replica& r) { return engine::EncodeSnapshot(*r.rec).size(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const uint64_t before = DirBytes(dir.path());
  const uint64_t written_before = store->status().snapshots_written;
  const auto churn_start = Clock::now();
  // POST one event for user N, DELETE user N, 150 times.
  for (int n = 0; n < 150; ++n) {
    const std::string user = fmt::format("churn{}", n);
    ASSERT_TRUE(store->Ingest({Ev(fmt::format("c{}", n), user, "i1")}).ok());
    auto removed = Forget(store.get(), user);
    ASSERT_TRUE(removed.ok()) << removed.status().ToString();
    ASSERT_EQ(*removed, 1u);
  }
  // Once the last purge and the coalesced snapshot are done.
  const uint64_t bound = before + 3 * snapshot_bytes;
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  uint64_t after = DirBytes(dir.path());
  while ((after > bound || store->status().snapshot_seq == 0) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    after = DirBytes(dir.path());
  }
  EXPECT_LE(after, bound) << "before " << before << ", snapshot " << snapshot_bytes;
  const LiveStatus st = store->status();
  // One per delete would be 150; sharing allows one per kAfterForget of the
  // churn (however slow the build, e.g. under TSan) and the last one.
  const double churn_seconds = std::chrono::duration<double>(Clock::now() - churn_start).count();
  const uint64_t written = st.snapshots_written - written_before;
  EXPECT_LE(written, 2 + static_cast<uint64_t>(churn_seconds / kAfterForget))
      << "deletes must share snapshots (" << churn_seconds << " s)";
  EXPECT_GT(st.snapshot_seq, 0u) << "the coalesced snapshot after the deletes";
  ASSERT_TRUE(store->Close().ok());
  store.reset();
  store = Open(dir.path(), 32);
  store->Read([&](const Replica& r) {
    EXPECT_GE(r.applied_seq, 24000u);
    EXPECT_FALSE(r.rec->users().Find("churn7").has_value());
    EXPECT_FALSE(r.rec->users().Find("churn149").has_value());
    EXPECT_TRUE(r.rec->users().Find("u7").has_value());
  });
}

}  // namespace
}  // namespace streamrec::storage
