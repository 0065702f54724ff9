#include "tools/bench/serve_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string_view>
#include <thread>

extern char** environ;

namespace streamrec::tools {

std::string ReadTextFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string WithConfigKey(const std::string& text, const std::string& section,
                          const std::string& key, const std::string& value) {
  const std::regex line(R"((^|\n)[ \t]*)" + key + R"([ \t]*=[^\n]*)");
  const std::string set = key + " = " + value;
  if (!std::regex_search(text, line)) return text + "\n[" + section + "]\n" + set + "\n";
  // "$" in a replacement refers to a match; the value's own are doubled.
  return std::regex_replace(text, line,
                            "$1" + std::regex_replace(set, std::regex(R"(\$)"), "$$$$"));
}

ServeProcess::~ServeProcess() {
  if (pid_ > 0) Stop(SIGTERM);
}

StatusOr<std::unique_ptr<ServeProcess>> ServeProcess::Start(const std::vector<std::string>& args,
                                                            const std::string& log_path,
                                                            const std::vector<std::string>& unset) {
  std::vector<std::string> all = {"/proc/self/exe", "serve"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view var(*e);
    bool keep = true;
    for (const std::string& name : unset) {
      if (var.size() > name.size() && var.starts_with(name) && var[name.size()] == '=') {
        keep = false;
      }
    }
    if (keep) envp.push_back(*e);
  }
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    return Status::Internal(fmt::format("cannot start serve: {}", std::strerror(rc)));
  }
  auto p = std::make_unique<ServeProcess>();
  p->pid_ = pid;
  p->log_path_ = log_path;
  return p;
}

StatusOr<uint16_t> ServeProcess::WaitListening(std::chrono::steady_clock::time_point deadline) {
  const std::regex listening(R"(listening on http://[^ ]+:([0-9]+))");
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string log = ReadLog();
    std::smatch m;
    if (std::regex_search(log, m, listening)) {
      port_ = static_cast<uint16_t>(std::stoi(m[1].str()));
      return port_;
    }
    if (Exited()) {
      return Status::FailedPrecondition(fmt::format("serve exited before it listened:\n{}", log));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status::Unavailable("serve did not listen in time:\n" + ReadLog());
}

bool ServeProcess::Exited() {
  if (pid_ <= 0) return true;
  if (waitpid(pid_, nullptr, WNOHANG) != pid_) return false;
  pid_ = -1;
  return true;
}

void ServeProcess::Stop(int signal) {
  if (pid_ <= 0) return;
  kill(pid_, signal);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string ServeProcess::ReadLog() const { return ReadTextFile(log_path_); }

}  // namespace streamrec::tools
