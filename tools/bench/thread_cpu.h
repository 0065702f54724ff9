// CPU time of this process's threads by name, for the benchmarks that run
// the server in-process (bench ingest on a server of its own, bench scale):
// which thread an event's CPU goes to is the figure that stays put between
// runs when throughput on a shared 2-core machine swings by 15%.
// Threads are named by engine::NameThisThread (sr-model, sr-log, sr-http,
// sr-client, ...; RocksDB names its own).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace streamrec::tools {

// One reading of this process's CPU time: each live thread's, by its id
// (/proc/self/task: the scheduler's nanoseconds on CPU from schedstat, or
// utime + stime in clock ticks from stat, 10 ms steps, where schedstat is
// missing), and the whole process's, threads that exited included
// (CLOCK_PROCESS_CPUTIME_ID). Empty threads where /proc cannot be read.
struct CpuSample {
  struct Thread {
    std::string name;
    double seconds = 0;
  };
  std::map<int, Thread> threads;  // by thread id
  double process = 0;
};
CpuSample SampleCpu();

// utime + stime, in clock ticks, of one /proc/<pid>/task/<tid>/stat line
// (fields 14 and 15, counted after the name in parentheses, which may
// itself hold spaces and parentheses); nullopt if the line is malformed.
std::optional<uint64_t> StatCpuTicks(std::string_view stat);

// "sr-model 12.3, sr-log 7.1, ..." : the microseconds of CPU per unit
// (event) each name took between `before` and `after`, largest first,
// names under 0.05 us left out; "" if `units` is 0. A thread counts from
// `before` (or its start) to `after` under the name it has then; what
// threads that exited in between took (the process's CPU less the live
// threads') is "exited threads". Counting by name alone, a thread live at
// `before` and gone at `after` took its whole CPU off the others of its
// name.
std::string CpuPerUnit(const CpuSample& before, const CpuSample& after, uint64_t units);

}  // namespace streamrec::tools
