// `streamrec bench scale`: the stages of bench_scale.h, each a function
// that fills in its figures (bench_scale_figures.h), then one table
// (bench_scale_table.cc).
#include "tools/bench/bench_scale.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
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
#include "tools/bench/bench_scale_figures.h"
#include "tools/bench/bench_stream.h"
#include "tools/bench/bench_util.h"
#include "tools/bench/http_load.h"
#include "tools/bench/thread_cpu.h"

namespace streamrec::tools {
namespace {

// Events per POST of the ingest stage.
constexpr size_t kIngestBatch = 1000;

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
// The load generators' ids: the synthetic stream's (SyntheticUserId).
HttpBenchOptions StreamIds(const ScaleBenchOptions& o) {
  HttpBenchOptions h;
  h.user_prefix = "user";
  h.users = o.users;
  h.items = o.items;
  return h;
}

void IngestOverHttp(const ScaleBenchOptions& o, const Endpoint& ep, ScaleFigures* f) {
  const HttpBenchOptions h = StreamIds(o);
  f->ingest_connections = std::max(2, o.connections / 4);
  f->ingest_batch = std::min(kIngestBatch, o.config.api.max_batch_events);
  const CpuSample cpu_before = SampleCpu();
  f->ingest = IngestLoad(h, ep, f->ingest_batch, f->ingest_connections, o.seconds);
  f->ingest_cpu = CpuPerUnit(cpu_before, SampleCpu(), f->ingest.units);
  double peak = 0.0;
  ReadMemory(&f->ingest_rss_mb, &peak);
  f->ingest_heap_mb = HeapInUseMb();
  Progress("ingest: {:.0f} events/s; RSS {:.0f} MB", f->ingest.units_per_second(),
           f->ingest_rss_mb);
}

// Stage 6b: a retrain of the whole log while one client POSTs single
// events back to back: the writes that wait on the model thread while it
// installs the retrained model show the install's hold.
Status RetrainUnderWrites(const ScaleBenchOptions& o, ScratchServer* s, ScaleFigures* f) {
  RetrainFigures r;
  double peak = 0.0;
  ReadMemory(&r.rss_before_mb, &peak);
  const bool reset = ResetPeakMemory();
  const uint64_t runs = s->store->status().retrain.runs;
  Progress("retrain: the whole log, with single-event writes meanwhile");
  const BenchClock::time_point t0 = BenchClock::now();
  STREAMREC_RETURN_IF_ERROR(s->store->Retrain());
  const HttpBenchOptions h = StreamIds(o);
  std::atomic<bool> stop{false};
  LoadHooks hooks;
  hooks.stop = &stop;
  std::future<LoadTotals> writes = std::async(std::launch::async, [&] {
    return IngestLoad(h, s->endpoint(), 1, 1, /*seconds=*/86400.0, hooks);
  });
  storage::RetrainStatus done;
  for (;;) {
    const storage::LiveStatus st = s->store->status();
    if (st.retrain.runs > runs && st.retrain.state != storage::RetrainState::kRunning) {
      done = st.retrain;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.seconds = Since(t0);
  stop.store(true);
  r.writes = writes.get();
  r.peak_mb = PeakSince(reset);
  ReadMemory(&r.rss_after_mb, &peak);
  if (done.state == storage::RetrainState::kFailed) {
    return Status::Internal(fmt::format("the retrain failed: {}", done.error));
  }
  r.train_seconds = done.seconds;
  r.examples = done.examples;
  r.algorithm = done.algorithm;
  Progress("retrain: {:.1f} s ({:.1f} s training on {} examples); peak RSS {:.0f} MB", r.seconds,
           r.train_seconds, r.examples, r.peak_mb);
  f->retrain = std::move(r);
  return Status::OK();
}

// Stage 7: a crash under that ingest, on the configured snapshot schedule.
Status CrashAndRecover(const ScaleBenchOptions& o, ScratchServer* s, ScaleFigures* f) {
  CrashOptions c;
  c.config = o.config;
  c.config_text = o.config_text;
  c.rank = o.config.recommender.model.rank;
  c.ingest = StreamIds(o);
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
  if (o.retrain) STREAMREC_RETURN_IF_ERROR(RetrainUnderWrites(o, s, f));
  if (o.crash_seconds > 0) STREAMREC_RETURN_IF_ERROR(CrashAndRecover(o, s, f));
  return Status::OK();
}

// 1 (printing the first error) if a load saw errors, else 0.
// (The crash stage's errors are the requests its kill cut off.)
int LoadErrors(const ScaleFigures& f) {
  std::vector<const LoadTotals*> loads = {&f.recommendations, &f.similar, &f.ingest};
  if (f.retrain) loads.push_back(&f.retrain->writes);
  for (const LoadTotals* t : loads) {
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
  PrintScaleTable(o, f);
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
