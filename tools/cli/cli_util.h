// Small helpers shared by the CLI subcommands: terminal detection, a
// progress bar that only draws on a terminal, fold-list parsing and plain
// text tables.
//
// Thread-safety: ProgressBar is used from one thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace streamrec::tools {

bool StderrIsTerminal();

// A one-line progress bar on stderr, redrawn at most 10 times a second;
// silent when stderr is not a terminal (CI logs, pipes).
class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void Update(size_t done, size_t total);
  void Finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

// "u1..u5" -> u1,u2,u3,u4,u5; "u1,u3" -> u1,u3; "ua" -> ua.
StatusOr<std::vector<std::string>> ParseFolds(std::string_view spec);

// "75/25" -> 0.75. Both parts positive integers summing to 100.
StatusOr<double> ParseSplit(std::string_view spec);

// Left-aligned first column, right-aligned others, two spaces apart.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

}  // namespace streamrec::tools
