// `streamrec bench log` and `streamrec bench recovery`: append throughput
// of the event log per durability mode and batch size, and how long a
// restart takes with and without a snapshot.
#include "tools/bench/bench_storage.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "engine/live/recommender.h"
#include "storage/event_log.h"
#include "storage/recovery.h"
#include "tools/bench/bench_util.h"

namespace streamrec::tools {
namespace {

using Clock = std::chrono::steady_clock;

storage::StoredEvent SyntheticEvent(uint64_t n) {
  return {0,
          fmt::format("e{}", n),
          fmt::format("u{}", (n * 2654435761u) % 100000),
          fmt::format("i{}", (n * 40503u) % 20000),
          n % 3 == 0 ? "rating" : "view",
          n % 3 == 0 ? static_cast<float>(1 + n % 5) : 0.0f,
          1'700'000'000'000 + static_cast<int64_t>(n)};
}

// Appends for about `seconds` (at most max_events) with `threads` writers;
// returns events/s.
StatusOr<double> AppendRate(const std::string& dir, storage::Durability mode, size_t batch,
                            int threads, double seconds, uint64_t max_events) {
  std::filesystem::remove_all(dir);
  storage::EventLogOptions o;
  o.durability = mode;
  auto log = storage::EventLog::Open(dir, o);
  if (!log.ok()) return log.status();
  std::atomic<uint64_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  const auto t0 = Clock::now();
  auto work = [&] {
    std::vector<storage::StoredEvent> b;
    while (!failed && Since(t0) < seconds) {
      const uint64_t start = next.fetch_add(batch);
      if (start >= max_events) break;
      b.clear();
      for (uint64_t n = start; n < start + batch; ++n) b.push_back(SyntheticEvent(n));
      if (!(*log)->Append(b).ok()) failed = true;
      done += batch;
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  const double elapsed = Since(t0);
  if (failed) return Status::IOError("an append failed during the benchmark");
  return static_cast<double>(done) / elapsed;
}

}  // namespace

int BenchLog(const std::string& dir, const std::vector<size_t>& batches, int threads,
             double seconds) {
  fmt::print("event log append throughput ({} s per case, {} writer thread(s), dir {})\n", seconds,
             threads, dir);
  for (storage::Durability mode : {storage::Durability::kSync, storage::Durability::kProcess}) {
    for (size_t b : batches) {
      auto rate = AppendRate(dir + "/bench-log", mode, b, threads, seconds, 5'000'000);
      if (!rate.ok()) {
        fmt::print(stderr, "streamrec bench: {}\n", rate.status().message());
        return 1;
      }
      fmt::print("  {:<7} batch {:>5}: {:>10.0f} events/s  ({:.0f} batches/s)\n",
                 mode == storage::Durability::kSync ? "sync" : "process", b, *rate, *rate / b);
    }
  }
  std::filesystem::remove_all(dir + "/bench-log");
  return 0;
}

int BenchRecovery(const std::string& dir, uint64_t events, const engine::RecommenderOptions& ro) {
  const std::string db = dir + "/bench-recovery";
  std::filesystem::remove_all(db);
  storage::EventLogOptions o;
  o.durability = storage::Durability::kProcess;  // loading speed is not what is measured
  const engine::EventTypes types = engine::EventTypes::Defaults();
  {
    auto log = storage::EventLog::Open(db, o);
    if (!log.ok()) return fmt::print(stderr, "{}\n", log.status().message()), 1;
    std::vector<storage::StoredEvent> b;
    for (uint64_t n = 0; n < events; n += b.size()) {
      b.clear();
      for (uint64_t k = n; k < std::min(events, n + 10000); ++k) b.push_back(SyntheticEvent(k));
      if (!(*log)->Append(b).ok()) return 1;
    }
    if (!(*log)->Flush().ok()) return 1;
  }
  auto measure = [&](const char* label) -> int {
    const auto t0 = Clock::now();
    auto log = storage::EventLog::Open(db, o);
    if (!log.ok()) return fmt::print(stderr, "{}\n", log.status().message()), 1;
    engine::Recommender rec(ro, types);
    auto r = storage::Recover(**log, &rec);
    if (!r.ok()) return fmt::print(stderr, "{}\n", r.status().message()), 1;
    fmt::print("  {:<24} {:>7.2f} s  (snapshot at seq {}, {} events replayed)\n", label, Since(t0),
               r->snapshot_seq, r->replayed);
    return 0;
  };
  fmt::print("recovery of a {}-event log, {} objective, rank {} (open + load + replay)\n", events,
             engine::ObjectiveName(ro.objective), ro.model.rank);
  if (measure("without snapshot:") != 0) return 1;
  // The snapshot a server would have written at seq `at`.
  auto snapshot_at = [&](uint64_t at) -> bool {
    auto log = storage::EventLog::Open(db, o);
    if (!log.ok()) return false;
    engine::Recommender rec(ro, types);
    auto r = storage::Recover(**log, &rec, at);
    return r.ok() && storage::WriteSnapshot(log->get(), rec, r->last_seq).ok();
  };
  // A tail of half the log (longer than the catalog: replayed on two
  // threads, the index filed at the end), as a crash long after the last
  // snapshot leaves; then the snapshot just before the last events.
  if (!snapshot_at(events / 2) || measure("with snapshot halfway:") != 0) return 1;
  if (!snapshot_at(UINT64_MAX) || measure("with snapshot at the end:") != 0) return 1;
  std::filesystem::remove_all(db);
  return 0;
}

}  // namespace streamrec::tools
