#include "tools/bench/thread_cpu.h"

#include <fmt/format.h>
#include <time.h>
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

CpuSample SampleCpu() {
  namespace fs = std::filesystem;
  CpuSample out;
  timespec ts{};
  if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0) {
    out.process = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }
  const long hz = sysconf(_SC_CLK_TCK);
  if (hz <= 0) return out;
  std::error_code ec;
  for (fs::directory_iterator it("/proc/self/task", ec), end; !ec && it != end; it.increment(ec)) {
    int tid = 0;
    const std::string id = it->path().filename().string();
    const auto [ptr, err] = std::from_chars(id.data(), id.data() + id.size(), tid);
    if (err != std::errc() || ptr != id.data() + id.size()) continue;
    std::string name;
    std::ifstream comm(it->path() / "comm");
    std::getline(comm, name);
    if (name.empty()) continue;  // the thread exited meanwhile
    std::ifstream sched(it->path() / "schedstat");
    uint64_t ns = 0;
    if (sched >> ns) {
      out.threads[tid] = {name, static_cast<double>(ns) * 1e-9};
      continue;
    }
    std::string stat;
    std::ifstream in(it->path() / "stat");
    std::getline(in, stat);
    if (const std::optional<uint64_t> ticks = StatCpuTicks(stat)) {
      out.threads[tid] = {name, static_cast<double>(*ticks) / static_cast<double>(hz)};
    }
  }
  return out;
}

std::string CpuPerUnit(const CpuSample& before, const CpuSample& after, uint64_t units) {
  if (units == 0) return "";
  std::map<std::string, double> spent;
  double live = 0.0;
  for (const auto& [tid, t] : after.threads) {
    // Renamed in between: the same thread. Less CPU than before: its id
    // was reused by a new one.
    const auto was = before.threads.find(tid);
    const double s = was != before.threads.end() && was->second.seconds <= t.seconds
                         ? t.seconds - was->second.seconds
                         : t.seconds;
    spent[t.name] += s;
    live += s;
  }
  std::vector<std::pair<double, std::string>> us;
  const auto per = [&](double seconds) { return 1e6 * seconds / static_cast<double>(units); };
  for (const auto& [name, seconds] : spent) {
    if (per(seconds) >= 0.05) us.emplace_back(per(seconds), name);
  }
  const double exited = after.process - before.process - live;
  if (per(exited) >= 0.05) us.emplace_back(per(exited), "exited threads");
  std::sort(us.begin(), us.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string s;
  for (const auto& [value, name] : us)
    s += fmt::format("{}{} {:.1f}", s.empty() ? "" : ", ", name, value);
  return s;
}

}  // namespace streamrec::tools
