// EventLog::Open on directories that are not (or no longer) a readable
// streamrec database: refused every time, and never modified.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "storage/event_log.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

// Every file in `dir` (recursively) with its bytes.
std::map<std::string, std::string> Contents(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& f : fs::recursive_directory_iterator(dir)) {
    if (!f.is_regular_file()) continue;
    std::ifstream in(f.path(), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    out[fs::relative(f.path(), dir).string()] = s.str();
  }
  return out;
}

void Populate(const std::string& dir) {
  auto log = EventLog::Open(dir, {});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  std::vector<StoredEvent> batch;
  for (int n = 0; n < 500; ++n) {
    batch.push_back({0, fmt::format("e{}", n), fmt::format("u{}", n % 7), "item", "view", 0, 1});
  }
  ASSERT_TRUE((*log)->Append(batch).ok());
  ASSERT_TRUE((*log)->Flush().ok());  // table files
  batch.resize(10);
  for (auto& e : batch) e.event_id += "-late";
  ASSERT_TRUE((*log)->Append(batch).ok());  // and a WAL tail
}

// Opens `dir` twice; both must fail with a message containing `expect` and
// leave every file as it was.
void ExpectRefusedUntouched(const std::string& dir, const std::string& expect) {
  const auto before = Contents(dir);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto log = EventLog::Open(dir, {});
    ASSERT_FALSE(log.ok()) << "attempt " << attempt << " opened it";
    EXPECT_EQ(log.status().code(), StatusCode::kFailedPrecondition) << log.status().ToString();
    EXPECT_NE(log.status().message().find(expect), std::string::npos) << log.status().message();
    EXPECT_EQ(Contents(dir), before) << "attempt " << attempt << " changed the directory";
  }
}

TEST(EventLogOpenTest, LostCurrentIsRefusedTwiceAndNothingIsTouched) {
  TempDir dir;
  ASSERT_NO_FATAL_FAILURE(Populate(dir.path()));
  ASSERT_TRUE(fs::remove(dir.Sub("CURRENT")));
  ExpectRefusedUntouched(dir.path(), "no CURRENT file");
  // Put back by hand (the newest MANIFEST), the database is all there.
  std::string manifest;
  for (const auto& f : fs::directory_iterator(dir.path())) {
    const std::string name = f.path().filename().string();
    if (name.starts_with("MANIFEST-") && name > manifest) manifest = name;
  }
  ASSERT_FALSE(manifest.empty());
  std::ofstream(dir.Sub("CURRENT")) << manifest << "\n";
  auto log = EventLog::Open(dir.path(), {});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ((*log)->next_seq(), 511u);
}

TEST(EventLogOpenTest, DirectoryWithForeignFilesIsRefusedUntouched) {
  TempDir dir;
  std::ofstream(dir.Sub("notes.txt")) << "not a database\n";
  ExpectRefusedUntouched(dir.path(), "not empty");
}

TEST(EventLogOpenTest, RocksDbWithoutOurColumnFamiliesIsRefusedUntouched) {
  TempDir dir;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir.path(), &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "k", "v").ok());
    delete db;
  }
  ExpectRefusedUntouched(dir.path(), "not a streamrec database");
}

TEST(EventLogOpenTest, ACreationCutShortBeforeOurFamiliesIsFinished) {
  // CURRENT and the default family exist, ours not yet, nothing stored:
  // what a kill during the first open leaves.
  TempDir dir;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir.path(), &db).ok());
    delete db;
  }
  auto log = EventLog::Open(dir.path(), {});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_EQ((*log)->next_seq(), 1u);
}

TEST(EventLogOpenTest, AFileInPlaceOfTheDirectoryIsRefused) {
  TempDir dir;
  std::ofstream(dir.Sub("plain")) << "x";
  auto log = EventLog::Open(dir.Sub("plain"), {});
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.status().message().find("not a directory"), std::string::npos);
}

TEST(EventLogOpenTest, EmptyOrAbsentDirectoriesAreCreatedIn) {
  TempDir dir;
  ASSERT_TRUE(EventLog::Open(dir.path(), {}).ok());  // TempDir made it, empty
  ASSERT_TRUE(EventLog::Open(dir.Sub("new/deeper"), {}).ok());
  EXPECT_TRUE(fs::exists(dir.Sub("new/deeper/CURRENT")));
}

}  // namespace
}  // namespace streamrec::storage
