// This binary's `serve` as a child process of a benchmark: started with
// posix_spawn, its stdout and stderr in a log file, found listening by the
// "listening on http://HOST:PORT" line it prints once the store is open.
// bench cluster starts a new replica this way; bench scale starts the
// server it kills under ingest.
//
// Thread-safety: a ServeProcess is owned and used by one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"

namespace streamrec::tools {

// A file's bytes ("" if it cannot be read): a configuration's text, a
// child's log.
std::string ReadTextFile(const std::string& path);

// A configuration's text for a child's --config: every `key = ...` line
// replaced by `key = value`, or, with none, `[section] key = value` added
// at the end.
std::string WithConfigKey(const std::string& text, const std::string& section,
                          const std::string& key, const std::string& value);

class ServeProcess {
 public:
  ServeProcess() = default;
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  // Stops a process still running: SIGTERM, then waits for it.
  ~ServeProcess();

  // Runs `/proc/self/exe serve <args>` with stdin from /dev/null and both
  // outputs into `log_path` (truncated), in the environment of this process
  // less the variables named in `unset`.
  static StatusOr<std::unique_ptr<ServeProcess>> Start(const std::vector<std::string>& args,
                                                       const std::string& log_path,
                                                       const std::vector<std::string>& unset = {});

  // Polls the log until the process says it listens and returns the port.
  // FailedPrecondition with the log if the process exits first,
  // Unavailable with the log at `deadline`.
  StatusOr<uint16_t> WaitListening(std::chrono::steady_clock::time_point deadline);

  // Whether the process has exited (reaped here if so).
  bool Exited();
  // Sends `signal` and waits for the process to exit.
  void Stop(int signal);
  // What the process wrote so far.
  std::string ReadLog() const;
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;  // -1 once reaped
  std::string log_path_;
  uint16_t port_ = 0;
};

}  // namespace streamrec::tools
