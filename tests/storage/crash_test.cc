// Kills a writer with SIGKILL at random moments and checks, after every
// restart, that the database opens and holds every acknowledged event
// exactly once (and no event twice).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "storage/event_log.h"
#include "tests/storage/temp_dir.h"

extern char** environ;

namespace streamrec::storage {
namespace {

// Runs the child for `run_ms`, SIGKILLs it, returns the ids it printed as
// acknowledged (complete lines only: a torn last line was never acked).
std::vector<std::string> RunAndKill(const std::string& db, int cycle, const char* mode, int run_ms,
                                    const std::string& out_path) {
  std::string cycle_s = std::to_string(cycle);
  std::vector<char*> argv = {const_cast<char*>(STREAMREC_CRASH_CHILD),
                             const_cast<char*>(db.c_str()), cycle_s.data(), const_cast<char*>(mode),
                             nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0);
  if (rc != 0) return {};
  std::this_thread::sleep_for(std::chrono::milliseconds(run_ms));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status))
      << "the child exited by itself (status " << status << "): it failed before the kill";
  std::ifstream in(out_path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  std::vector<std::string> ids;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    ids.push_back(text.substr(start, nl - start));
  }
  return ids;
}

void CrashCycles(const char* mode, int cycles, uint32_t seed) {
  testing::TempDir dir;
  const std::string db = dir.Sub("db");
  std::mt19937 rng(seed);
  std::map<std::string, int> acked;  // id -> times acknowledged (retries ack again)
  size_t total_acked = 0;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    // 30..180 ms: the first cycles may die during open, later ones mid-write.
    const int run_ms = 30 + static_cast<int>(rng() % 150);
    for (const auto& id : RunAndKill(db, cycle, mode, run_ms, dir.Sub("out"))) {
      ++acked[id];
      ++total_acked;
    }
    EventLogOptions o;
    o.create_if_missing = false;
    auto log = EventLog::Open(db, o);
    // Killed before it had created the database (a slow start, as under a
    // sanitizer): nothing can have been acknowledged yet.
    if (!log.ok() && log.status().code() == StatusCode::kNotFound && total_acked == 0) continue;
    ASSERT_TRUE(log.ok()) << "cycle " << cycle << ": " << log.status().ToString();
    std::map<std::string, int> stored;
    uint64_t prev = 0;
    ASSERT_TRUE((*log)
                    ->Scan(1, UINT64_MAX,
                           [&](const StoredEvent& e) {
                             EXPECT_GT(e.seq, prev);
                             prev = e.seq;
                             ++stored[e.event_id];
                             return true;
                           })
                    .ok());
    for (const auto& [id, n] : stored) ASSERT_EQ(n, 1) << "event " << id << " stored twice";
    for (const auto& [id, n] : acked) {
      ASSERT_EQ(stored.count(id), 1u) << "cycle " << cycle << ": acknowledged " << id << " lost";
    }
    EXPECT_GE((*log)->next_seq(), prev + 1);
  }
  // The test only means something if writes were under way when killed.
  EXPECT_GT(total_acked, static_cast<size_t>(cycles) * 10) << "too few acknowledged writes";
}

TEST(CrashTest, SyncDurabilitySurvivesRepeatedSigkill) { CrashCycles("sync", 20, 7); }

TEST(CrashTest, ProcessDurabilitySurvivesRepeatedSigkill) { CrashCycles("process", 20, 11); }

}  // namespace
}  // namespace streamrec::storage
