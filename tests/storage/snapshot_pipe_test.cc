// A snapshot stored while it is encoded (storage/snapshot_pipe.h,
// EventLog::PutSnapshot from a pipe, WriteSnapshot): the stored bytes are
// the one-string encoding's, over several chunks; an encoder's error or a
// chunk that does not add up stores nothing and leaves no file; neither
// side waits forever on the other.
#include "storage/snapshot_pipe.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "engine/core/random.h"
#include "engine/live/snapshot.h"
#include "storage/recovery.h"
#include "tests/storage/raw_db.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::TempDir;

// Rank 48 and 60k users: user factors alone are 11.5 MB, three chunks.
std::unique_ptr<engine::Recommender> Big() {
  engine::RecommenderOptions o;
  o.model.rank = 48;
  auto rec = std::make_unique<engine::Recommender>(o, engine::EventTypes::Defaults());
  engine::SplitMix64 rng(11);
  for (uint64_t k = 0; k < 60'000; ++k) {
    StoredEvent e{k + 1,
                  fmt::format("e{}", k),
                  fmt::format("u{}", k),
                  fmt::format("i{}", rng.Uniform(500)),
                  "rating",
                  static_cast<float>(1 + rng.Uniform(5)),
                  1'700'000'000'000 + int64_t(k)};
    EXPECT_TRUE(ApplyStored(e, rec.get()).ok());
  }
  return rec;
}

// PutSnapshot's table files not (yet) taken in: "*.sst.tmp".
size_t TempTables(const std::string& dir) {
  size_t n = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    n += f.path().filename().string().ends_with(".sst.tmp");
  }
  return n;
}

// No snapshot listed, and no table file left behind.
void ExpectNothingStored(const EventLog& log, const std::string& dir) {
  auto got = log.LatestSnapshot();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_FALSE(got->has_value());
  EXPECT_EQ(TempTables(dir), 0u);
}

TEST(SnapshotPipeTest, AStreamedSnapshotIsStoredAsTheOneStringEncoding) {
  TempDir dir;
  auto log = EventLog::Open(dir.path(), {});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  const auto rec = Big();
  const std::string whole = EncodeStoredSnapshot(*rec);
  ASSERT_GT(whole.size(), 2 * EventLog::kSnapshotChunkBytes);
  double encode = -1;
  ASSERT_TRUE(WriteSnapshot(log->get(), *rec, 60'000, UINT64_MAX, &encode).ok());
  EXPECT_GE(encode, 0.0);
  auto got = (*log)->LatestSnapshot();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->seq, 60'000u);
  EXPECT_TRUE((*got)->blob == whole);  // not EXPECT_EQ: a failure would print 14 MB
  // And it restores the engine.
  engine::RecommenderOptions o;
  o.model.rank = 48;
  engine::Recommender back(o, engine::EventTypes::Defaults());
  ASSERT_TRUE(LoadSnapshot(std::move((*got)->blob), &back).ok());
  EXPECT_TRUE(engine::EncodeSnapshot(back) == engine::EncodeSnapshot(*rec));
  EXPECT_EQ(TempTables(dir.path()), 0u);
}

TEST(SnapshotPipeTest, AStoredSnapshotIsRestoredAChunkAtATime) {
  TempDir dir;
  const auto rec = Big();
  {
    auto log = EventLog::Open(dir.path(), {});
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE(WriteSnapshot(log->get(), *rec, 60'000).ok());
  }
  engine::RecommenderOptions o;
  o.model.rank = 48;
  {
    auto log = EventLog::Open(dir.path(), {});
    ASSERT_TRUE(log.ok());
    auto source = (*log)->OpenSnapshot(60'000);
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    EXPECT_GT((*source)->size(), 2 * EventLog::kSnapshotChunkBytes);
    engine::Recommender back(o, engine::EventTypes::Defaults());
    const Status st = LoadSnapshot(source->get(), &back);
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_TRUE(engine::EncodeSnapshot(back) == engine::EncodeSnapshot(*rec));
    // Another configuration: refused on the first chunk's fingerprint.
    engine::RecommenderOptions other = o;
    other.model.rank = 32;
    engine::Recommender wrong(other, engine::EventTypes::Defaults());
    source = (*log)->OpenSnapshot(60'000);
    ASSERT_TRUE(source.ok());
    EXPECT_EQ(LoadSnapshot(source->get(), &wrong).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ((*log)->OpenSnapshot(5).status().code(), StatusCode::kNotFound);
  }
  // A middle chunk gone: the source's Corruption, and the recommender as it was.
  testing::WithRawDb(dir.path(), [&](rocksdb::DB* db, testing::RawFamilies& cf) {
    std::string key = SeqKey(60'000);
    key.append({'\0', '\0', '\0', '\1'});
    ASSERT_TRUE(db->Delete({}, cf["model"], key).ok());
  });
  auto log = EventLog::Open(dir.path(), {});
  ASSERT_TRUE(log.ok());
  auto source = (*log)->OpenSnapshot(60'000);
  ASSERT_TRUE(source.ok());
  engine::Recommender back(o, engine::EventTypes::Defaults());
  const std::string before = engine::EncodeSnapshot(back);
  const Status st = LoadSnapshot(source->get(), &back);
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("chunk 1 of"), std::string::npos) << st.ToString();
  EXPECT_TRUE(engine::EncodeSnapshot(back) == before);
}

TEST(SnapshotPipeTest, AnEncodersErrorStoresNothingAndLeavesNoFile) {
  TempDir dir;
  auto log = EventLog::Open(dir.path(), {});
  ASSERT_TRUE(log.ok());
  SnapshotPipe pipe(2);
  Status stored;
  std::thread writer([&] { stored = (*log)->PutSnapshot(7, &pipe); });
  const std::string chunk(EventLog::kSnapshotChunkBytes, 'x');
  ASSERT_TRUE(pipe.Begin(3 * chunk.size()).ok());
  ASSERT_TRUE(pipe.Piece(std::string(chunk)).ok());
  ASSERT_TRUE(pipe.Piece(std::string(chunk)).ok());
  pipe.Close(Status::Internal("the passes disagree"));
  writer.join();
  EXPECT_EQ(stored.code(), StatusCode::kInternal) << stored.ToString();
  ExpectNothingStored(**log, dir.path());
}

TEST(SnapshotPipeTest, ChunksThatDoNotAddUpAreRefusedAndReleaseTheEncoder) {
  TempDir dir;
  auto log = EventLog::Open(dir.path(), {});
  ASSERT_TRUE(log.ok());
  // A short chunk before the last, then more than announced.
  for (int variant = 0; variant < 2; ++variant) {
    SCOPED_TRACE(variant);
    SnapshotPipe pipe(1);
    Status stored;
    std::thread writer([&] { stored = (*log)->PutSnapshot(9, &pipe); });
    ASSERT_TRUE(pipe.Begin(variant == 0 ? 2 * EventLog::kSnapshotChunkBytes : 10).ok());
    Status piece = pipe.Piece(std::string(variant == 0 ? 100 : 10, 'y'));
    // The reader refuses the bad chunk and leaves: every later piece is
    // refused at once rather than waiting for room in the full pipe.
    for (int k = 0; k < 3 && piece.ok(); ++k) piece = pipe.Piece(std::string(10, 'z'));
    EXPECT_FALSE(piece.ok());
    pipe.Close(Status::OK());
    writer.join();
    EXPECT_EQ(stored.code(), StatusCode::kInternal) << stored.ToString();
    EXPECT_NE(stored.message().find("do not add up"), std::string::npos) << stored.ToString();
    EXPECT_EQ(piece.code(), StatusCode::kInternal) << piece.ToString();
  }
  ExpectNothingStored(**log, dir.path());
}

TEST(SnapshotPipeTest, TheEncoderWaitsWhileThePipeIsFull) {
  SnapshotPipe pipe(2);
  ASSERT_TRUE(pipe.Begin(4).ok());
  ASSERT_TRUE(pipe.Piece("a").ok());
  ASSERT_TRUE(pipe.Piece("b").ok());
  std::atomic<bool> third{false};
  std::thread encoder([&] {
    EXPECT_TRUE(pipe.Piece("c").ok());
    third = true;
    EXPECT_TRUE(pipe.Piece("d").ok());
    pipe.Close(Status::OK());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(third.load());  // two wait: no room for a third
  std::string all;
  for (;;) {
    auto next = pipe.Next();
    ASSERT_TRUE(next.ok());
    if (!next->has_value()) break;
    all += **next;
  }
  encoder.join();
  EXPECT_TRUE(third.load());
  EXPECT_EQ(all, "abcd");
  auto size = pipe.Size();
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 4u);
}

TEST(SnapshotPipeTest, AReaderThatLeavesFreesTheEncoder) {
  SnapshotPipe pipe(1);
  ASSERT_TRUE(pipe.Begin(100).ok());
  ASSERT_TRUE(pipe.Piece("a").ok());
  std::thread reader([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    pipe.Abandon(Status::IOError("disk full"));
  });
  const Status st = pipe.Piece("b");  // waits for room, then is refused
  reader.join();
  EXPECT_EQ(st.code(), StatusCode::kIOError) << st.ToString();
  // A reader that leaves after reading it all refuses nothing it was owed.
  SnapshotPipe done(1);
  ASSERT_TRUE(done.Begin(1).ok());
  ASSERT_TRUE(done.Piece("x").ok());
  done.Close(Status::OK());
  ASSERT_TRUE(done.Next().ok());
  auto end = done.Next();
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
  done.Abandon(Status::OK());
  EXPECT_EQ(done.Piece("late").code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace streamrec::storage
