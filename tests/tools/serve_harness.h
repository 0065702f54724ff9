// ServeTest: `streamrec serve` as a child process on an ephemeral port,
// started and stopped the way an operator or supervisor would (SIGTERM,
// SIGKILL). Shared by serve_test.cc and serve_crash_test.cc.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "tests/tools/cli_harness.h"

extern char** environ;

namespace streamrec::tools::testing {

// A `streamrec serve` running in the background.
struct Server {
  pid_t pid = -1;
  std::string out_path, err_path;
  uint16_t port = 0;
};

class ServeTest : public CliTest {
 protected:
  void TearDown() override {
    for (pid_t pid : running_) {  // a failed test's leftovers
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    CliTest::TearDown();
  }

  // Starts `streamrec serve args...` with `env` added to the environment
  // and waits for its listening line (fails the test if none comes).
  void Start(Server* s, const std::vector<std::string>& args,
             const std::vector<std::string>& env = {}) {
    static int n = 0;
    s->out_path = Path(fmt::format("serve{}.stdout", n));
    s->err_path = Path(fmt::format("serve{}.stderr", n++));
    std::vector<std::string> argv_s = {STREAMREC_BIN, "serve"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s(env);
    for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
    std::vector<char*> envp;
    for (std::string& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, s->out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, s->err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int rc = posix_spawn(&s->pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ASSERT_EQ(rc, 0) << std::strerror(rc);
    running_.push_back(s->pid);
    const std::regex line(R"(streamrec: listening on http://[^ ]+:([0-9]+)\n)");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      std::smatch m;
      const std::string out = ReadFile(s->out_path);
      if (std::regex_search(out, m, line)) {
        s->port = static_cast<uint16_t>(std::stoi(m[1].str()));
        return;
      }
      int status = 0;
      if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
        Forget(s);
        FAIL() << "serve exited early: " << out << ReadFile(s->err_path);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "no listening line: " << ReadFile(s->out_path) << ReadFile(s->err_path);
  }

  // Sends `sig` and returns the exit code (128 + signal if killed by one).
  int Stop(Server* s, int sig = SIGTERM) {
    EXPECT_GT(s->pid, 0);
    if (s->pid <= 0) return -1;
    kill(s->pid, sig);
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (waitpid(s->pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "serve did not stop";
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Forget(s);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void Forget(Server* s) {
    std::erase(running_, s->pid);
    s->pid = -1;
  }

  std::vector<pid_t> running_;
};

}  // namespace streamrec::tools::testing
