// MemoryReleaser: gives the heap's free pages back to the system while the
// server runs, when its resident memory has grown enough to be worth the
// pause, and once after a burst of work ends.
//
// Why: glibc's malloc keeps what the process frees. Ingest frees much on
// the way (history rows that grow and move, request buffers, the
// memtables RocksDB flushes), and the holes lie between live blocks, below
// the heap's top, where only malloc_trim gives their pages back. Measured
// on `serve` at 500k users x 100k items x 5M events, 15 s of `bench
// ingest` at ~70k events/s: RSS 524 MB -> ~800 MB with nothing released,
// ~630 MB with this (docs/SCALE.md, round 28). A fixed
// malloc mmap threshold (256 KB: big blocks mapped and unmapped each time)
// got ~620-640 MB with no release at all but cost ingest 15-20% (44-61k
// against 63-76k events/s), so it is not set.
//
// The cost is the pause: malloc_trim walks each arena's free lists under
// that arena's lock (5-10 ms on that server idle, ~100 ms and up to 0.45 s
// under ingest: the walk, not the system calls), and a thread allocating
// from an arena being walked waits. So the heap is released only
//   - when the resident set is `min_growth_bytes` above what the last
//     release (or the start) left: under steady ingest, about once per
//     min_growth_bytes of growth;
//   - once the work that freed memory has stopped: `activity` (a count
//     the owner advances as it works, the store's applied events) moved
//     since the last release and then held still for an `interval`, which
//     catches what was freed after the last release without growing the
//     set (a burst of ingest ending).
// Checked every `interval`. A server whose memory and work hold still is
// never paused.
//
// Thread-safety: status() from any thread; the rest is the owner's.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>

#include "engine/core/mutex.h"

namespace streamrec::storage {

struct MemoryReleaseOptions {
  // How often the resident set is read (0: never; no thread is started).
  std::chrono::milliseconds interval{5000};
  // Growth since the last release that makes the next one.
  uint64_t min_growth_bytes = uint64_t{64} << 20;
};

struct MemoryReleaseStatus {
  bool enabled = false;
  uint64_t resident_bytes = 0;  // now
  uint64_t releases = 0;        // since start: by growth, and once work settled
  uint64_t releases_on_growth = 0;
  // Resident bytes the releases gave back, summed (before - after each).
  uint64_t released_bytes = 0;
  double last_seconds = 0;  // the newest release's pause
  double max_seconds = 0;   // the longest
};

// Fixes glibc malloc's two thresholds for the whole process (call it once,
// first thing in main; it keeps either one an operator set in
// GLIBC_TUNABLES). Returns whether it set anything.
//   - Blocks of 1 MB and more are mapped on their own (mmap) and unmapped
//     when freed. glibc's default threshold starts at 128 KB and rises to
//     the size of each mapped block freed, up to 32 MB: once the store had
//     freed a 25 MB buffer (an IVF training's copy of the items), the
//     snapshot's 4 MB pieces (SnapshotPipe) and RocksDB's 8 MB table
//     blocks (its SstFileWriter) came from the threads' heaps instead.
//   - A thread's heap gives back the free memory at its top once that is
//     8 MB or more. glibc's default rises with the mmap threshold, to 64
//     MB; malloc_trim (ReleaseNow) never shrinks a thread's heap at its
//     top, only the main heap's and free blocks below a top.
// Measured at 500k users x 100k items x 5M events, `serve` open, its
// snapshot written, idle: 425-436 MB resident by default, 395 MB with
// these (the model thread's heap kept ~25 MB the snapshot's pieces had
// used, the snapshot writer's ~12 MB the table blocks had); after 30 s
// of HTTP ingest, settled: 534-569 against 503-531 MB. Ingest was not
// slower (54-63k events/s by default, 58-64k with these; alternating
// runs). The benchmarks run through main too; the tests do not, but for
// the one that checks this (memory_release_test.cc).
bool SetHeapPolicy();

class MemoryReleaser {
 public:
  // Starts the thread ("sr-memory") unless options.interval is 0.
  // `activity` is called from that thread, until the destructor returns.
  MemoryReleaser(const MemoryReleaseOptions& options, std::function<uint64_t()> activity);
  ~MemoryReleaser();  // Stop()
  MemoryReleaser(const MemoryReleaser&) = delete;
  MemoryReleaser& operator=(const MemoryReleaser&) = delete;

  // Stops and joins the thread (no more releases, no more calls of
  // `activity`); status() still answers. Idempotent; the owner's thread.
  void Stop();

  MemoryReleaseStatus status() const;

  // The process's resident set, bytes (/proc/self/statm); 0 where it cannot
  // be read.
  static uint64_t ResidentBytes();
  // Gives the heap's free pages back now (malloc_trim; nothing off glibc).
  static void ReleaseNow();

 private:
  // The thread: `resident` and `activity` as the constructor read them.
  void Loop(uint64_t resident, uint64_t activity);

  const MemoryReleaseOptions options_;
  const std::function<uint64_t()> activity_;
  mutable Mutex mu_;
  CondVar cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  // Written after each release (which runs outside mu_, so that status()
  // never waits out its pause).
  MemoryReleaseStatus status_ GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace streamrec::storage
