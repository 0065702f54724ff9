// bench scale's table (bench_scale_figures.h): one row per figure, the
// engine's memory by part after recovery and after ingest, the retrain
// and crash stages' rows.
#include <fmt/format.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "tools/bench/bench_scale_figures.h"
#include "tools/bench/bench_util.h"
#include "tools/cli/cli_util.h"

namespace streamrec::tools {
namespace {

// A peak in MB, or "not measured" (0: the kernel could not reset it).
std::string PeakMb(double mb) {
  return mb > 0.0 ? fmt::format("{:.1f} MB", mb) : std::string("not measured");
}

// "12345 events/s".
std::string Rate(double per_second, std::string_view unit) {
  return fmt::format("{:.0f} {}/s", per_second, unit);
}

// "12345 req/s, p50 1.234 ms, p99 5.678 ms" (p50 only if asked), with the
// errors if any.
std::string LoadCell(const LoadTotals& t, bool p50) {
  std::string s = Rate(t.requests_per_second(), "req");
  if (p50) s += fmt::format(", p50 {:.3f} ms", Percentile(t.latency_ms, 0.5));
  s += fmt::format(", p99 {:.3f} ms", Percentile(t.latency_ms, 0.99));
  if (t.errors > 0) s += fmt::format(" ({} errors)", t.errors);
  return s;
}

// "R MB (Rx raw), of it the event log L MB; less it, (R - L)x raw".
std::string ServerMemory(uint64_t resident, uint64_t log, double raw_mb) {
  const double r = static_cast<double>(resident) / 1e6;
  const double l = static_cast<double>(log) / 1e6;
  if (raw_mb <= 0) return fmt::format("{:.1f} MB, of it the event log {:.1f} MB", r, l);
  return fmt::format("{:.1f} MB ({:.1f}x raw), of it the event log {:.1f} MB; less it {:.2f}x", r,
                     r / raw_mb, l, (r - l) / raw_mb);
}

// The engine's bytes in MB, both Left-Right copies (shared parts once).
double EngineMb(const std::vector<engine::MemoryPart>& parts) {
  double mb = 0.0;
  for (const engine::MemoryPart& p : parts) {
    mb += static_cast<double>(p.bytes) / 1e6 * (p.shared ? 1 : 2);
  }
  return mb;
}

// The part of `parts` named `name`, in MB (one copy), or -1 if none is.
double PartMb(const std::vector<engine::MemoryPart>& parts, std::string_view name) {
  for (const engine::MemoryPart& p : parts) {
    if (p.name == name) return static_cast<double>(p.bytes) / 1e6;
  }
  return -1.0;
}

// Stage 6b's rows.
void AddRetrainRows(const RetrainFigures& r, std::vector<std::vector<std::string>>* rows) {
  const std::vector<std::vector<std::string>> retrain = {
      {fmt::format("retrain ({}) of the whole log, installed; of it training", r.algorithm),
       fmt::format("{:.1f} s; {:.1f} s on {} examples", r.seconds, r.train_seconds, r.examples)},
      {"  RSS before it, peak while it ran, after it",
       fmt::format("{:.1f} MB, {}, {:.1f} MB", r.rss_before_mb, PeakMb(r.peak_mb), r.rss_after_mb)},
      {"  single-event writes meanwhile (p99, longest wait: the install)",
       fmt::format("{}, p99 {:.3f} ms, longest {:.1f} ms{}", r.writes.requests,
                   Percentile(r.writes.latency_ms, 0.99), Percentile(r.writes.latency_ms, 1.0),
                   r.writes.errors > 0 ? fmt::format(" ({} errors)", r.writes.errors) : "")},
  };
  rows->insert(rows->end(), retrain.begin(), retrain.end());
}

// Stage 7's rows.
void AddCrashRows(const CrashFigures& c, double raw_mb,
                  std::vector<std::vector<std::string>>* rows) {
  const uint64_t recovered = c.recovered_seq;
  const std::vector<std::vector<std::string>> crash = {
      {"crash: its server (a child process) opened the store",
       fmt::format("{:.2f} s, at seq {}", c.child_open_seconds, c.seq_at_start)},
      {"  its RSS once open (from the snapshot), no request served yet",
       ServerMemory(c.open_resident_bytes, c.open_log_bytes, raw_mb)},
      {"  its RSS just before the kill",
       ServerMemory(c.kill_resident_bytes, c.kill_log_bytes, raw_mb)},
      {"  ingest until the kill (SIGKILL)",
       fmt::format("{:.1f} s, {} events acknowledged", c.ingest_seconds, c.acked_events)},
      {"  snapshots it wrote on its schedule; events between the newest two",
       fmt::format("{}; {}", c.scheduled_snapshots, c.snapshot_gap)},
      {"  requests cut off by the kill", fmt::format("{}", c.failed)},
      {"  recovery after the crash (events, per second)",
       fmt::format("{:.2f} s ({}, {})", c.recovery_seconds, recovered,
                   Rate(static_cast<double>(recovered) / c.recovery_seconds, "events"))},
      {"    from the snapshot of seq, then events of log",
       fmt::format("{}, then {}", c.snapshot_seq, c.replayed)},
      {"    of which the model's (the rest: RocksDB's open, its WAL replayed)",
       fmt::format("{:.2f} s", c.model_recovery_seconds)},
      {"  acknowledged events lost (acknowledged / recovered up to seq)",
       fmt::format("{} ({} / {})", c.lost, c.acked_seq, recovered)},
  };
  rows->insert(rows->end(), crash.begin(), crash.end());
  if (!c.snapshot_skipped.empty()) {
    rows->push_back({"  snapshots skipped", fmt::format("{:.60}", c.snapshot_skipped)});
  }
}

}  // namespace

void PrintScaleTable(const ScaleBenchOptions& o, const ScaleFigures& f) {
  const Config& c = o.config;
  const double events = static_cast<double>(f.last_seq);
  fmt::print(
      "bench scale: {} events, {} users x {} items known; {}, rank {}, durability {}, {} "
      "HTTP threads\n",
      f.last_seq, f.users, f.items, engine::ObjectiveName(c.recommender.objective),
      c.recommender.model.rank, c.durability_name, c.server.threads);
  std::vector<std::vector<std::string>> rows = {
      {fmt::format("append (batches of {})", kAppendBatch),
       Rate(events / f.append_seconds, "events")},
      {"recovery from the log", fmt::format("{:.2f} s ({})", f.log_recovery_seconds,
                                            Rate(events / f.log_recovery_seconds, "events"))},
      {"snapshot written, of which encoding",
       fmt::format("{:.2f} s, {:.2f} s", f.snapshot_seconds, f.snapshot_encode_seconds)},
      {"recovery from a snapshot", fmt::format("{:.2f} s", f.snapshot_recovery_seconds)},
      {"RSS after recovery from the log (the open's peak)",
       fmt::format("{:.1f} MB ({})", f.rss_mb, PeakMb(f.peak_rss_mb))},
      {"RSS peak while writing a snapshot", PeakMb(f.snapshot_write_peak_mb)},
      {"RSS after recovery from the snapshot (same process)",
       fmt::format("{:.1f} MB, {:.1f}x raw", f.snapshot_rss_mb,
                   f.raw_mb > 0 ? f.snapshot_rss_mb / f.raw_mb : 0.0)},
      {"  peak while recovering from it", PeakMb(f.snapshot_open_peak_mb)},
      {"  of which malloc's bytes in use, after the log / the snapshot",
       fmt::format("{:.1f} MB / {:.1f} MB", f.heap_mb, f.snapshot_heap_mb)},
      {"raw factors, (users + items) x rank x 4 B", fmt::format("{:.1f} MB", f.raw_mb)},
      {"RSS / raw factors", fmt::format("{:.1f}x", f.raw_mb > 0 ? f.rss_mb / f.raw_mb : 0.0)},
      {"  event log in memory (RocksDB memtables and caches)", fmt::format("{:.1f} MB", f.log_mb)},
      {"  RSS less the event log / raw factors",
       fmt::format("{:.1f}x", f.raw_mb > 0 ? (f.rss_mb - f.log_mb) / f.raw_mb : 0.0)},
  };
  // What the engine holds, by part (two Left-Right copies but shared
  // parts), after recovery and after the ingest stage below.
  for (const engine::MemoryPart& p : f.memory) {
    const double mb = static_cast<double>(p.bytes) / 1e6;
    const double after = PartMb(f.ingest_memory, p.name);
    rows.push_back(
        {fmt::format("  engine: {}", p.name),
         fmt::format("{:.1f} MB{}; after ingest {}", mb, p.shared ? ", shared" : " x 2 copies",
                     after < 0 ? std::string("-") : fmt::format("{:.1f}", after))});
  }
  rows.push_back({"  engine: total of the above; after ingest",
                  fmt::format("{:.1f} MB; {:.1f}", EngineMb(f.memory), EngineMb(f.ingest_memory))});
  const std::vector<std::vector<std::string>> load_rows = {
      {fmt::format("recommendations, {} connections", o.connections),
       LoadCell(f.recommendations, true)},
      {fmt::format("similar items, {} connections", o.connections), LoadCell(f.similar, false)},
      {fmt::format("recall@{} vs exact scan ({} users)", kRecallN, f.recall_users),
       fmt::format("{:.3f}", f.recall)},
      {fmt::format("similar items recall@{} vs exact scan ({} items)", kRecallN,
                   f.similar_recall_items),
       fmt::format("{:.3f}", f.similar_recall)},
      {fmt::format("hold-out HR@{}, served / popular list (next {} events)", kRecallN,
                   f.holdout_events),
       fmt::format("{:.4f} / {:.4f}", f.holdout.served, f.holdout.popular)},
      {"  events scored, of users (of them answered by the model)",
       fmt::format("{}, of {} ({})", f.holdout.scored, f.holdout.users, f.holdout.model_users)},
      {fmt::format("ingest over HTTP, {} x {}-event batches", f.ingest_connections, f.ingest_batch),
       Rate(f.ingest.units_per_second(), "events") +
           (f.ingest.errors > 0 ? fmt::format(" ({} errors)", f.ingest.errors) : "")},
      {"  CPU per event (us) by thread", f.ingest_cpu},
      {"  RSS after it, of which malloc's bytes in use",
       fmt::format("{:.1f} MB ({:.1f}x raw), {:.1f} MB", f.ingest_rss_mb,
                   f.raw_mb > 0 ? f.ingest_rss_mb / f.raw_mb : 0.0, f.ingest_heap_mb)},
      // The engine after it is the "after ingest" figure of each engine row.
      {"  event log in memory after it", fmt::format("{:.1f} MB", f.ingest_log_mb)},
  };
  rows.insert(rows.end(), load_rows.begin(), load_rows.end());
  // The top-N path; for the IVF index, the cells each kind of query reads
  // and the recall@10 the index's training measured there.
  rows.push_back(
      {"top-N path", f.ivf_lists == 0 ? f.topn : fmt::format("{}, {} cells", f.topn, f.ivf_lists)});
  for (const bool cosine : {false, true}) {
    if (f.ivf_lists == 0) break;
    const float r = f.ivf_measured_recall[cosine];
    rows.push_back(
        {fmt::format("  {}: cells read, recall@{} measured by the index",
                     cosine ? "similar items" : "recommendations", kRecallN),
         fmt::format("{}, {}", f.ivf_probe[cosine],
                     r < 0.0f ? std::string("not measured") : fmt::format("{:.3f}", r))});
  }
  if (f.retrain) AddRetrainRows(*f.retrain, &rows);
  if (f.crash) AddCrashRows(*f.crash, f.raw_mb, &rows);
  fmt::print("{}", FormatTable({"figure", "value"}, rows));
  std::fflush(stdout);
}

}  // namespace streamrec::tools
