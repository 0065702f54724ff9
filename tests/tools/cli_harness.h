// The child-process harness of the CLI tests: runs the real `streamrec`
// binary (posix_spawn, no shell) with stdout/stderr captured to files in a
// per-test temporary directory.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace streamrec::tools::testing {

namespace fs = std::filesystem;
namespace json = boost::json;

// A child that runs longer than this is killed and the test fails.
inline constexpr auto kChildTimeout = std::chrono::seconds(60);

struct RunResult {
  int exit_code = -1;  // 128 + signal if the child was killed by one
  std::string out;
  std::string err;
};

inline std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << p;
}

// The MovieLens 100K directory, or "" when it is not on this machine.
inline std::string MovieLens100KDir() {
  const char* env = std::getenv("STREAMREC_DATA");
  const fs::path root =
      env && *env ? fs::path(env) : fs::path(STREAMREC_SOURCE_DIR) / ".." / "shared" / "data";
  const fs::path dir = root / "ml-100k";
  std::error_code ec;
  return fs::is_regular_file(dir / "u1.base", ec) && fs::is_regular_file(dir / "u1.test", ec)
             ? dir.string()
             : "";
}

// The value of `key` under [section] in an INI file, or "" if absent.
inline std::string IniValue(const std::string& path, const std::string& section,
                            const std::string& key) {
  std::ifstream in(path);
  std::string line, current;
  const std::regex kv(R"(^\s*([A-Za-z_]+)\s*=\s*(\S*)\s*$)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.size() > 1 && line.front() == '[' && line.back() == ']') {
      current = line.substr(1, line.size() - 2);
    } else if (current == section && std::regex_match(line, m, kv) && m[1] == key) {
      return m[2].str();
    }
  }
  return "";
}

// Every --algo name.
inline const std::regex kAlgorithm("sgd|als|online|bpmf");

// Removes every "train_seconds":<number> member: the only field that may
// differ between two runs of the same evaluation.
inline std::string WithoutTrainSeconds(const std::string& s) {
  static const std::regex kField(R"(,?"train_seconds":[^,}]*)");
  return std::regex_replace(s, kField, "");
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           (std::string("streamrec_cli_") + std::to_string(getpid()) + "_" + info->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(fs::create_directories(dir_)) << dir_;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // Runs `streamrec args...` and waits for it; stdin is `stdin_path`.
  RunResult Run(const std::vector<std::string>& args, const std::string& stdin_path = "/dev/null") {
    const std::string out_path = Path("child.stdout"), err_path = Path("child.stderr");
    std::vector<std::string> argv_s = {STREAMREC_BIN};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    RunResult r;
    if (rc != 0) {
      ADD_FAILURE() << "posix_spawn " << argv[0] << ": " << std::strerror(rc);
      return r;
    }
    int status = 0;
    const auto deadline = std::chrono::steady_clock::now() + kChildTimeout;
    pid_t waited = 0;
    while ((waited = waitpid(pid, &status, WNOHANG)) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ADD_FAILURE() << "streamrec timed out; args: " << ::testing::PrintToString(args);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (waited < 0) ADD_FAILURE() << "waitpid: " << std::strerror(errno);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = ReadFile(out_path);
    r.err = ReadFile(err_path);
    return r;
  }

  // Writes a small synthetic event file and returns its path. The data set
  // is pinned here (not left to the generator's defaults) so that it stays
  // dense enough for train and test to share users and items.
  std::string Generate(const std::string& name, const std::string& events = "2000") {
    const std::string path = Path(name);
    const RunResult r = Run(GenerateArgs(events, path));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return path;
  }
  static std::vector<std::string> GenerateArgs(const std::string& events, const std::string& out) {
    return {"generate", "--events", events, "--users", "200", "--items", "100", "--out", out};
  }

  fs::path dir_;
};

// Expects exit code 2, nothing on stdout and every one of `needles` in stderr.
inline void ExpectUsageError(const RunResult& r, std::initializer_list<std::string> needles) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out, "");
  for (const std::string& n : needles) {
    EXPECT_NE(r.err.find(n), std::string::npos) << "missing '" << n << "' in: " << r.err;
  }
}

inline bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace streamrec::tools::testing
