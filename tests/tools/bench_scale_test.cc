// `streamrec bench scale` through the real binary, at a size that runs in
// a few seconds: every figure of the table is printed, the recall of the
// served top-N against the exact scan is 1 under each objective (the served
// path is the exact scan today), the crash stage's server restarts from a
// snapshot and loses no acknowledged event (with the configuration's keys
// and a --rank over the file's), the scratch database is removed, and bad
// flags are usage errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "tests/tools/cli_harness.h"

namespace streamrec::tools {
namespace {

using testing::CliTest;
using testing::Contains;
using testing::ExpectUsageError;
using testing::RunResult;
using testing::WriteFile;
namespace fs = std::filesystem;

class BenchScaleTest : public CliTest {
 protected:
  // bench scale on 200 users x 100 items x 3000 events in Path("scale").
  RunResult RunSmall(const std::vector<std::string>& extra) {
    fs::create_directories(Path("scale"));
    std::vector<std::string> args = {"bench",         "scale", "--users",  "200",
                                     "--items",       "100",   "--events", "3000",
                                     "--connections", "2",     "--dir",    Path("scale")};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  }
};

// The crash stage's rows: its server was killed under ingest, acknowledged
// events, and the store came back from a snapshot with all of them.
void ExpectCrashRecovered(const RunResult& r) {
  for (const char* row :
       {"crash: its server (a child process) opened the store", "ingest until the kill (SIGKILL)",
        "requests cut off by the kill", "recovery after the crash"}) {
    EXPECT_TRUE(Contains(r.out, row)) << row << " missing in:\n" << r.out;
  }
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(, [1-9][0-9]* events acknowledged)")))
      << r.out;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex(R"(from the snapshot of seq, then events of log +[1-9][0-9]*, then)")))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(acknowledged events lost \(acknowledged / )"
                                                  R"(recovered up to seq\) +0 \()")))
      << r.out;
  EXPECT_FALSE(Contains(r.out, "snapshots skipped")) << r.out;
  // The child's memory, from its own status: a resident set, its multiple
  // of the raw factors, and the log's share.
  const std::string memory =
      R"( +[1-9][0-9.]* MB \([0-9.]+x raw\), of it the event log [0-9.]+ MB; less it [0-9.]+x)";
  EXPECT_TRUE(std::regex_search(
      r.out,
      std::regex(R"(its RSS once open \(from the snapshot\), no request served yet)" + memory)))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("its RSS just before the kill" + memory)))
      << r.out;
}

TEST_F(BenchScaleTest, PrintsEveryFigureAndRemovesItsDatabase) {
  const RunResult r = RunSmall({"--seconds", "0.3", "--crash-seconds", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* row :
       {"append (batches of 10000)", "recovery from the log", "recovery from a snapshot",
        "snapshot written, of which encoding", "RSS after recovery from the log (the open's peak)",
        "raw factors, (users + items) x rank x 4 B", "RSS / raw factors",
        "recommendations, 2 connections", "similar items, 2 connections", "recall@10 vs exact scan",
        "hold-out HR@10, served / popular list (next 300 events)",
        "events scored, of users (of them answered by the model)",
        "ingest over HTTP, 2 x 1000-event batches", "RSS after it, of which malloc's bytes in use",
        "event log in memory after it"}) {
    EXPECT_TRUE(Contains(r.out, row)) << row << " missing in:\n" << r.out;
  }
  EXPECT_TRUE(Contains(r.out, "3000 events")) << r.out;
  // Each engine part after recovery and after the ingest stage.
  EXPECT_TRUE(std::regex_search(
      r.out,
      std::regex(R"(engine: implicit history: row lists +[0-9.]+ MB(, shared| x 2 copies); after )"
                 R"(ingest [0-9]+\.[0-9])")))
      << r.out;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex(R"(engine: total of the above; after ingest +[0-9.]+ MB; [0-9]+\.[0-9])")))
      << r.out;
  EXPECT_TRUE(Contains(r.out, "implicit, rank 64, durability sync")) << r.out;
  EXPECT_TRUE(Contains(r.out, "p50 ")) << r.out;
  EXPECT_TRUE(Contains(r.out, "1.000")) << r.out;
  EXPECT_FALSE(Contains(r.out, "errors")) << r.out;
  EXPECT_TRUE(Contains(r.err, "bench scale: recovered from the log")) << r.err;
  // The hold-out (the stream's next 300 events) scores some events, and the
  // model serves the planted tastes better than the popular list does.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.out, m, std::regex(R"(popular list \(next 300 events\) +([0-9.]+) / ([0-9.]+))")))
      << r.out;
  EXPECT_GT(std::stod(m[1]), std::stod(m[2])) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(answered by the model\) +[1-9][0-9]*, of)")))
      << r.out;
  // The ingest stage's CPU by thread names the server's two busy threads.
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex(R"(CPU per event \(us\) by thread +.*sr-model [0-9]+\.[0-9])")))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(by thread +.*sr-log [0-9]+\.[0-9])")))
      << r.out;
  ExpectCrashRecovered(r);
  EXPECT_TRUE(fs::is_empty(Path("scale")));
}

// --retrain: the whole log retrained and installed while single events are
// written, with its time, the memory around it and the writes' waits.
TEST_F(BenchScaleTest, RetrainStageRetrainsUnderWrites) {
  const RunResult r = RunSmall({"--seconds", "0.2", "--crash-seconds", "0", "--retrain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Every event of the log trains ials (3000 loaded, then the ingest's).
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      r.out, m,
      std::regex(R"(retrain \(ials\) of the whole log, installed; of it training +[0-9.]+ s; )"
                 R"([0-9.]+ s on ([0-9]+) examples)")))
      << r.out;
  EXPECT_GT(std::stoull(m[1]), 3000u) << r.out;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex(R"(RSS before it, peak while it ran, after it +[1-9][0-9.]* MB, )"
                        R"(([1-9][0-9.]* MB|not measured), [1-9][0-9.]* MB)")))
      << r.out;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex(R"(single-event writes meanwhile \(p99, longest wait: the install\) +)"
                        R"([0-9]+, p99 [0-9.]+ ms, longest [0-9.]+ ms\n)")))
      << r.out;
  EXPECT_FALSE(Contains(r.out, "crash:")) << r.out;
  EXPECT_TRUE(Contains(r.err, "bench scale: retrain: ")) << r.err;
  EXPECT_TRUE(fs::is_empty(Path("scale")));
}

// The killed server runs the configuration file, with --rank over the
// file's (or it would replay the whole log under another model) and its
// API keys enforced: the bench sends the key with the write and admin
// scopes, and refuses to start when none has both.
TEST_F(BenchScaleTest, TheCrashStageServesTheConfigurationWithItsKeys) {
  const std::string conf = Path("keys.conf");
  WriteFile(conf,
            "[model]\nrank = 8\n[api]\nkeys = app:read+write:0123456789abcdef, "
            "all:read+write+admin:fedcba9876543210\n");
  const RunResult r =
      RunSmall({"--seconds", "0.1", "--crash-seconds", "0.5", "--config", conf, "--rank", "16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Contains(r.out, "implicit, rank 16")) << r.out;
  ExpectCrashRecovered(r);
  EXPECT_TRUE(fs::is_empty(Path("scale")));

  WriteFile(conf, "[api]\nkeys = app:read+write:0123456789abcdef, ops:admin:fedcba9876543210xx\n");
  ExpectUsageError(RunSmall({"--config", conf}), {"write and admin", "--crash-seconds 0"});
  // Without the crash stage the keys are not needed.
  EXPECT_EQ(RunSmall({"--seconds", "0.1", "--crash-seconds", "0", "--config", conf}).exit_code, 0);
}

// The exact top-N the recall compares against scores each objective as
// RecommendForUser does (fold-in and item biases under rating, biases
// under bpr).
TEST_F(BenchScaleTest, RecallIsExactUnderEveryObjective) {
  for (const char* objective : {"rating", "bpr"}) {
    const std::string conf = Path(std::string(objective) + ".conf");
    WriteFile(conf, std::string("[model]\nobjective = ") + objective +
                        "\nrank = 8\n[storage]\ndurability = process\n");
    const RunResult r = RunSmall({"--seconds", "0.1", "--crash-seconds", "0", "--config", conf});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(Contains(r.out, std::string(objective) + ", rank 8, durability process")) << r.out;
    EXPECT_FALSE(Contains(r.out, "recovery after the crash")) << r.out;
    EXPECT_TRUE(
        std::regex_search(r.out, std::regex(R"(recall@10 vs exact scan \([0-9]+ users\) +1\.000)")))
        << r.out;
  }
}

TEST_F(BenchScaleTest, BadFlagsAreUsageErrors) {
  ExpectUsageError(Run({"bench", "scale", "--connections", "0"}), {"--connections in [1,1024]"});
  ExpectUsageError(RunSmall({"--seconds", "0"}), {"--seconds in (0, 3600]"});
  ExpectUsageError(Run({"bench", "scale", "--events", "0"}),
                   {"--users, --items and --events must be >= 1"});
  ExpectUsageError(Run({"bench", "scale", "--dir", Path("absent")}), {"absent", "not a directory"});
  ExpectUsageError(RunSmall({"--config", Path("absent.conf")}), {"absent.conf"});
  WriteFile(Path("bad.conf"), "[model]\nrank = 0\n");
  ExpectUsageError(RunSmall({"--config", Path("bad.conf")}), {"bad.conf", "rank"});
  ExpectUsageError(RunSmall({"--rank", "0"}), {"--rank must be in [1, 1024]"});
  ExpectUsageError(RunSmall({"--crash-seconds", "-1"}), {"--crash-seconds must be in [0, 3600]"});
  ExpectUsageError(RunSmall({"--holdout", "200000000"}), {"--holdout must be at most"});
}

}  // namespace
}  // namespace streamrec::tools
