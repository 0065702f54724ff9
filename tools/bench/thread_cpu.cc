#include "tools/bench/thread_cpu.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>

namespace streamrec::tools {

std::optional<uint64_t> StatCpuTicks(std::string_view stat) {
  // "tid (name) state ppid ...": the name ends at the last ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat.substr(close + 1);
  // Fields after the name start at 3 (state); utime is 14, stime 15.
  uint64_t ticks = 0;
  for (int field = 3; field <= 15; ++field) {
    const size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::nullopt;
    rest.remove_prefix(start);
    const size_t end = std::min(rest.find(' '), rest.size());
    if (field >= 14) {
      uint64_t v = 0;
      const auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + end, v);
      if (ec != std::errc() || ptr != rest.data() + end) return std::nullopt;
      ticks += v;
    }
    rest.remove_prefix(end);
  }
  return ticks;
}

std::map<std::string, double> ThreadCpuSeconds() {
  namespace fs = std::filesystem;
  std::map<std::string, double> out;
  const long hz = sysconf(_SC_CLK_TCK);
  if (hz <= 0) return out;
  std::error_code ec;
  for (fs::directory_iterator it("/proc/self/task", ec), end; !ec && it != end; it.increment(ec)) {
    std::string name;
    std::ifstream comm(it->path() / "comm");
    std::getline(comm, name);
    if (name.empty()) continue;  // the thread exited meanwhile
    std::ifstream sched(it->path() / "schedstat");
    uint64_t ns = 0;
    if (sched >> ns) {
      out[name] += static_cast<double>(ns) * 1e-9;
      continue;
    }
    std::string stat;
    std::ifstream in(it->path() / "stat");
    std::getline(in, stat);
    if (const std::optional<uint64_t> ticks = StatCpuTicks(stat)) {
      out[name] += static_cast<double>(*ticks) / static_cast<double>(hz);
    }
  }
  return out;
}

std::string CpuPerUnit(const std::map<std::string, double>& before,
                       const std::map<std::string, double>& after, uint64_t units) {
  if (units == 0) return "";
  std::vector<std::pair<double, std::string>> us;
  for (const auto& [name, seconds] : after) {
    const auto was = before.find(name);
    const double spent = seconds - (was == before.end() ? 0.0 : was->second);
    const double per = 1e6 * spent / static_cast<double>(units);
    if (per >= 0.05) us.emplace_back(per, name);
  }
  std::sort(us.begin(), us.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string s;
  for (const auto& [per, name] : us)
    s += fmt::format("{}{} {:.1f}", s.empty() ? "" : ", ", name, per);
  return s;
}

}  // namespace streamrec::tools
