// What a crash leaves in the WAL, and the opens after it. A record torn at
// the WAL's tail (a write cut off by the crash: never acknowledged) is
// dropped; the open keeps what it replayed as memtables, and the WAL file
// with them, instead of flushing them (avoid_flush_during_recovery): so the
// next open, after a second crash, replays that file again, torn tail
// included, and must still open with every event written since.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "storage/event_log.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

std::vector<StoredEvent> Batch(const std::string& tag, int n) {
  std::vector<StoredEvent> batch;
  for (int k = 0; k < n; ++k) {
    batch.push_back(
        {0, fmt::format("{}{}", tag, k), fmt::format("u{}", k % 3), "item", "view", 0, 1});
  }
  return batch;
}

// Appends each batch (one synced WAL record each) and closes without a
// flush: what the WAL holds is what a crash leaves.
void AppendAndLeave(const std::string& dir, const std::vector<std::vector<StoredEvent>>& batches) {
  auto log = EventLog::Open(dir, {});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  for (const auto& b : batches) ASSERT_TRUE((*log)->Append(b).ok());
}

// The WAL files of `dir`, oldest first.
std::vector<fs::path> WalFiles(const std::string& dir) {
  std::vector<fs::path> out;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().extension() == ".log") out.push_back(f.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Event ids in seq order.
std::vector<std::string> Ids(const EventLog& log) {
  std::vector<std::string> ids;
  EXPECT_TRUE(log.Scan(1, UINT64_MAX,
                       [&](const StoredEvent& e) {
                         ids.push_back(e.event_id);
                         return true;
                       })
                  .ok());
  return ids;
}

TEST(WalRecoveryTest, ATornTailIsDroppedAndItsFileReplayedAgainAfterASecondCrash) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(AppendAndLeave(dir.path(), {Batch("a", 20), Batch("b", 20)}));
  const std::vector<fs::path> wal = WalFiles(dir.path());
  ASSERT_FALSE(wal.empty());
  // b's record, the last, loses its end.
  fs::resize_file(wal.back(), fs::file_size(wal.back()) - 16);

  std::vector<std::string> expected;
  for (const auto& e : Batch("a", 20)) expected.push_back(e.event_id);
  {
    auto log = EventLog::Open(dir.path(), {});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    EXPECT_EQ(Ids(**log), expected);
    EXPECT_EQ((*log)->next_seq(), 21u);
    // The torn file is kept: its events are memtables, not table files.
    EXPECT_TRUE(fs::exists(wal.back()));
    ASSERT_TRUE((*log)->Append(Batch("c", 5)).ok());
  }  // the second crash: closed without a flush
  for (const auto& e : Batch("c", 5)) expected.push_back(e.event_id);
  for (int open = 0; open < 2; ++open) {
    auto log = EventLog::Open(dir.path(), {});
    ASSERT_TRUE(log.ok()) << "open " << open << ": " << log.status().ToString();
    EXPECT_EQ(Ids(**log), expected) << "open " << open;
    EXPECT_EQ((*log)->next_seq(), 26u) << "open " << open;
  }
}

}  // namespace
}  // namespace streamrec::storage
