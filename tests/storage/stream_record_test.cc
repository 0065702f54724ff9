// The cluster's stream records (storage/stream_record.h) and the local log's
// record of its stream position (EventLog::stream_seq).
#include "storage/stream_record.h"

#include <gtest/gtest.h>

#include "storage/event_log.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

StoredEvent Ev(std::string id, std::string user, std::string item, bool assigned = false) {
  StoredEvent e;
  e.event_id = std::move(id);
  e.user = std::move(user);
  e.item = std::move(item);
  e.type = "click";
  e.value = 1.5f;
  e.ts_ms = 1'700'000'000'123;
  e.ts_assigned = assigned;
  return e;
}

TEST(StreamRecordTest, EveryKindRoundTrips) {
  StreamRecord events;
  events.origin = "abc-1";
  events.config = 0x0123456789abcdefull;
  events.batches = {{Ev("e1", "u1", "i1", true), Ev("", "u2", "i2")}, {Ev("e3", "u3", "i1")}};
  StreamRecord forget{RecordKind::kForgetUser, "abc-2", 0, {}, "u1", {}, {}};
  StreamRecord put{RecordKind::kPutItem, "abc-3", 0, {}, "i9", {}, {}};
  put.meta.categories = {"books", "sale"};
  put.meta.hidden = true;
  StreamRecord del{RecordKind::kDeleteItem, "abc-4", 0, {}, "i9", {}, {}};
  StreamRecord retrain{RecordKind::kRetrain, "abc-5", 0, {}, {}, {}, {}};
  StreamRecord install{RecordKind::kInstall, "install-17", 0, {}, {}, {}, {}};
  install.install = {17, 1ull << 40, 500000, 100000};
  for (const StreamRecord& r : {events, forget, put, del, retrain, install}) {
    std::string bytes;
    EncodeRecord(r, &bytes);
    StreamRecord back;
    ASSERT_TRUE(DecodeRecord(bytes, &back).ok());
    EXPECT_EQ(back.kind, r.kind);
    EXPECT_EQ(back.origin, r.origin);
    EXPECT_EQ(back.config, r.config);
    EXPECT_EQ(back.batches, r.batches);  // ts_assigned too: dedup needs it
    EXPECT_EQ(back.id, r.id);
    EXPECT_EQ(back.meta.categories, r.meta.categories);
    EXPECT_EQ(back.meta.hidden, r.meta.hidden);
    EXPECT_EQ(back.install, r.install);
  }
}

TEST(StreamRecordTest, DamagedRecordsAreCorruptionNeverACrash) {
  StreamRecord r;
  r.origin = "node-7";
  r.batches = {{Ev("e1", "u1", "i1"), Ev("e2", "u2", "i2", true)}};
  std::string bytes;
  EncodeRecord(r, &bytes);
  StreamRecord out;
  // Every truncation, and every single flipped byte, decodes to an error or
  // to some record, never past the input.
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(DecodeRecord(std::string_view(bytes).substr(0, n), &out).code(),
              StatusCode::kCorruption)
        << n;
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::string damaged = bytes;
    damaged[n] = static_cast<char>(damaged[n] ^ 0xff);
    (void)DecodeRecord(damaged, &out);
  }
  EXPECT_EQ(DecodeRecord(bytes + "x", &out).code(), StatusCode::kCorruption);
  std::string version = bytes;
  version[0] = 9;
  const Status st = DecodeRecord(version, &out);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_NE(st.message().find("version 9"), std::string::npos) << st.message();
  std::string kind = bytes;
  kind[1] = 7;
  EXPECT_EQ(DecodeRecord(kind, &out).code(), StatusCode::kCorruption);
  // A batch count far beyond the bytes is refused before allocating.
  std::string huge;
  huge.push_back(static_cast<char>(kStreamRecordVersion));
  huge.push_back(static_cast<char>(RecordKind::kEvents));
  PutString(&huge, "o");
  PutVarint32(&huge, 0x0fffffff);
  EXPECT_EQ(DecodeRecord(huge, &out).code(), StatusCode::kCorruption);
}

TEST(StreamRecordTest, TheLogRecordsTheStreamPositionWithTheEvents) {
  testing::TempDir dir;
  {
    auto log = EventLog::Open(dir.path(), EventLogOptions());
    ASSERT_TRUE(log.ok());
    EXPECT_EQ((*log)->stream_seq(), 0u);
    const std::vector<StoredEvent> a = {Ev("e1", "u1", "i1"), Ev("e2", "u2", "i2")};
    const std::span<const StoredEvent> one[1] = {a};
    auto r = (*log)->AppendBatches(one, 5);
    ASSERT_TRUE(r[0].ok());
    EXPECT_EQ((*log)->stream_seq(), 5u);
    // A message whose every batch is refused (a conflict) still moves the
    // position: every replica refuses it alike, and none reads it again.
    const std::vector<StoredEvent> conflict = {Ev("e1", "u1", "other-item")};
    const std::span<const StoredEvent> two[1] = {conflict};
    auto c = (*log)->AppendBatches(two, 6);
    EXPECT_EQ(c[0].status().code(), StatusCode::kConflict);
    EXPECT_EQ((*log)->stream_seq(), 6u);
    // So does one of duplicates only.
    auto d = (*log)->AppendBatches(one, 7);
    ASSERT_TRUE(d[0].ok());
    EXPECT_EQ(d[0]->duplicates, 2u);
    EXPECT_EQ((*log)->stream_seq(), 7u);
    EXPECT_TRUE((*log)->SetStreamSeq(9).ok());
    EXPECT_EQ((*log)->next_seq(), 3u);
  }
  auto again = EventLog::Open(dir.path(), EventLogOptions());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->stream_seq(), 9u);
  EXPECT_EQ((*again)->cluster_state(), ClusterState());
  const ClusterState state{12, 11};
  EXPECT_TRUE((*again)->SetStreamSeq(12, &state).ok());
  again->reset();
  auto third = EventLog::Open(dir.path(), EventLogOptions());
  ASSERT_TRUE(third.ok());
  EXPECT_EQ((*third)->cluster_state(), state);
  EXPECT_EQ((*third)->stream_seq(), 12u);
  EXPECT_EQ((*third)->next_seq(), 3u);
}

// Cluster mode's forget deletes after the model forgot and was
// snapshotted: that snapshot stays, older ones go, and the stream position
// moves in the same write.
TEST(StreamRecordTest, DeleteUserAtKeepsTheSnapshotTakenAfterTheForget) {
  testing::TempDir dir;
  auto log = EventLog::Open(dir.path(), EventLogOptions());
  ASSERT_TRUE(log.ok());
  const std::vector<StoredEvent> a = {Ev("e1", "u1", "i1"), Ev("e2", "u1", "i2"),
                                      Ev("e3", "u2", "i1")};
  ASSERT_TRUE((*log)->Append(a).ok());
  ASSERT_TRUE((*log)->PutSnapshot(2, "before the forget").ok());
  ASSERT_TRUE((*log)->PutSnapshot(3, "after the forget").ok());
  std::vector<StoredEvent> theirs;
  ASSERT_TRUE((*log)->ReadUser("u1", &theirs).ok());
  ASSERT_EQ(theirs.size(), 2u);
  EXPECT_EQ(theirs[1].seq, 2u);
  const ClusterState state{0, 9};
  StatusOr<uint64_t> removed = (*log)->DeleteUserAt("u1", 3, 9, state);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(*removed, 2u);
  EXPECT_EQ((*log)->SnapshotSeqs(nullptr), (std::vector<uint64_t>{3}));
  EXPECT_EQ((*log)->stream_seq(), 9u);
  EXPECT_EQ((*log)->cluster_state(), state);
  theirs.clear();
  ASSERT_TRUE((*log)->ReadUser("u1", &theirs).ok());
  EXPECT_TRUE(theirs.empty());
  // The same record again (after a crash): nothing left to delete, the
  // position still written.
  const ClusterState later{0, 10};
  removed = (*log)->DeleteUserAt("u1", 3, 10, later);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 0u);
  EXPECT_EQ((*log)->stream_seq(), 10u);
  EXPECT_EQ((*log)->SnapshotSeqs(nullptr), (std::vector<uint64_t>{3}));
}

}  // namespace
}  // namespace streamrec::storage
