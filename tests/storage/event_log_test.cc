#include "storage/event_log.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/table_properties.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "storage/event_codec.h"
#include "tests/storage/raw_db.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::RawFamilies;
using testing::TempDir;
using testing::WithRawDb;

StoredEvent Ev(std::string id, std::string user, std::string item, float value = 0.0f,
            std::string type = "view", int64_t ts = 1000) {
  return {0, std::move(id), std::move(user), std::move(item), std::move(type), value, ts};
}

std::vector<StoredEvent> All(const EventLog& log) {
  std::vector<StoredEvent> out;
  EXPECT_TRUE(log.Scan(1, UINT64_MAX,
                       [&](const StoredEvent& e) {
                         out.push_back(e);
                         return true;
                       })
                  .ok());
  return out;
}

std::unique_ptr<EventLog> OpenOrDie(const std::string& dir, EventLogOptions o = {}) {
  auto log = EventLog::Open(dir, o);
  EXPECT_TRUE(log.ok()) << log.status().ToString();
  return log.ok() ? std::move(log).value() : nullptr;
}

// Writes `kv` straight into the family `family` of the closed database at
// `dir`, past EventLog: what a crash or a future build leaves there.
void PutRaw(const std::string& dir, const std::string& family,
            const std::vector<std::pair<std::string, std::string>>& kv) {
  WithRawDb(dir, [&](rocksdb::DB* db, RawFamilies& cf) {
    ASSERT_TRUE(cf.count(family)) << "no family " << family;
    for (const auto& [key, value] : kv) {
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cf[family], key, value).ok());
    }
  });
}

TEST(EventLogTest, AppendAssignsConsecutiveSeqsAndScansInOrder) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  ASSERT_EQ(log->next_seq(), 1u);
  std::vector<StoredEvent> b1 = {Ev("", "u1", "i1"), Ev("", "u2", "i2", 4.5f, "rating", -5)};
  auto r1 = log->Append(b1);
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_EQ(r1->accepted, 2u);
  EXPECT_EQ(r1->first_seq, 1u);
  EXPECT_EQ(r1->last_seq, 2u);
  std::vector<StoredEvent> b2 = {Ev("", "u3", "i3")};
  auto r2 = log->Append(b2);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->first_seq, 3u);
  const auto all = All(*log);
  ASSERT_EQ(all.size(), 3u);
  for (size_t n = 0; n < all.size(); ++n) EXPECT_EQ(all[n].seq, n + 1);
  EXPECT_EQ(all[1].user, "u2");
  EXPECT_EQ(all[1].type, "rating");
  EXPECT_EQ(all[1].value, 4.5f);
  EXPECT_EQ(all[1].ts_ms, -5);
  // A bounded scan.
  std::vector<uint64_t> seqs;
  ASSERT_TRUE(log->Scan(2, 2,
                        [&](const StoredEvent& e) {
                          seqs.push_back(e.seq);
                          return true;
                        })
                  .ok());
  EXPECT_EQ(seqs, std::vector<uint64_t>{2});
}

TEST(EventLogTest, DuplicateIdSamePayloadIsReportedNotStored) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  std::vector<StoredEvent> b = {Ev("e1", "u", "i"), Ev("e2", "u", "j")};
  ASSERT_TRUE(log->Append(b).ok());
  std::vector<StoredEvent> retry = {Ev("e2", "u", "j"), Ev("e3", "u", "k"), Ev("e3", "u", "k")};
  auto r = log->Append(retry);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 1u);
  EXPECT_EQ(r->duplicates, 2u);
  EXPECT_EQ(r->seqs, (std::vector<uint64_t>{2, 3, 3}));
  EXPECT_EQ(r->duplicate, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(All(*log).size(), 3u);
  // A batch of nothing but duplicates writes nothing and moves no seq.
  auto again = log->Append(retry);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->accepted, 0u);
  EXPECT_EQ(again->first_seq, 0u);
  EXPECT_EQ(log->next_seq(), 4u);
}

TEST(EventLogTest, DuplicatesAreFoundInTableFilesAndMemtablesAlike) {
  // An append looks up its batch's event ids at once (one MultiGet): ids in
  // a flushed table file, in the memtable, new ones, one repeated within
  // the batch, and one stored with another payload, in one batch.
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  std::vector<StoredEvent> old_ones, recent;
  for (int n = 0; n < 100; ++n) old_ones.push_back(Ev(fmt::format("old{}", n), "u", "i"));
  ASSERT_TRUE(log->Append(old_ones).ok());
  ASSERT_TRUE(log->Flush().ok());  // seqs 1-100 in a table file
  for (int n = 0; n < 50; ++n) recent.push_back(Ev(fmt::format("new{}", n), "v", "j"));
  ASSERT_TRUE(log->Append(recent).ok());  // seqs 101-150 in the memtable
  std::vector<StoredEvent> mixed = {Ev("old7", "u", "i"), Ev("fresh", "w", "k"),
                                    Ev("new3", "v", "j"), Ev("fresh", "w", "k"),
                                    Ev("old99", "u", "i")};
  auto r = log->Append(mixed);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->seqs, (std::vector<uint64_t>{8, 151, 104, 151, 100}));
  EXPECT_EQ(r->duplicate, (std::vector<bool>{true, false, true, true, true}));
  EXPECT_EQ(r->accepted, 1u);
  // Another payload under a stored id, in either place: the batch refused.
  for (const char* id : {"old3", "new4"}) {
    std::vector<StoredEvent> clash = {Ev("other", "x", "y"), Ev(id, "u", "elsewhere")};
    auto c = log->Append(clash);
    EXPECT_EQ(c.status().code(), StatusCode::kConflict) << id;
  }
  EXPECT_EQ(log->next_seq(), 152u);
}

TEST(EventLogTest, OneGroupOfSeveralBatchesIndexesEveryUsersEventsAndEventId) {
  // One AppendBatches call is one group commit, whose user-index and dedup
  // keys go into the write batch sorted (CommitGroup): users and event ids
  // interleaved across the batches, out of key order, and a refused batch
  // among them, must leave each user's events and each id exactly as
  // appended one batch at a time.
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  std::vector<StoredEvent> first = {Ev("z9", "ub", "i1"), Ev("a1", "ua", "i2"),
                                    Ev("m5", "ub", "i3")};
  std::vector<StoredEvent> refused = {Ev("q1", "ua", "i9"), Ev("a1", "ua", "other")};
  std::vector<StoredEvent> third = {Ev("b2", "ua", "i4"), Ev("z9", "ub", "i1"),
                                    Ev("c3", "uc", "i5")};
  const std::span<const StoredEvent> batches[] = {first, refused, third};
  auto r = log->AppendBatches(batches);
  ASSERT_EQ(r.size(), 3u);
  ASSERT_TRUE(r[0].ok());
  EXPECT_EQ(r[0]->seqs, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(r[1].status().code(), StatusCode::kConflict);
  ASSERT_TRUE(r[2].ok());
  EXPECT_EQ(r[2]->seqs, (std::vector<uint64_t>{4, 1, 5}));
  EXPECT_EQ(r[2]->duplicate, (std::vector<bool>{false, true, false}));
  const auto items_of = [&](std::string_view user) {
    std::vector<StoredEvent> events;
    EXPECT_TRUE(log->ReadUser(user, &events).ok());
    std::vector<std::string> items;
    for (const StoredEvent& e : events) items.push_back(e.item);
    return items;
  };
  EXPECT_EQ(items_of("ua"), (std::vector<std::string>{"i2", "i4"}));
  EXPECT_EQ(items_of("ub"), (std::vector<std::string>{"i1", "i3"}));
  EXPECT_EQ(items_of("uc"), (std::vector<std::string>{"i5"}));
  // Every stored id is found again by a later append; the refused batch's
  // own id was never stored.
  std::vector<StoredEvent> again = {Ev("c3", "uc", "i5"), Ev("m5", "ub", "i3"),
                                    Ev("q1", "ua", "i9")};
  auto a = log->Append(again);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->duplicate, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(a->seqs, (std::vector<uint64_t>{5, 3, 6}));
}

TEST(EventLogTest, ConflictingPayloadRefusesTheWholeBatch) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  std::vector<StoredEvent> b = {Ev("e1", "u", "i", 1.0f)};
  ASSERT_TRUE(log->Append(b).ok());
  std::vector<StoredEvent> bad = {Ev("e9", "u", "x"), Ev("e1", "u", "i", 2.0f)};
  auto r = log->Append(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_NE(r.status().message().find("e1"), std::string::npos);
  EXPECT_EQ(All(*log).size(), 1u) << "nothing of a refused batch is stored";
  EXPECT_EQ(log->next_seq(), 2u);
  // e9 was not stored, so it is new next time.
  std::vector<StoredEvent> ok = {Ev("e9", "u", "x")};
  auto r2 = log->Append(ok);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->accepted, 1u);
  // Same id twice in one batch with different payloads is a conflict too.
  std::vector<StoredEvent> inner = {Ev("z", "u", "a"), Ev("z", "u", "b")};
  EXPECT_EQ(log->Append(inner).status().code(), StatusCode::kConflict);
}

TEST(EventLogTest, InvalidEventsAreRefused) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  std::vector<StoredEvent> b = {Ev("", "", "i")};
  EXPECT_EQ(log->Append(b).status().code(), StatusCode::kInvalidArgument);
  b = {Ev("", "u", "")};
  EXPECT_EQ(log->Append(b).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log->next_seq(), 1u);
}

TEST(EventLogTest, ReopenKeepsEventsSeqsAndDedup) {
  TempDir dir;
  {
    auto log = OpenOrDie(dir.path());
    std::vector<StoredEvent> b = {Ev("a", "u", "i"), Ev("b", "u", "j")};
    ASSERT_TRUE(log->Append(b).ok());
  }
  auto log = OpenOrDie(dir.path());
  EXPECT_EQ(log->next_seq(), 3u);
  EXPECT_EQ(All(*log).size(), 2u);
  std::vector<StoredEvent> retry = {Ev("a", "u", "i")};
  auto r = log->Append(retry);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->duplicates, 1u);
}

TEST(EventLogTest, ConcurrentAppendersAllLandExactlyOnce) {
  TempDir dir;
  EventLogOptions o;
  o.durability = Durability::kSync;
  auto log = OpenOrDie(dir.path(), o);
  constexpr int kThreads = 8, kBatches = 25, kPerBatch = 4;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<StoredEvent> batch;
        for (int n = 0; n < kPerBatch; ++n) {
          batch.push_back(Ev(fmt::format("t{}-b{}-n{}", t, b, n), fmt::format("u{}", t), "i"));
        }
        auto r = log->Append(batch);
        // Each batch's seqs are consecutive: group commit keeps batches whole.
        if (!r.ok() || r->accepted != kPerBatch || r->last_seq - r->first_seq != kPerBatch - 1) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  const auto all = All(*log);
  ASSERT_EQ(all.size(), size_t{kThreads * kBatches * kPerBatch});
  std::set<std::string> ids;
  for (size_t n = 0; n < all.size(); ++n) {
    EXPECT_EQ(all[n].seq, n + 1);
    ids.insert(all[n].event_id);
  }
  EXPECT_EQ(ids.size(), all.size());
}

TEST(EventLogTest, DeleteUserRemovesEventsDedupAndSnapshots) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  std::vector<StoredEvent> b = {Ev("a1", "alice", "i"), Ev("b1", "bob", "i"), Ev("a2", "alice", "j"),
                             Ev("", "alice", "k"), Ev("", "alic", "k")};
  ASSERT_TRUE(log->Append(b).ok());
  ASSERT_TRUE(log->PutSnapshot(5, "blob").ok());
  auto removed = log->DeleteUser("alice");
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 3u);
  const auto all = All(*log);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].user, "bob");
  EXPECT_EQ(all[1].user, "alic") << "a user whose id is a prefix is untouched";
  auto snap = log->LatestSnapshot();
  ASSERT_TRUE(snap.ok());
  EXPECT_FALSE(snap->has_value()) << "snapshots embed the user: all dropped";
  // Her event ids are forgotten: the same id is new again, with a new seq.
  std::vector<StoredEvent> again = {Ev("a1", "alice", "other")};
  auto r = log->Append(again);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->accepted, 1u);
  EXPECT_EQ(r->first_seq, 6u) << "seqs are never reused, even after a tail deletion";
  // After a reopen too.
  log.reset();
  log = OpenOrDie(dir.path());
  EXPECT_EQ(log->next_seq(), 7u);
  EXPECT_EQ(All(*log).size(), 3u);
  EXPECT_EQ(*log->DeleteUser("nobody"), 0u);
}

TEST(EventLogTest, SnapshotsKeepTheNewestTwo) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  EXPECT_FALSE(log->LatestSnapshot()->has_value());
  for (uint64_t s : {10, 20, 30}) ASSERT_TRUE(log->PutSnapshot(s, fmt::format("m{}", s)).ok());
  auto snap = log->LatestSnapshot();
  ASSERT_TRUE(snap.ok() && snap->has_value());
  EXPECT_EQ((*snap)->seq, 30u);
  EXPECT_EQ((*snap)->blob, "m30");
  EXPECT_EQ(log->Stats()->snapshots, 2u);
}

// A live store's log deletes a user before its model forgets them: a
// snapshot encoded in between holds the user, and a crash before the
// forget's drop would bring them back from it. The log refuses it.
TEST(EventLogTest, ASnapshotEncodedBeforeAUserDeleteIsRefused) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  std::vector<StoredEvent> b = {Ev("", "alice", "i"), Ev("", "bob", "i")};
  ASSERT_TRUE(log->Append(b).ok());
  EXPECT_EQ(log->user_deletes(), 0u);
  ASSERT_EQ(*log->DeleteUser("nobody"), 0u);
  EXPECT_EQ(log->user_deletes(), 0u) << "nothing of theirs: no snapshot was dropped";
  ASSERT_EQ(*log->DeleteUser("alice"), 1u);
  EXPECT_EQ(log->user_deletes(), 1u);

  const Status refused = log->PutSnapshot(2, "holds alice", /*deletes_applied=*/0);
  EXPECT_TRUE(IsSnapshotRefused(refused)) << refused.ToString();
  EXPECT_NE(refused.message().find("deleted"), std::string::npos) << refused.message();
  EXPECT_FALSE(log->LatestSnapshot()->has_value());
  EXPECT_EQ(log->Stats()->snapshots, 0u) << "its bytes are not kept either";

  // From a model that has forgotten her, it is kept.
  ASSERT_TRUE(log->PutSnapshot(2, "without alice", /*deletes_applied=*/1).ok());
  EXPECT_EQ((*log->LatestSnapshot())->blob, "without alice");
  // A reopened log counts afresh (with a model recovered from it).
  log.reset();
  log = OpenOrDie(dir.path());
  EXPECT_EQ(log->user_deletes(), 0u);
  ASSERT_TRUE(log->PutSnapshot(3, "after a restart", 0).ok());
  EXPECT_EQ(log->SnapshotSeqs(nullptr), (std::vector<uint64_t>{2, 3}));
}

// Snapshot bytes no list names (a crash between a snapshot's flush and its
// listing) are deleted by the next snapshot, which reads no snapshot's bytes
// to find them.
TEST(EventLogTest, UnlistedSnapshotBytesGoWithTheNextSnapshot) {
  TempDir dir;
  {
    auto log = OpenOrDie(dir.path());
    for (uint64_t s : {10, 20}) ASSERT_TRUE(log->PutSnapshot(s, fmt::format("m{}", s)).ok());
  }
  // What a crash after the flush leaves: bytes at 15 and 25, unlisted.
  ASSERT_NO_FATAL_FAILURE(
      PutRaw(dir.path(), "model", {{SeqKey(15), "orphan"}, {SeqKey(25), "orphan"}}));
  auto log = OpenOrDie(dir.path());
  EXPECT_EQ(log->SnapshotSeqs(nullptr), (std::vector<uint64_t>{10, 20})) << "only listed ones";
  EXPECT_EQ(log->Stats()->snapshots, 4u);
  ASSERT_TRUE(log->PutSnapshot(30, "m30").ok());
  EXPECT_EQ(log->SnapshotSeqs(nullptr), (std::vector<uint64_t>{20, 30}));
  EXPECT_EQ(log->Stats()->snapshots, 2u) << "10 pruned, 15 and 25 deleted";
  EXPECT_EQ(*log->GetSnapshot(20), "m20");
  EXPECT_EQ(*log->GetSnapshot(30), "m30");
  EXPECT_EQ(log->GetSnapshot(25).status().code(), StatusCode::kNotFound);
  // A drop leaves nothing, listed or not.
  ASSERT_TRUE(log->DropSnapshots().ok());
  EXPECT_EQ(log->Stats()->snapshots, 0u);
  EXPECT_TRUE(log->SnapshotSeqs(nullptr).empty());
}

// A snapshot is written as a table file of its own and handed to RocksDB
// whole (no memtable, no flush): nothing is left under the temporary name,
// and a temporary file a crash left (before RocksDB took it in) is deleted
// at the next open, other files untouched.
TEST(EventLogTest, SnapshotsAreIngestedTablesAndACrashLeftTableGoesAtOpen) {
  TempDir dir;
  namespace fs = std::filesystem;
  const auto temporaries = [&] {
    size_t n = 0;
    for (const auto& entry : fs::directory_iterator(dir.path())) {
      n += entry.path().filename().string().starts_with("streamrec-snapshot-");
    }
    return n;
  };
  {
    auto log = OpenOrDie(dir.path());
    std::vector<StoredEvent> b = {Ev("", "alice", "i")};
    ASSERT_TRUE(log->Append(b).ok());
    const std::string big(3 << 20, 'x');  // more than one table block
    ASSERT_TRUE(log->PutSnapshot(1, big).ok());
    EXPECT_EQ(*log->GetSnapshot(1), big);
    EXPECT_EQ(temporaries(), 0u);
    EXPECT_EQ(log->Stats()->snapshots, 1u);
  }
  // The table that holds it is one RocksDB took in from outside (its
  // properties carry the external file version), not one a flush wrote.
  size_t ingested = 0;
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    if (entry.path().extension() != ".sst") continue;
    rocksdb::SstFileReader reader{rocksdb::Options()};
    ASSERT_TRUE(reader.Open(entry.path().string()).ok()) << entry.path();
    std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (!it->Valid() || it->key().ToString() != SeqKey(1)) continue;
    const auto& props = reader.GetTableProperties()->user_collected_properties;
    ingested += props.count("rocksdb.external_sst_file.version") > 0;
  }
  EXPECT_EQ(ingested, 1u) << "the snapshot's table was not an ingested file";
  const std::string left = dir.path() + "/streamrec-snapshot-00000000000000000002-0.sst.tmp";
  const std::string other = dir.path() + "/notes.txt";
  for (const std::string& path : {left, other}) {
    std::ofstream(path) << "half a table";
  }
  auto log = OpenOrDie(dir.path());
  EXPECT_FALSE(fs::exists(left)) << "the crash's temporary table is deleted at open";
  EXPECT_TRUE(fs::exists(other)) << "a file that is not ours stays";
  EXPECT_EQ(log->SnapshotSeqs(nullptr), (std::vector<uint64_t>{1}));
  ASSERT_TRUE(log->PutSnapshot(2, "m2").ok());
  ASSERT_TRUE(log->PutSnapshot(3, "m3").ok());
  EXPECT_EQ(log->SnapshotSeqs(nullptr), (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(*log->GetSnapshot(3), "m3");
  EXPECT_EQ(log->GetSnapshot(1).status().code(), StatusCode::kNotFound) << "pruned";
  EXPECT_EQ(temporaries(), 0u);
  // Read back after a reopen, as recovery does.
  log.reset();
  log = OpenOrDie(dir.path());
  EXPECT_EQ(*log->GetSnapshot(2), "m2");
  EXPECT_EQ(*log->GetSnapshot(3), "m3");
}

std::string ChunkKey(uint64_t seq, uint32_t i) {
  std::string k = SeqKey(seq);
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>(i >> shift));
  return k;
}

TEST(EventLogTest, SnapshotsAreStoredInChunksAndOnesStoredWholeAreStillRead) {
  TempDir dir;
  const size_t chunk = EventLog::kSnapshotChunkBytes;
  std::string big(2 * chunk + 12345, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + i / 4099);
  const std::string whole = std::string("SRSNAP\0\0", 8) + "stored whole";
  OpenOrDie(dir.path()).reset();  // the column families
  // A database from before chunks: the whole snapshot under its seq, listed.
  PutRaw(dir.path(), "model", {{SeqKey(5), whole}});
  PutRaw(dir.path(), "meta", {{"snapshot_seqs", SeqKey(5)}});
  auto log = OpenOrDie(dir.path());
  EXPECT_EQ(*log->GetSnapshot(5), whole);
  ASSERT_TRUE(log->PutSnapshot(7, big).ok());
  EXPECT_TRUE(*log->GetSnapshot(7) == big);
  EXPECT_EQ(*log->GetSnapshot(5), whole) << "kept: the newest two";
  EXPECT_EQ(log->SnapshotSeqs(nullptr), (std::vector<uint64_t>{5, 7}));
  EXPECT_EQ(log->Stats()->snapshots, 2u);
  // Written again at the same seq, smaller: the older one's later chunks,
  // still stored, are not read into it.
  ASSERT_TRUE(log->PutSnapshot(7, "small").ok());
  EXPECT_EQ(*log->GetSnapshot(7), "small");
  // A prune drops every key of the pruned snapshot and none of the kept.
  ASSERT_TRUE(log->PutSnapshot(9, big).ok());
  EXPECT_EQ(log->GetSnapshot(5).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*log->GetSnapshot(7), "small");
  EXPECT_TRUE(*log->GetSnapshot(9) == big);
  EXPECT_EQ(log->Stats()->snapshots, 2u);
  EXPECT_EQ(log->Stats()->snapshot_seq, 9u);
  log.reset();

  WithRawDb(dir.path(), [&](rocksdb::DB* db, RawFamilies& cf) {
    std::vector<std::string> keys;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, cf["model"]));
    for (it->Seek(SeqKey(9)); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
    EXPECT_EQ(keys, (std::vector<std::string>{SeqKey(9), ChunkKey(9, 0), ChunkKey(9, 1),
                                              ChunkKey(9, 2)}))
        << "a header and three chunks of " << chunk << " bytes";
    std::string value;
    ASSERT_TRUE(db->Get({}, cf["model"], ChunkKey(9, 2), &value).ok());
    EXPECT_EQ(value.size(), 12345u);
    // The list gone (a database from before it): the keys name the seqs.
    ASSERT_TRUE(db->Delete({}, cf["meta"], "snapshot_seqs").ok());
  });
  log = OpenOrDie(dir.path());
  std::string problem = "unset";
  EXPECT_EQ(log->SnapshotSeqs(&problem), (std::vector<uint64_t>{7, 9}));
  EXPECT_EQ(problem, "");
  log.reset();
  // A chunk gone is Corruption, never a shorter snapshot.
  WithRawDb(dir.path(), [&](rocksdb::DB* db, RawFamilies& cf) {
    ASSERT_TRUE(db->Delete({}, cf["model"], ChunkKey(9, 1)).ok());
  });
  log = OpenOrDie(dir.path());
  const Status missing = log->GetSnapshot(9).status();
  EXPECT_EQ(missing.code(), StatusCode::kCorruption) << missing.ToString();
  EXPECT_NE(missing.message().find("chunk 1 of 3"), std::string::npos) << missing.ToString();
}

TEST(EventLogTest, CatalogPutGetDeleteScan) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  ItemMeta m{{"books", "sci-fi"}, true};
  ASSERT_TRUE(log->PutItem("i1", m).ok());
  ASSERT_TRUE(log->PutItem("i2", {}).ok());
  auto got = log->GetItem("i1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, m);
  EXPECT_FALSE(log->GetItem("nope")->has_value());
  ASSERT_TRUE(log->DeleteItem("i2").ok());
  std::vector<std::string> ids;
  ASSERT_TRUE(log->ScanItems([&](std::string_view id, const ItemMeta&) {
                   ids.emplace_back(id);
                   return true;
                 })
                  .ok());
  EXPECT_EQ(ids, std::vector<std::string>{"i1"});
  EXPECT_EQ(log->PutItem("", m).code(), StatusCode::kInvalidArgument);
}

TEST(EventLogTest, StatsCountWhatIsThere) {
  TempDir dir;
  auto log = OpenOrDie(dir.path());
  std::vector<StoredEvent> b = {Ev("", "u", "i"), Ev("", "u", "j"), Ev("", "v", "j")};
  ASSERT_TRUE(log->Append(b).ok());
  auto st = log->Stats();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->events, 3u);
  EXPECT_EQ(st->first_seq, 1u);
  EXPECT_EQ(st->last_seq, 3u);
  EXPECT_EQ(st->next_seq, 4u);
  EXPECT_GT(st->disk_bytes, 0u);
}

TEST(EventLogTest, RefusesANewerSchemaVersion) {
  TempDir dir;
  { OpenOrDie(dir.path()); }
  // Rewrite the schema version as a future build would.
  ASSERT_NO_FATAL_FAILURE(PutRaw(dir.path(), "meta", {{"schema_version", "99"}}));
  auto log = EventLog::Open(dir.path(), {});
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(log.status().message().find("newer"), std::string::npos) << log.status().message();
}

TEST(EventLogTest, RefusesAForeignRocksDb) {
  TempDir dir;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir.path(), &db).ok());
    rocksdb::ColumnFamilyHandle* h = nullptr;
    ASSERT_TRUE(db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "somebody_else", &h).ok());
    ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }
  auto log = EventLog::Open(dir.path(), {});
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("not a streamrec database"), std::string::npos);
}

TEST(EventLogTest, CreatesMissingParentDirectories) {
  TempDir dir;
  auto log = EventLog::Open(dir.Sub("a/b/c"), {});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir.Sub("a/b/c/CURRENT")));
}

TEST(EventLogTest, MissingDatabaseWithoutCreateIsNotFound) {
  TempDir dir;
  EventLogOptions o;
  o.create_if_missing = false;
  auto log = EventLog::Open(dir.Sub("absent"), o);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kNotFound);
}

TEST(EventLogTest, CorruptTableFileIsRefusedNotTruncated) {
  TempDir dir;
  {
    auto log = OpenOrDie(dir.path());
    std::vector<StoredEvent> b;
    for (int n = 0; n < 2000; ++n) b.push_back(Ev("", fmt::format("u{}", n), "item"));
    ASSERT_TRUE(log->Append(b).ok());
    ASSERT_TRUE(log->Flush().ok());  // into an SST file
  }
  // Overwrite the middle of every table file with garbage.
  int damaged = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir.path())) {
    if (f.path().extension() != ".sst") continue;
    const auto size = std::filesystem::file_size(f.path());
    std::fstream io(f.path(), std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(static_cast<std::streamoff>(size / 3));
    const std::string junk(256, '\x5a');
    io.write(junk.data(), junk.size());
    ++damaged;
  }
  ASSERT_GT(damaged, 0);
  auto log = EventLog::Open(dir.path(), {});
  if (!log.ok()) {
    EXPECT_EQ(log.status().code(), StatusCode::kCorruption) << log.status().ToString();
    return;
  }
  // If the damage is only found on read, the scan must say so, not stop
  // quietly with fewer events.
  size_t seen = 0;
  Status st = (*log)->Scan(1, UINT64_MAX, [&](const StoredEvent&) {
    ++seen;
    return true;
  });
  EXPECT_FALSE(st.ok()) << "read " << seen << " events from a damaged table without an error";
}

}  // namespace
}  // namespace streamrec::storage
