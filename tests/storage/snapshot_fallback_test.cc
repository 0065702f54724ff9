// Recovery from damaged snapshots (the previous snapshot, then a full
// replay) and VerifyDatabase, on a real RocksDB with flipped bytes.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/sst_file_reader.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "engine/core/random.h"
#include "engine/live/snapshot.h"
#include "storage/live_store.h"
#include "storage/recovery.h"
#include "storage/verify.h"
#include "tests/storage/raw_db.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::RawFamilies;
using testing::TempDir;
using testing::WithRawDb;
namespace fs = std::filesystem;

engine::RecommenderOptions Options() {
  engine::RecommenderOptions o;
  o.model.rank = 8;
  return o;
}

// n events over 2000 users and 50 items, so a snapshot is tens of KB.
std::vector<StoredEvent> Stream(size_t n) {
  engine::SplitMix64 rng(7);
  std::vector<StoredEvent> out;
  for (size_t k = 0; k < n; ++k) {
    out.push_back({0, fmt::format("e{}", k), fmt::format("u{}", rng.Uniform(2000)),
                   fmt::format("i{}", rng.Uniform(50)), "rating",
                   static_cast<float>(1 + rng.Uniform(5)), 1'700'000'000'000 + int64_t(k)});
  }
  return out;
}

// 3000 events, snapshots after 1500 and 3000, each flushed into its own
// table file (PutSnapshot flushes the model family; the events are flushed
// once at the end: a flush after each snapshot would also write a file of
// just the range deletions its listing left in the memtable, and four
// level-0 files start a compaction that merges the two snapshots into one).
void Build(const std::string& dir) {
  auto log = EventLog::Open(dir, {});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  const auto events = Stream(3000);
  const engine::EventTypes types = engine::EventTypes::Defaults();
  engine::Recommender rec(Options(), types);
  for (size_t cut : {1500u, 3000u}) {
    const size_t from = cut - 1500;
    ASSERT_TRUE((*log)->Append(std::span(events).subspan(from, 1500)).ok());
    for (size_t k = from; k < cut; ++k) {
      StoredEvent e = events[k];
      e.seq = k + 1;
      ASSERT_TRUE(ApplyStored(e, &rec).ok());
    }
    ASSERT_TRUE(WriteSnapshot(log->get(), rec, cut).ok());
  }
  ASSERT_TRUE((*log)->Flush().ok());
}

// The engine state a full replay of `log` gives.
std::string FullReplay(const EventLog& log) {
  engine::Recommender full(Options(), engine::EventTypes::Defaults());
  EXPECT_TRUE(log.Scan(1, UINT64_MAX,
                       [&](const StoredEvent& e) {
                         EXPECT_TRUE(ApplyStored(e, &full).ok());
                         return true;
                       })
                  .ok());
  return engine::EncodeSnapshot(full);
}

// Rewrites the snapshot at `seq` with one byte flipped (an intact table
// block holding damaged snapshot bytes).
void DamageBlob(EventLog* log, uint64_t seq) {
  StatusOr<std::string> blob = log->GetSnapshot(seq);
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  std::string bad = *blob;
  bad[bad.size() / 2] ^= 0x10;
  ASSERT_TRUE(log->PutSnapshot(seq, bad).ok());
}

// Flips bytes a third of the way into the table file of the model column
// family that holds the snapshot at `seq` (in its chunk's data block).
void DamageTableOf(const std::string& dir, uint64_t seq) {
  std::vector<rocksdb::LiveFileMetaData> files;
  ASSERT_NO_FATAL_FAILURE(WithRawDb(
      dir, [&](rocksdb::DB* db, RawFamilies&) { db->GetLiveFilesMetaData(&files); },
      /*read_only=*/true));
  std::string path;
  for (const auto& f : files) {
    if (f.column_family_name != "model") continue;
    // The file that holds the snapshot's bytes (its range may be wider: the
    // range deletions of an earlier listing are flushed with it).
    rocksdb::SstFileReader reader{rocksdb::Options()};
    ASSERT_TRUE(reader.Open(f.db_path + "/" + f.name).ok());
    std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(rocksdb::ReadOptions()));
    std::vector<std::string> keys;
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
    // A snapshot's keys are its header (SeqKey) and its chunks (SeqKey and
    // a 4-byte index).
    const auto ours = [&](const std::string& k) { return k.starts_with(SeqKey(seq)); };
    if (keys.empty() || !std::all_of(keys.begin(), keys.end(), ours)) {
      ASSERT_EQ(std::count_if(keys.begin(), keys.end(), ours), 0)
          << "the snapshot at " << seq << " shares " << f.name << " with another";
      continue;
    }
    ASSERT_TRUE(path.empty()) << "the snapshot at " << seq << " is in two files";
    path = f.db_path + "/" + f.name;
  }
  ASSERT_FALSE(path.empty()) << "no table file holds the snapshot at " << seq;
  const auto size = fs::file_size(path);
  std::fstream io(path, std::ios::in | std::ios::out | std::ios::binary);
  io.seekp(static_cast<std::streamoff>(size / 3));
  const std::string junk(64, '\x5a');
  io.write(junk.data(), junk.size());
}

TEST(SnapshotFallbackTest, DamagedNewestSnapshotFallsBackToThePreviousOne) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Build(dir.path()));
  auto log = EventLog::Open(dir.path(), {});
  ASSERT_TRUE(log.ok());
  ASSERT_NO_FATAL_FAILURE(DamageBlob(log->get(), 3000));
  engine::Recommender rec(Options(), engine::EventTypes::Defaults());
  auto r = Recover(**log, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->snapshot_seq, 1500u);
  EXPECT_EQ(r->replayed, 1500u);
  EXPECT_NE(r->snapshot_skipped.find("snapshot at seq 3000"), std::string::npos)
      << r->snapshot_skipped;
  EXPECT_TRUE(engine::EncodeSnapshot(rec) == FullReplay(**log));
}

TEST(SnapshotFallbackTest, EverySnapshotDamagedReplaysTheWholeLog) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Build(dir.path()));
  auto log = EventLog::Open(dir.path(), {});
  ASSERT_TRUE(log.ok());
  ASSERT_NO_FATAL_FAILURE(DamageBlob(log->get(), 3000));
  ASSERT_NO_FATAL_FAILURE(DamageBlob(log->get(), 1500));
  engine::Recommender rec(Options(), engine::EventTypes::Defaults());
  auto r = Recover(**log, &rec);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->snapshot_seq, 0u);
  EXPECT_EQ(r->replayed, 3000u);
  EXPECT_NE(r->snapshot_skipped.find("seq 3000"), std::string::npos) << r->snapshot_skipped;
  EXPECT_NE(r->snapshot_skipped.find("seq 1500"), std::string::npos) << r->snapshot_skipped;
  const VerifyReport v = VerifyDatabase(**log, Options(), engine::EventTypes::Defaults());
  EXPECT_EQ(v.problems.size(), 2u);
}

TEST(SnapshotFallbackTest, UnreadableSnapshotBlockFallsBackAndStartupGoesOn) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Build(dir.path()));
  ASSERT_NO_FATAL_FAILURE(DamageTableOf(dir.path(), 3000));
  {
    auto log = EventLog::Open(dir.path(), {});
    ASSERT_TRUE(log.ok()) << log.status().ToString();
    engine::Recommender rec(Options(), engine::EventTypes::Defaults());
    auto r = Recover(**log, &rec);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->snapshot_seq, 1500u) << r->snapshot_skipped;
    EXPECT_EQ(r->last_seq, 3000u);
    EXPECT_NE(r->snapshot_skipped.find("Corruption"), std::string::npos) << r->snapshot_skipped;
    EXPECT_TRUE(engine::EncodeSnapshot(rec) == FullReplay(**log));
    // The full scan names the damage.
    const VerifyReport v = VerifyDatabase(**log, Options(), engine::EventTypes::Defaults());
    ASSERT_FALSE(v.problems.empty());
    EXPECT_NE(v.problems[0].find("checksum"), std::string::npos) << v.problems[0];
    EXPECT_EQ(v.events, 3000u);
  }
  // The server starts and says what it skipped.
  LiveStoreOptions o;
  auto store = LiveStore::Open(dir.path(), o, Options(), engine::EventTypes::Defaults());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const LiveStatus st = (*store)->status();
  EXPECT_EQ(st.recovery.snapshot_seq, 1500u);
  EXPECT_EQ(st.applied_seq, 3000u);
  EXPECT_FALSE(st.recovery.snapshot_skipped.empty());
}

TEST(SnapshotFallbackTest, VerifyPassesAnIntactDatabase) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Build(dir.path()));
  auto log = EventLog::Open(dir.path(), {});
  ASSERT_TRUE(log.ok());
  const VerifyReport v = VerifyDatabase(**log, Options(), engine::EventTypes::Defaults());
  EXPECT_TRUE(v.problems.empty()) << v.problems[0];
  EXPECT_EQ(v.events, 3000u);
  EXPECT_EQ(v.snapshots, 2u);
  // Under other settings the snapshots are checked by their checksum only.
  engine::RecommenderOptions other = Options();
  other.model.rank = 4;
  const VerifyReport w = VerifyDatabase(**log, other, engine::EventTypes::Defaults());
  EXPECT_TRUE(w.problems.empty());
  EXPECT_EQ(w.snapshots_foreign, 2u);
}

}  // namespace
}  // namespace streamrec::storage
