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

// Seconds of CPU per thread name, summed over the live threads of this
// process that carry it (/proc/self/task): the scheduler's nanoseconds on
// CPU (schedstat), or utime + stime in clock ticks (stat, 10 ms steps)
// where schedstat is missing. Empty where /proc cannot be read. Threads
// that exited are not counted.
std::map<std::string, double> ThreadCpuSeconds();

// utime + stime, in clock ticks, of one /proc/<pid>/task/<tid>/stat line
// (fields 14 and 15, counted after the name in parentheses, which may
// itself hold spaces and parentheses); nullopt if the line is malformed.
std::optional<uint64_t> StatCpuTicks(std::string_view stat);

// "sr-model 12.3, sr-log 7.1, ..." : the microseconds of CPU per unit
// (event) each name took between `before` and `after`, largest first,
// names under 0.05 us left out; "" if `units` is 0.
std::string CpuPerUnit(const std::map<std::string, double>& before,
                       const std::map<std::string, double>& after, uint64_t units);

}  // namespace streamrec::tools
