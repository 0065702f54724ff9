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

// Complete lines in `path` (a torn last line was never acknowledged).
size_t CountLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  size_t n = 0;
  for (char c; in.get(c);) n += c == '\n';
  return n;
}

// When a cycle's child is killed: once it has acknowledged `min_acks` events
// (0: at once), plus `extra_ms`. Waiting on progress rather than on the clock
// keeps the test meaningful on a slow machine (a sanitizer build under load
// once acknowledged 65 events in 20 fixed-time cycles).
struct KillRule {
  size_t min_acks = 0;
  int extra_ms = 0;
};

// Runs the child until `rule` says, SIGKILLs it, returns the ids it printed
// as acknowledged (complete lines only: a torn last line was never acked).
std::vector<std::string> RunAndKill(const std::string& db, int cycle, const char* mode,
                                    KillRule rule, const std::string& out_path) {
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
  // A child that never gets going is still killed, and the caller's count
  // of acknowledged events shows it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (rule.min_acks > 0 && CountLines(out_path) < rule.min_acks &&
         std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) {
      ADD_FAILURE() << "the child exited by itself before the kill";
      return {};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(rule.extra_ms));
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
  int cycles_with_acks = 0;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    // One cycle in four is killed on the clock, 0..60 ms in: it may die while
    // opening or recovering. The rest die mid-write, 1..40 events in plus
    // 0..20 ms.
    KillRule rule;
    if (cycle % 4 == 0) {
      rule.extra_ms = static_cast<int>(rng() % 60);
    } else {
      rule.min_acks = 1 + rng() % 40;
      rule.extra_ms = static_cast<int>(rng() % 20);
    }
    const auto ids = RunAndKill(db, cycle, mode, rule, dir.Sub("out"));
    if (rule.min_acks > 0) {
      EXPECT_GE(ids.size(), rule.min_acks) << "cycle " << cycle << ": the child made no progress";
    }
    cycles_with_acks += !ids.empty();
    for (const auto& id : ids) {
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
  EXPECT_GE(cycles_with_acks, cycles * 3 / 4) << "too few cycles acknowledged writes";
}

TEST(CrashTest, SyncDurabilitySurvivesRepeatedSigkill) { CrashCycles("sync", 20, 7); }

TEST(CrashTest, ProcessDurabilitySurvivesRepeatedSigkill) { CrashCycles("process", 20, 11); }

}  // namespace
}  // namespace streamrec::storage
