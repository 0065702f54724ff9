#include "storage/memory_release.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "engine/core/thread_name.h"

namespace streamrec::storage {

MemoryReleaser::MemoryReleaser(const MemoryReleaseOptions& options,
                               std::function<uint64_t()> activity)
    : options_(options), activity_(std::move(activity)) {
  status_.enabled = options_.interval.count() > 0;
  if (!status_.enabled) return;
  // Read here, not on the thread: what the owner does after the
  // constructor returns is activity since the start.
  const uint64_t resident = ResidentBytes(), work = activity_();
  thread_ = std::thread([this, resident, work] { Loop(resident, work); });
}

MemoryReleaser::~MemoryReleaser() { Stop(); }

void MemoryReleaser::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

MemoryReleaseStatus MemoryReleaser::status() const {
  MemoryReleaseStatus s;
  {
    MutexLock lock(&mu_);
    s = status_;
  }
  s.resident_bytes = ResidentBytes();
  return s;
}

uint64_t MemoryReleaser::ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  const long page = sysconf(_SC_PAGESIZE);
  if (got != 2 || page <= 0) return 0;
  return resident * static_cast<uint64_t>(page);
}

void MemoryReleaser::ReleaseNow() {
#if defined(__GLIBC__)
  (void)malloc_trim(0);
#endif
}

bool SetHeapPolicy() {
#if defined(__GLIBC__)
  constexpr int kMmapThreshold = 1 << 20;
  constexpr int kTrimThreshold = 8 << 20;
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const std::string_view set = tunables != nullptr ? tunables : "";
  bool changed = false;
  if (set.find("glibc.malloc.mmap_threshold") == std::string_view::npos) {
    changed |= mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1;
  }
  if (set.find("glibc.malloc.trim_threshold") == std::string_view::npos) {
    changed |= mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
  }
  return changed;
#else
  return false;
#endif
}

void MemoryReleaser::Loop(uint64_t resident, uint64_t activity) {
  engine::NameThisThread("sr-memory");
  // The resident set the last release left, or the lowest read since.
  uint64_t baseline = resident;
  // The activity count at the last release (or the start), and at the last
  // check.
  uint64_t released_at = activity;
  uint64_t last = activity;
  MutexLock lock(&mu_);
  for (;;) {
    const auto wake = std::chrono::steady_clock::now() + options_.interval;
    while (!stopping_) {
      if (!cv_.WaitUntil(&mu_, wake)) break;  // timed out
    }
    if (stopping_) return;
    lock.Unlock();
    const uint64_t before = ResidentBytes();
    baseline = std::min(baseline, before);
    const uint64_t now = activity_();
    const bool grown = before >= baseline + options_.min_growth_bytes;
    const bool settled = now != released_at && now == last;
    last = now;
    if (grown || settled) {
      const auto started = std::chrono::steady_clock::now();
      ReleaseNow();
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const uint64_t after = ResidentBytes();
      baseline = after;
      released_at = now;
      lock.Lock();
      ++status_.releases;
      if (grown) ++status_.releases_on_growth;
      if (after < before) status_.released_bytes += before - after;
      status_.last_seconds = seconds;
      status_.max_seconds = std::max(status_.max_seconds, seconds);
      continue;
    }
    lock.Lock();
  }
}

}  // namespace streamrec::storage
