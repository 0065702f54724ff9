// CLI tests of the database commands: log stats|dump|append|verify, replay, and the
// storage benchmarks, through the real binary.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/tools/cli_harness.h"

namespace streamrec::tools {
namespace {

using testing::CliTest;
using testing::ExpectUsageError;
using testing::RunResult;
namespace json = boost::json;

class CliStorageTest : public CliTest {
 protected:
  // 2000 synthetic events appended with ids p<n>.
  std::string MakeDb() {
    const std::string events = Generate("g.events");
    const std::string db = Path("db");
    const RunResult r = Run({"log", "append", "--db", db, "--events", events, "--id-prefix", "p",
                             "--batch", "300", "--durability", "process"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return db;
  }
};

TEST_F(CliStorageTest, AppendIsIdempotentWithIdPrefix) {
  const std::string db = MakeDb();
  const RunResult again =
      Run({"log", "append", "--db", db, "--events", Path("g.events"), "--id-prefix", "p"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("appended 0 events (2000 duplicates)"), std::string::npos) << again.err;
  const RunResult stats = Run({"log", "stats", "--db", db});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  const json::object o = json::parse(stats.out).as_object();
  EXPECT_EQ(o.at("events").as_int64(), 2000);
  EXPECT_EQ(o.at("next_seq").as_int64(), 2001);
}

TEST_F(CliStorageTest, DumpPrintsJsonLinesInSeqOrder) {
  const std::string db = MakeDb();
  const RunResult r = Run({"log", "dump", "--db", db, "--from", "10", "--to", "14"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int64_t expect = 10;
  while (std::getline(lines, line)) {
    const json::object o = json::parse(line).as_object();
    EXPECT_EQ(o.at("seq").as_int64(), expect);
    EXPECT_EQ(o.at("event_id").as_string(), fmt::format("p{}", expect - 1));
    EXPECT_FALSE(o.at("user").as_string().empty());
    ++expect;
  }
  EXPECT_EQ(expect, 15);
}

TEST_F(CliStorageTest, ReplaySnapshotThenRecoverFromIt) {
  const std::string db = MakeDb();
  const RunResult first = Run({"replay", "--db", db, "--snapshot"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const json::object a = json::parse(first.out).as_object();
  EXPECT_EQ(a.at("replayed").as_int64(), 2000);
  EXPECT_EQ(a.at("snapshot_written").as_int64(), 2000);
  const RunResult second = Run({"replay", "--db", db});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  const json::object b = json::parse(second.out).as_object();
  EXPECT_EQ(b.at("snapshot_seq").as_int64(), 2000);
  EXPECT_EQ(b.at("replayed").as_int64(), 0);
  EXPECT_EQ(b.at("users"), a.at("users"));
  EXPECT_EQ(b.at("items"), a.at("items"));
}

TEST_F(CliStorageTest, VerifyPassesAnIntactDatabaseAndNamesADamagedTable) {
  const std::string db = MakeDb();
  // replay --snapshot writes a snapshot and flushes everything into tables.
  ASSERT_EQ(Run({"replay", "--db", db, "--snapshot"}).exit_code, 0);
  const RunResult good = Run({"log", "verify", "--db", db});
  ASSERT_EQ(good.exit_code, 0) << good.err;
  const json::object o = json::parse(good.out).as_object();
  EXPECT_TRUE(o.at("ok").as_bool());
  EXPECT_EQ(o.at("events").as_int64(), 2000);
  EXPECT_EQ(o.at("snapshots").as_int64(), 1);
  // A flipped byte in the middle of each table file (a data block).
  std::string damaged;
  for (const auto& f : std::filesystem::directory_iterator(db)) {
    if (f.path().extension() != ".sst") continue;
    const auto size = std::filesystem::file_size(f.path());
    std::fstream io(f.path(), std::ios::in | std::ios::out | std::ios::binary);
    io.seekg(static_cast<std::streamoff>(size / 3));
    char c = 0;
    io.read(&c, 1);
    io.seekp(static_cast<std::streamoff>(size / 3));
    c ^= 0x01;
    io.write(&c, 1);
    damaged = f.path().filename().string();
  }
  ASSERT_FALSE(damaged.empty());
  const RunResult bad = Run({"log", "verify", "--db", db});
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_FALSE(json::parse(bad.out).as_object().at("ok").as_bool());
  EXPECT_NE(bad.err.find("Corruption"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find(".sst"), std::string::npos) << bad.err;
}

TEST_F(CliStorageTest, ReplayEvaluateReportsPrequentialError) {
  const std::string db = MakeDb();
  // The rating objective: only a rating model predicts ratings.
  const RunResult r = Run({"replay", "--db", db, "--evaluate", "--json", "--objective", "rating"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json::object o = json::parse(r.out).as_object();
  const json::object& p = o.at("prequential").as_object();
  EXPECT_GT(p.at("ratings").as_int64(), 500);
  EXPECT_GT(p.at("rmse").as_double(), 0.3);
  EXPECT_LT(p.at("rmse").as_double(), 2.5);
}

TEST_F(CliStorageTest, UsageErrors) {
  ExpectUsageError(Run({"log", "stats"}), {"--db is required"});
  ExpectUsageError(Run({"log", "nope", "--db", Path("x")}),
                   {"expected stats, dump, append or verify"});
  ExpectUsageError(Run({"log", "append", "--db", Path("x")}), {"--events is required"});
  ExpectUsageError(
      Run({"log", "append", "--db", Path("x"), "--events", Path("x"), "--durability", "maybe"}),
      {"--durability must be 'sync' or 'process'"});
  ExpectUsageError(Run({"replay"}), {"--db is required"});
  ExpectUsageError(Run({"replay", "--db", Path("x"), "--from", "5", "--snapshot"}),
                   {"--snapshot needs the whole log"});
  // A database that does not exist is a runtime failure naming it.
  const RunResult missing = Run({"log", "stats", "--db", Path("absent")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("absent"), std::string::npos) << missing.err;
}

TEST_F(CliStorageTest, StorageBenchmarksRun) {
  const RunResult log =
      Run({"bench", "log", "--dir", Path("b"), "--seconds", "0.2", "--batch", "10"});
  ASSERT_EQ(log.exit_code, 0) << log.err;
  EXPECT_NE(log.out.find("sync    batch    10"), std::string::npos) << log.out;
  EXPECT_NE(log.out.find("process batch    10"), std::string::npos) << log.out;
  const RunResult rec =
      Run({"bench", "recovery", "--dir", Path("b"), "--events", "3000", "--rank", "8"});
  ASSERT_EQ(rec.exit_code, 0) << rec.err;
  EXPECT_NE(rec.out.find("snapshot at seq 3000, 0 events replayed"), std::string::npos) << rec.out;
}

}  // namespace
}  // namespace streamrec::tools
