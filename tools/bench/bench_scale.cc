// `streamrec bench scale`: the stages of bench_scale.h, each a function
// that fills in its figures, then one table.
#include "tools/bench/bench_scale.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "engine/core/random.h"
#include "engine/live/recommender.h"
#include "storage/event_log.h"
#include "storage/live_store.h"
#include "storage/memory_release.h"
#include "tools/bench/bench_crash.h"
#include "tools/bench/bench_recall.h"
#include "tools/bench/bench_stream.h"
#include "tools/bench/bench_util.h"
#include "tools/bench/http_load.h"
#include "tools/bench/thread_cpu.h"
#include "tools/cli/cli_util.h"

namespace streamrec::tools {
namespace {

// Events per append to the log (one fsync each under durability sync).
constexpr size_t kAppendBatch = 10000;
// Events per POST of the ingest stage.
constexpr size_t kIngestBatch = 1000;
constexpr size_t kRecallN = 10;

struct ScaleFigures {
  uint64_t last_seq = 0;  // of the stream in the log
  double append_seconds = 0.0;
  double log_recovery_seconds = 0.0;
  double rss_mb = 0.0, peak_rss_mb = 0.0, raw_mb = 0.0;
  double log_mb = 0.0;            // the event log's memtables, table readers and block cache
  uint64_t users = 0, items = 0;  // known to the model after recovery
  double snapshot_seconds = 0.0, snapshot_recovery_seconds = 0.0;
  // Of snapshot_seconds, the encode (with its waits on the store): what a
  // scheduled snapshot holds the model thread for.
  double snapshot_encode_seconds = 0.0;
  double snapshot_rss_mb = 0.0;  // after recovery from the snapshot
  // Peak RSS while the snapshot was written, and while the store reopened
  // from it (each from a reset peak; 0: the kernel could not reset it).
  double snapshot_write_peak_mb = 0.0, snapshot_open_peak_mb = 0.0;
  double heap_mb = 0.0, snapshot_heap_mb = 0.0;  // malloc's bytes in use, at the two RSS reads
  LoadTotals recommendations, similar, ingest;
  std::string ingest_cpu;  // CpuPerUnit over the ingest stage
  // RSS and malloc's bytes in use after it: ingest copies user pages,
  // grows rows and fills memtables, none of which the reads above see.
  double ingest_rss_mb = 0.0, ingest_heap_mb = 0.0;
  // The engine's parts and the event log's memory after it: where the
  // growth went.
  std::vector<engine::MemoryPart> ingest_memory;
  double ingest_log_mb = 0.0;
  int ingest_connections = 0;
  size_t ingest_batch = 0;
  double recall = 0.0;
  size_t recall_users = 0;
  double similar_recall = 0.0;  // the same for similar items (cosine)
  size_t similar_recall_items = 0;
  // The top-N path served, and for the IVF index the cells a query reads
  // of all and the recall its training measured (-1: none measured).
  std::string topn;
  uint32_t ivf_lists = 0;
  std::array<uint32_t, 2> ivf_probe{};  // [cosine]
  std::array<float, 2> ivf_measured_recall{-1.0f, -1.0f};
  uint64_t holdout_events = 0;
  HoldoutHitRate holdout;
  std::vector<engine::MemoryPart> memory;  // one engine copy's, after recovery
  std::optional<CrashFigures> crash;       // stage 7, if run
};

// Ids known to the recovered model, copied out of a replica: the load
// threads pick from them without touching the store.
struct KnownIds {
  std::vector<std::string> users, items;
};

template <typename... Args>
void Progress(fmt::format_string<Args...> format, Args&&... args) {
  fmt::print(stderr, "bench scale: {}\n", fmt::format(format, std::forward<Args>(args)...));
  std::fflush(stderr);
}

std::string PeakMb(double mb) {
  return mb > 0.0 ? fmt::format("{:.1f} MB", mb) : std::string("not measured");
}

// Bytes malloc has handed out and not had back, in MB: RSS less this is
// the binary, thread stacks and the heap's free but unreturned pages.
double HeapInUseMb() {
#if defined(__GLIBC__)
  const struct mallinfo2 m = mallinfo2();
  return static_cast<double>(m.uordblks + m.hblkhd) / 1e6;
#else
  return 0.0;
#endif
}

// VmRSS and VmHWM of /proc/self/status, in MB (1e6 bytes); 0 if absent.
void ReadMemory(double* rss_mb, double* peak_mb) {
  std::ifstream in("/proc/self/status");
  std::string key;
  double kib = 0;
  while (in >> key) {
    if (key == "VmRSS:" && in >> kib) *rss_mb = kib * 1024 / 1e6;
    if (key == "VmHWM:" && in >> kib) *peak_mb = kib * 1024 / 1e6;
  }
}

// Sets VmHWM back to the current RSS (Linux: clear_refs "5"), so that the
// next peak read is that of what runs in between. False where unsupported.
// The heap's free pages go back first: a store closed before leaves them
// (a fresh process would not have them).
bool ResetPeakMemory() {
  storage::MemoryReleaser::ReleaseNow();
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

// The peak since ResetPeakMemory, in MB; 0 if it could not be reset.
double PeakSince(bool reset) {
  double rss = 0.0, peak = 0.0;
  ReadMemory(&rss, &peak);
  return reset ? peak : 0.0;
}

SyntheticOptions StreamOptions(const ScaleBenchOptions& o) {
  SyntheticOptions so;
  so.users = o.users;
  so.items = o.items;
  so.events = o.events;
  so.seed = o.seed;
  return so;
}

// Stage 1: the stream into a fresh log; only the appends are timed.
Status AppendStream(const ScaleBenchOptions& o, const std::string& db, ScaleFigures* f) {
  auto log = storage::EventLog::Open(db, o.config.live.store.log);
  if (!log.ok()) return log.status();
  uint64_t appended = 0;
  const auto t0 = BenchClock::now();
  auto append = [&](std::vector<storage::StoredEvent>& batch) -> Status {
    const auto t = BenchClock::now();
    const StatusOr<storage::AppendResult> r = (*log)->Append(batch);
    f->append_seconds += Since(t);
    if (!r.ok()) return r.status();
    appended += batch.size();
    if (appended % 1'000'000 < batch.size()) {
      Progress("appended {} of {} events ({:.0f} s)", appended, o.events, Since(t0));
    }
    return Status::OK();
  };
  STREAMREC_RETURN_IF_ERROR(ForEachSyntheticBatch(StreamOptions(o), "s", kAppendBatch, append));
  STREAMREC_RETURN_IF_ERROR((*log)->Flush());
  f->last_seq = (*log)->next_seq() - 1;
  Progress("append: {} events at {:.0f} events/s", appended, appended / f->append_seconds);
  return Status::OK();
}

// Opens the store in s->dir and checks that it holds the whole stream.
Status OpenStore(const ScaleBenchOptions& o, const ScaleFigures& f, ScratchServer* s,
                 double* seconds) {
  const auto t0 = BenchClock::now();
  auto store = storage::LiveStore::Open(s->dir.string(), o.config.live, o.config.recommender,
                                        o.config.types);
  if (!store.ok()) return store.status();
  *seconds = Since(t0);
  s->store = std::move(store).value();
  const uint64_t applied = s->store->status().applied_seq;
  if (applied != f.last_seq) {
    return Status::Internal(
        fmt::format("the reopened store applied events up to seq {}, not {}", applied, f.last_seq));
  }
  return Status::OK();
}

// Stage 2: recovery from the log alone, then memory against raw factors.
Status RecoverFromLog(const ScaleBenchOptions& o, ScratchServer* s, ScaleFigures* f) {
  // The open's own peak: the append stage before it (its memtables, the
  // generated stream) is not the server's.
  const bool reset = ResetPeakMemory();
  STREAMREC_RETURN_IF_ERROR(OpenStore(o, *f, s, &f->log_recovery_seconds));
  const storage::LiveStatus st = s->store->status();
  if (st.recovery.snapshot_seq != 0) {
    return Status::Internal("a fresh log already had a snapshot");
  }
  double since_start = 0.0;
  ReadMemory(&f->rss_mb, &since_start);
  f->peak_rss_mb = reset ? since_start : 0.0;
  f->heap_mb = HeapInUseMb();
  s->store->Read([&](const storage::Replica& r) { f->memory = r.rec->MemoryUsage(); });
  f->users = st.users;
  f->items = st.items;
  f->raw_mb = static_cast<double>(st.users + st.items) * st.rank * sizeof(float) / 1e6;
  f->log_mb = static_cast<double>(st.log_memory_bytes) / 1e6;
  Progress("recovered from the log in {:.1f} s; RSS {:.0f} MB, raw factors {:.1f} MB",
           f->log_recovery_seconds, f->rss_mb, f->raw_mb);
  return Status::OK();
}

// Stage 3: a snapshot, close, and recovery from it.
Status SnapshotAndReopen(const ScaleBenchOptions& o, ScratchServer* s, ScaleFigures* f) {
  std::promise<StatusOr<uint64_t>> written;
  bool reset = ResetPeakMemory();
  const auto t0 = BenchClock::now();
  s->store->SnapshotAsync([&written](StatusOr<uint64_t> seq) { written.set_value(seq); });
  const StatusOr<uint64_t> seq = written.get_future().get();
  f->snapshot_seconds = Since(t0);
  f->snapshot_write_peak_mb = PeakSince(reset);
  if (!seq.ok()) return seq.status();
  const storage::LiveStatus written_status = s->store->status();
  if (!written_status.snapshot_history.empty()) {
    f->snapshot_encode_seconds = written_status.snapshot_history.back().encode_seconds;
  }
  STREAMREC_RETURN_IF_ERROR(s->store->Close());
  s->store.reset();
  reset = ResetPeakMemory();
  STREAMREC_RETURN_IF_ERROR(OpenStore(o, *f, s, &f->snapshot_recovery_seconds));
  f->snapshot_open_peak_mb = PeakSince(reset);
  const storage::RecoveryResult r = s->store->status().recovery;
  if (r.snapshot_seq != f->last_seq) {
    return Status::Internal(
        fmt::format("the reopened store did not start from the snapshot: {}", r.snapshot_skipped));
  }
  double peak = 0.0;
  ReadMemory(&f->snapshot_rss_mb, &peak);
  f->snapshot_heap_mb = HeapInUseMb();
  Progress("snapshot written in {:.1f} s, recovered from it in {:.1f} s; RSS {:.0f} MB",
           f->snapshot_seconds, f->snapshot_recovery_seconds, f->snapshot_rss_mb);
  return Status::OK();
}

KnownIds CopyIds(const storage::LiveStore& store) {
  KnownIds ids;
  store.Read([&](const storage::Replica& r) {
    ids.users = r.rec->users().Names();
    ids.items = r.rec->items().Names();
  });
  return ids;
}

// GETs of prefix<id>suffix for ids drawn uniformly from `ids`, the same
// draws for the same seed.
RequestMaker RandomGets(const std::vector<std::string>& ids, std::string prefix, std::string suffix,
                        uint64_t seed) {
  return [&ids, prefix = std::move(prefix), suffix = std::move(suffix), seed](
             int connection, uint64_t index, LoadRequest* r) {
    engine::SplitMix64 rng(seed ^ (static_cast<uint64_t>(connection) << 48) ^ index);
    r->target = prefix + ids[rng.Uniform(ids.size())] + suffix;
  };
}

// Stage 4: reads over HTTP.
void ServeReads(const ScaleBenchOptions& o, const Endpoint& ep, const KnownIds& ids,
                ScaleFigures* f) {
  const uint64_t seed = o.seed * 0x9E3779B97F4A7C15ull;
  f->recommendations = DriveLoad(
      ep, {}, o.connections, o.seconds,
      RandomGets(ids.users, "/v1/users/", fmt::format("/recommendations?n={}", kRecallN), seed));
  Progress("recommendations: {:.0f} req/s", f->recommendations.requests_per_second());
  f->similar = DriveLoad(
      ep, {}, o.connections, o.seconds,
      RandomGets(ids.items, "/v1/items/", fmt::format("/similar?n={}", kRecallN), seed + 1));
  Progress("similar items: {:.0f} req/s", f->similar.requests_per_second());
}

// Stage 5: recall@10 of the served path against an exact scan.
void MeasureRecall(const ScaleBenchOptions& o, const storage::LiveStore& store, const KnownIds& ids,
                   ScaleFigures* f) {
  const ServedRecall r =
      MeasureServedRecall(store, ids.users, ids.items, o.recall_users, o.seed + 0x5CA1E, kRecallN);
  f->recall = r.recall;
  f->recall_users = r.users;
  f->similar_recall = r.similar_recall;
  f->similar_recall_items = r.items;
  f->topn = r.topn;
  f->ivf_lists = r.ivf_lists;
  f->ivf_probe = r.ivf_probe;
  f->ivf_measured_recall = r.ivf_measured_recall;
  Progress("recall@{}: {:.3f} over {} users", kRecallN, f->recall, f->recall_users);
  Progress("similar items recall@{}: {:.3f} over {} items", kRecallN, f->similar_recall,
           f->similar_recall_items);
}

// Stage 5, continued: HR@10 of the served lists on the stream's next
// events, beside the popular list's.
void MeasureHoldout(const ScaleBenchOptions& o, const storage::LiveStore& store, ScaleFigures* f) {
  f->holdout_events =
      o.holdout_events > 0 ? o.holdout_events : std::min<uint64_t>(o.events / 10, 500'000);
  if (f->holdout_events == 0) return;
  // The same generator, run on: its first o.events events are those loaded.
  SyntheticOptions so = StreamOptions(o);
  so.events = o.events + f->holdout_events;
  std::vector<std::pair<std::string, std::vector<std::string>>> holdout;
  std::unordered_map<std::string, size_t> index;
  uint64_t k = 0;
  ForEachSynthetic(so, [&](EventRecord e) {
    if (k++ < o.events) return;
    auto it = index.find(e.user);
    if (it == index.end()) {
      if (holdout.size() >= o.holdout_users) return;
      it = index.emplace(e.user, holdout.size()).first;
      holdout.push_back({std::move(e.user), {}});
    }
    holdout[it->second].second.push_back(std::move(e.item));
  });
  f->holdout = MeasureHoldoutHitRate(store, holdout, kRecallN);
  Progress("hold-out HR@{}: {:.4f} served, {:.4f} popular, over {} events of {} users", kRecallN,
           f->holdout.served, f->holdout.popular, f->holdout.scored, f->holdout.users);
}

// Stage 6: durable ingest over HTTP (bench ingest's load).
void IngestOverHttp(const ScaleBenchOptions& o, const Endpoint& ep, ScaleFigures* f) {
  HttpBenchOptions h;
  h.user_prefix = "user";  // the synthetic stream's ids (SyntheticUserId)
  h.users = o.users;
  h.items = o.items;
  f->ingest_connections = std::max(2, o.connections / 4);
  f->ingest_batch = std::min(kIngestBatch, o.config.api.max_batch_events);
  const std::map<std::string, double> cpu_before = ThreadCpuSeconds();
  f->ingest = IngestLoad(h, ep, f->ingest_batch, f->ingest_connections, o.seconds);
  f->ingest_cpu = CpuPerUnit(cpu_before, ThreadCpuSeconds(), f->ingest.units);
  double peak = 0.0;
  ReadMemory(&f->ingest_rss_mb, &peak);
  f->ingest_heap_mb = HeapInUseMb();
  Progress("ingest: {:.0f} events/s; RSS {:.0f} MB", f->ingest.units_per_second(),
           f->ingest_rss_mb);
}

// Stage 7: a crash under that ingest, on the configured snapshot schedule.
Status CrashAndRecover(const ScaleBenchOptions& o, ScratchServer* s, ScaleFigures* f) {
  CrashOptions c;
  c.config = o.config;
  c.config_text = o.config_text;
  c.rank = o.config.recommender.model.rank;
  c.ingest.user_prefix = "user";
  c.ingest.users = o.users;
  c.ingest.items = o.items;
  c.ingest.api_key = o.crash_api_key;
  c.batch = f->ingest_batch;
  c.connections = f->ingest_connections;
  c.seconds = o.crash_seconds;
  c.scratch = o.dir;
  Progress("crash: serving the store from a child process, killing it after {:.0f} s of ingest",
           o.crash_seconds);
  StatusOr<CrashFigures> r = CrashUnderIngest(c, s);
  if (!r.ok()) return r.status();
  f->crash = std::move(r).value();
  if (f->crash->failed > 0) {
    Progress("crash: {} requests cut off, the first: {}", f->crash->failed, f->crash->first_error);
  }
  Progress("crash: recovered in {:.2f} s ({} events of log after the snapshot of seq {})",
           f->crash->recovery_seconds, f->crash->replayed, f->crash->snapshot_seq);
  return Status::OK();
}

Status RunStages(const ScaleBenchOptions& o, ScratchServer* s, ScaleFigures* f) {
  Progress("{} events over {} users x {} items into {}", o.events, o.users, o.items,
           s->dir.string());
  STREAMREC_RETURN_IF_ERROR(AppendStream(o, s->dir.string(), f));
  STREAMREC_RETURN_IF_ERROR(RecoverFromLog(o, s, f));
  STREAMREC_RETURN_IF_ERROR(SnapshotAndReopen(o, s, f));
  STREAMREC_RETURN_IF_ERROR(s->StartServer(o.config));
  const KnownIds ids = CopyIds(*s->store);
  if (ids.users.empty() || ids.items.empty()) return Status::Internal("the model knows no ids");
  ServeReads(o, s->endpoint(), ids, f);
  MeasureRecall(o, *s->store, ids, f);
  MeasureHoldout(o, *s->store, f);
  IngestOverHttp(o, s->endpoint(), f);
  s->store->Read([&](const storage::Replica& r) { f->ingest_memory = r.rec->MemoryUsage(); });
  f->ingest_log_mb = static_cast<double>(s->store->status().log_memory_bytes) / 1e6;
  if (o.crash_seconds > 0) STREAMREC_RETURN_IF_ERROR(CrashAndRecover(o, s, f));
  return Status::OK();
}

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

void PrintTable(const ScaleBenchOptions& o, const ScaleFigures& f) {
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
      {"  engine after it (by part: the engine rows above), event log in memory",
       fmt::format("{:.1f} MB, {:.1f} MB", EngineMb(f.ingest_memory), f.ingest_log_mb)},
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
  if (f.crash) AddCrashRows(*f.crash, f.raw_mb, &rows);
  fmt::print("{}", FormatTable({"figure", "value"}, rows));
  std::fflush(stdout);
}

// 1 (printing the first error) if a load saw errors, else 0.
// (The crash stage's errors are the requests its kill cut off.)
int LoadErrors(const ScaleFigures& f) {
  for (const LoadTotals* t : {&f.recommendations, &f.similar, &f.ingest}) {
    if (t->errors > 0) {
      fmt::print(stderr, "streamrec bench: scale: first error: {}\n", t->first_error);
      return 1;
    }
  }
  return 0;
}

}  // namespace

int BenchScale(const ScaleBenchOptions& options) {
  ScaleBenchOptions o = options;
  UseForBenchmark(&o.config);
  ScaleFigures f;
  ScratchServer s;  // removes the database on every path out
  s.dir = FreshScratchDir(o.dir, "scale");
  if (Status st = RunStages(o, &s, &f); !st.ok()) {
    fmt::print(stderr, "streamrec bench: scale: {}\n", st.message());
    return 1;
  }
  PrintTable(o, f);
  int rc = LoadErrors(f);
  if (f.crash && f.crash->lost > 0) {
    fmt::print(stderr,
               "streamrec bench: scale: the store recovered after the crash lacks {} acknowledged "
               "events\n",
               f.crash->lost);
    rc = 1;
  }
  Progress("closing the store and removing {}", s.dir.string());
  return rc;
}

}  // namespace streamrec::tools
