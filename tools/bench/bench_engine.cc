// Engine micro-benchmarks (bench_engine.h).
#include "tools/bench/bench_engine.h"

#include <fmt/format.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/live/lookahead_applier.h"
#include "engine/live/recommender.h"
#include "engine/live/replay_pipeline.h"
#include "engine/live/snapshot.h"
#include "engine/live/step_thread.h"
#include "engine/model/ivf_index.h"
#include "engine/model/quantized_items.h"
#include "engine/model/topn.h"
#include "engine/online/online_learner.h"
#include "storage/memory_release.h"
#include "tools/bench/bench_util.h"
#include "tools/bench/thread_cpu.h"
#include "tools/data/synthetic.h"

namespace streamrec::tools {
namespace {

using Clock = std::chrono::steady_clock;

// Single-thread read bandwidth: best of several passes summing a buffer far
// larger than the caches. This is the floor a full scan cannot beat.
double MeasureReadBandwidth(size_t bytes) {
  std::vector<float> buf(bytes / sizeof(float), 1.0f);
  Eigen::Map<Eigen::VectorXf> v(buf.data(), static_cast<Eigen::Index>(buf.size()));
  double best = 1e9;
  volatile float sink = 0;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = Clock::now();
    sink = sink + v.sum();
    best = std::min(best, Since(t0));
  }
  return static_cast<double>(bytes) / best;
}

// The events whose Apply took this long or more: a stop of the model
// thread (the IVF index trained on it) that holds back every event's
// visibility behind it.
constexpr double kStallSeconds = 0.01;

struct ApplyTimes {
  double seconds = 0;        // all of them
  double longest = 0;        // the slowest event
  uint64_t stalls = 0;       // events of kStallSeconds or more
  double stall_seconds = 0;  // their time
};

// The time `rec` takes to apply every event of `xs` by the full path a
// served event takes: string ids resolved, validated, learned, counted for
// popularity and seen items; and its slowest events.
ApplyTimes TimeApply(const std::vector<engine::IndexedEvent>& xs,
                     const std::vector<std::string>& uid, const std::vector<std::string>& iid,
                     engine::Recommender* rec) {
  ApplyTimes t;
  const auto t0 = Clock::now();
  auto last = t0;
  for (const auto& x : xs) {
    (void)rec->Apply({uid[x.user], iid[x.item], x.type, x.value, x.ts_ms});
    const auto now = Clock::now();
    const double took = std::chrono::duration<double>(now - last).count();
    last = now;
    t.longest = std::max(t.longest, took);
    if (took >= kStallSeconds) {
      ++t.stalls;
      t.stall_seconds += took;
    }
  }
  t.seconds = Since(t0);
  return t;
}

}  // namespace

int BenchLearner(uint64_t events, uint32_t users, uint32_t items, int rank, uint64_t seed,
                 int repeat) {
  engine::SplitMix64 rng(seed);
  std::vector<engine::IndexedEvent> xs(events);
  const engine::EventTypes types = engine::EventTypes::Defaults();
  const engine::EventTypeId rating = *types.Find("rating");
  for (uint64_t n = 0; n < events; ++n) {
    xs[n] = {static_cast<uint32_t>(rng.Uniform(users)), static_cast<uint32_t>(rng.Uniform(items)),
             rating, static_cast<float>(1 + rng.Uniform(5)), static_cast<int64_t>(n)};
  }
  std::vector<std::string> uid(users), iid(items);
  for (uint32_t u = 0; u < users; ++u) uid[u] = fmt::format("u{}", u);
  for (uint32_t i = 0; i < items; ++i) iid[i] = fmt::format("i{}", i);
  engine::ModelOptions mo;
  mo.rank = rank;
  engine::RecommenderOptions ro;
  ro.model = mo;

  // Seconds of each case, one entry per run; the slowest events of the
  // Recommender's, per objective, over the runs.
  std::vector<double> dense_s, full_s, implicit_s, bpr_s;
  ApplyTimes slow[3];
  for (int run = 0; run < repeat; ++run) {
    {
      engine::MFModel model(mo);
      model.EnsureUsers(users);
      model.EnsureItems(items);
      engine::OnlineLearner learner(&model, &types, {});
      const auto t0 = Clock::now();
      for (const auto& x : xs) (void)learner.Apply(x);
      dense_s.push_back(Since(t0));
    }
    // The full path a served event takes in the engine (TimeApply); then
    // the same under the implicit objective (eALS-style updates of the
    // user's and the item's vectors against cached Gramians) and BPR. Each
    // model is dropped before the next is built.
    int k = 0;
    for (const auto& [objective, out] : {std::pair{engine::Objective::kRating, &full_s},
                                         std::pair{engine::Objective::kImplicit, &implicit_s},
                                         std::pair{engine::Objective::kBpr, &bpr_s}}) {
      ro.objective = objective;
      engine::Recommender rec(ro, types);
      const ApplyTimes t = TimeApply(xs, uid, iid, &rec);
      out->push_back(t.seconds);
      ApplyTimes& s = slow[k++];
      s.longest = std::max(s.longest, t.longest);
      s.stalls += t.stalls;
      s.stall_seconds += t.stall_seconds;
    }
  }
  // "events/s (ns/event)" at the median run, and the range over runs
  // (Percentile: the median is a run's own figure).
  const auto line = [&](const std::vector<double>& s, int width) {
    const double median = Percentile(s, 0.5);
    std::string out = fmt::format("{:>{}.0f} events/s  ({:.0f} ns/event", events / median, width,
                                  1e9 * median / events);
    if (s.size() > 1) {
      out += fmt::format("; {} runs {:.0f}-{:.0f}", s.size(), 1e9 * Percentile(s, 0.0) / events,
                         1e9 * Percentile(s, 1.0) / events);
    }
    return out;
  };
  fmt::print("online learner, k={}, {} events over {} users x {} items, one thread{}\n", rank,
             events, users, items, repeat > 1 ? fmt::format(", median of {} runs", repeat) : "");
  fmt::print("  dense learner step   : {})\n", line(dense_s, 12));
  fmt::print("  Recommender::Apply   : {}; ids, validation, popularity, seen items)\n",
             line(full_s, 12));
  fmt::print("  ... implicit objective: {}; user and item rows, at most {}/{} cells each)\n",
             line(implicit_s, 8), ro.implicit.max_user_cells, ro.implicit.max_item_cells);
  fmt::print("  ... bpr objective     : {}; {} sampled negatives)\n", line(bpr_s, 8),
             ro.bpr.negatives);
  // The events that stopped the model thread (the IVF index's trainings
  // at this catalog size: the first, the catalog doubling; its periodic
  // retrainings run off the thread), over all runs.
  fmt::print("  events of {:.0f} ms or more (rating / implicit / bpr): ", 1e3 * kStallSeconds);
  for (int k = 0; k < 3; ++k) {
    fmt::print("{}{} ({:.2f} s, longest {:.1f} ms)", k > 0 ? " / " : "", slow[k].stalls,
               slow[k].stall_seconds, 1e3 * slow[k].longest);
  }
  fmt::print("\n");
  return 0;
}

namespace {

double ThreadCpuNow() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// The engine bytes of two Left-Right copies by part, in the first's
// order: what the second shares with the first (MemoryPart::shared)
// counted once.
std::vector<std::pair<std::string, size_t>> PartBytes(const engine::Recommender& first,
                                                      const engine::Recommender& second) {
  std::vector<std::pair<std::string, size_t>> parts;
  for (const engine::MemoryPart& p : first.MemoryUsage()) {
    parts.emplace_back(std::string(p.name), p.bytes);
  }
  for (const engine::MemoryPart& p : second.MemoryUsage()) {
    if (p.shared) continue;
    auto it =
        std::find_if(parts.begin(), parts.end(), [&](const auto& q) { return q.first == p.name; });
    if (it == parts.end()) {
      parts.emplace_back(std::string(p.name), p.bytes);
    } else {
      it->second += p.bytes;
    }
  }
  return parts;
}

size_t TotalBytes(const std::vector<std::pair<std::string, size_t>>& parts) {
  size_t bytes = 0;
  for (const auto& p : parts) bytes += p.second;
  return bytes;
}

}  // namespace

int BenchApply(const ApplyBenchOptions& o) {
  SyntheticOptions so;
  so.users = o.users;
  so.items = o.items;
  so.events = o.preload;
  so.seed = o.seed;
  // Events of a type the configuration lacks are left out (counted).
  uint64_t skipped = 0;
  uint64_t replayed = 0;
  auto to_event = [&](const EventRecord& r) -> std::optional<engine::Event> {
    const auto type = o.types.Find(r.type);
    if (!type) {
      ++skipped;
      return std::nullopt;
    }
    return engine::Event{r.user, r.item, *type, r.value, r.ts_ms};
  };
  auto first = std::make_unique<engine::Recommender>(o.recommender, o.types);
  const auto t0 = Clock::now();
  first->BeginReplay();
  {
    engine::ReplayPipeline replay(first.get());
    ForEachSynthetic(so, [&](EventRecord r) {
      if (auto e = to_event(r)) replayed += replay.Apply(*e).ok();
    });
  }
  first->EndReplay();
  const double replay_s = Since(t0);
  auto made = engine::MakeSecondCopy(first.get());
  if (!made.ok()) {
    fmt::print(stderr, "streamrec bench: apply: second copy: {}\n", made.status().ToString());
    return 1;
  }
  std::unique_ptr<engine::Recommender> second = std::move(made).value();
  // The stream's continuation: the next events of the same users and items.
  so.seed = o.seed + 1;
  so.events = o.events;
  so.start_ms += static_cast<int64_t>(o.preload) * so.step_ms;
  std::vector<engine::Event> live;
  std::vector<EventRecord> records = GenerateSynthetic(so);
  live.reserve(records.size());
  for (const EventRecord& r : records) {
    if (auto e = to_event(r)) live.push_back(*e);
  }

  const auto bytes_before = PartBytes(*first, *second);
  // The resident set with the heap's free pages given back, as the server
  // has it after its open and after a burst of work (MemoryReleaser); the
  // live events (held until the end) are in both figures.
  storage::MemoryReleaser::ReleaseNow();
  const uint64_t rss_before = storage::MemoryReleaser::ResidentBytes();
  engine::Recommender* leader = first.get();
  engine::Recommender* follower = second.get();
  double leader_cpu = 0, follower_cpu = 0;
  uint64_t errors = 0;
  // As the server's model thread applies a run (LiveStore): a long one's
  // steps on a StepThread, a short one's through a LookaheadApplier.
  engine::StepThread steps;
  const bool split = steps.split() && o.run >= engine::StepThread::kMinRun;
  const CpuSample cpu_before = SampleCpu();
  const auto t1 = Clock::now();
  for (size_t begin = 0; begin < live.size(); begin += o.run) {
    const size_t end = std::min(live.size(), begin + o.run);
    const double c0 = ThreadCpuNow();
    if (split) {
      steps.Begin(leader);
      for (size_t n = begin; n < end; ++n) errors += !steps.Apply(live[n]).ok();
      steps.Finish();
    } else {
      engine::LookaheadApplier lead(leader);
      for (size_t n = begin; n < end; ++n) errors += !lead.Apply(live[n]).ok();
    }
    const double c1 = ThreadCpuNow();
    for (size_t n = begin; n < end; ++n) errors += !follower->ApplyFollowing(live[n], *leader).ok();
    follower->FinishFollowing(*leader);
    const double c2 = ThreadCpuNow();
    leader_cpu += c1 - c0;
    follower_cpu += c2 - c1;
    std::swap(leader, follower);
  }
  const double live_s = Since(t1);
  const CpuSample cpu_after = SampleCpu();
  double step_cpu = 0;  // the StepThread's (by its name, its id unchanged throughout)
  for (const auto& [tid, t] : cpu_after.threads) {
    if (t.name != "sr-step") continue;
    const auto was = cpu_before.threads.find(tid);
    step_cpu += t.seconds - (was != cpu_before.threads.end() ? was->second.seconds : 0.0);
  }
  const auto bytes_after = PartBytes(*first, *second);
  storage::MemoryReleaser::ReleaseNow();
  const uint64_t rss_after = storage::MemoryReleaser::ResidentBytes();

  const engine::RecommenderOptions& ro = o.recommender;
  const auto n = static_cast<double>(std::max<size_t>(1, live.size()));
  fmt::print("live apply, {} objective, k={}: {} users x {} items, synthetic stream (seed {})\n",
             engine::ObjectiveName(ro.objective), ro.model.rank, o.users, o.items, o.seed);
  fmt::print(
      "  replay of {} events (as recovery from the log: two threads): {:.1f} s, {:.0f} "
      "events/s\n",
      replayed, replay_s, static_cast<double>(replayed) / std::max(replay_s, 1e-9));
  fmt::print("  the next {} events, runs of {}, to both Left-Right copies (thread CPU):\n",
             live.size(), o.run);
  if (split) {
    fmt::print("    first copy, fronts (Index)   : {:6.2f} us/event\n", 1e6 * leader_cpu / n);
    fmt::print("    first copy, steps (sr-step)  : {:6.2f} us/event\n", 1e6 * step_cpu / n);
  } else {
    fmt::print("    first copy  (Apply)          : {:6.2f} us/event\n", 1e6 * leader_cpu / n);
  }
  fmt::print("    second copy (ApplyFollowing) : {:6.2f} us/event\n", 1e6 * follower_cpu / n);
  fmt::print(
      "    the model thread, both       : {:6.2f} us/event = {:.0f} events/s ({:.0f} wall{})\n",
      1e6 * (leader_cpu + follower_cpu) / n, n / std::max(leader_cpu + follower_cpu, 1e-9),
      n / std::max(live_s, 1e-9), split ? ", the steps on a second thread" : "");
  // Where the engine's bytes are: after the replay (rows trimmed to their
  // size, as LiveStore::Open leaves them) and after the live events.
  fmt::print("  MB after the replay / after the events (engine: both copies, shared parts once)\n");
  fmt::print("    {:<44} {:8.1f} / {:8.1f}\n", "process RSS, free heap pages released",
             1e-6 * static_cast<double>(rss_before), 1e-6 * static_cast<double>(rss_after));
  fmt::print("    {:<44} {:8.1f} / {:8.1f}\n", "engine, all parts", 1e-6 * TotalBytes(bytes_before),
             1e-6 * TotalBytes(bytes_after));
  for (const auto& [name, after] : bytes_after) {
    size_t before = 0;
    for (const auto& p : bytes_before) before += p.first == name ? p.second : 0;
    if (std::max(before, after) < 1'000'000) continue;
    fmt::print("    {:<44} {:8.1f} / {:8.1f}\n", name, 1e-6 * before, 1e-6 * after);
  }
  if (skipped > 0) fmt::print("  ({} events of types the configuration lacks left out)\n", skipped);
  if (errors > 0) {
    fmt::print(stderr, "streamrec bench: apply: {} events refused\n", errors);
    return 1;
  }
  return 0;
}

namespace {

// A top-N path: the exact scan or the int8 first pass with exact re-rank.
using ScanFn = std::function<void(std::span<const engine::ScanQuery>,
                                  std::vector<std::vector<engine::ScoredItem>>*)>;

// Single queries (latency percentiles), then batches: one line each.
// False if a scan returned nothing.
bool TimeScan(const ScanFn& scan, const std::vector<float>& qs, int rank, size_t queries,
              const std::vector<size_t>& batches) {
  std::vector<double> lat;
  std::vector<std::vector<engine::ScoredItem>> out;
  for (size_t q = 0; q < queries; ++q) {
    engine::ScanQuery sq;
    sq.vector = &qs[q * rank];
    const auto t0 = Clock::now();
    scan(std::span(&sq, 1), &out);
    lat.push_back(1e3 * Since(t0));
    if (out[0].empty()) return false;
  }
  fmt::print("      batch   1: p50 {:.3f} ms  p99 {:.3f} ms  mean {:.3f} ms per query\n",
             Percentile(lat, 0.5), Percentile(lat, 0.99),
             std::accumulate(lat.begin(), lat.end(), 0.0) / lat.size());
  for (size_t b : batches) {
    if (b <= 1 || b > queries) continue;
    const auto t0 = Clock::now();
    size_t done = 0;
    for (size_t q = 0; q + b <= queries; q += b) {
      std::vector<engine::ScanQuery> batch(b);
      for (size_t j = 0; j < b; ++j) batch[j].vector = &qs[(q + j) * rank];
      scan(batch, &out);
      done += b;
    }
    fmt::print("      batch {:>3}: {:.3f} ms per query\n", b, 1e3 * Since(t0) / done);
  }
  return true;
}

// Mean recall@n of `approx` against `exact` over the same queries.
double RecallOf(const ScanFn& exact, const ScanFn& approx, const std::vector<float>& qs, int rank,
                size_t queries) {
  std::vector<engine::ScanQuery> batch(queries);
  for (size_t j = 0; j < queries; ++j) batch[j].vector = &qs[j * rank];
  std::vector<std::vector<engine::ScoredItem>> want, got;
  exact(batch, &want);
  approx(batch, &got);
  size_t hit = 0, total = 0;
  for (size_t j = 0; j < queries; ++j) {
    for (const auto& w : want[j]) {
      hit += std::any_of(got[j].begin(), got[j].end(),
                         [&](const auto& g) { return g.item == w.item; });
    }
    total += want[j].size();
  }
  return total == 0 ? 1.0 : static_cast<double>(hit) / static_cast<double>(total);
}

}  // namespace

namespace {

// `count` vectors: Gaussian, or (clustered) each a taste cluster's centre
// plus noise, scaled by a popularity-like norm, as trained factors are.
// Items and queries drawn with the same `centres` share the clusters.
std::vector<float> BenchVectors(size_t count, int rank, const std::vector<float>* centres,
                                engine::SplitMix64* rng) {
  std::vector<float> out(count * rank);
  if (centres == nullptr) {
    for (float& v : out) v = rng->NextGaussian();
    return out;
  }
  const size_t clusters = centres->size() / rank;
  for (size_t i = 0; i < count; ++i) {
    const size_t c = rng->Uniform(clusters);
    const float norm = 0.2f + static_cast<float>(rng->NextDouble());
    for (int f = 0; f < rank; ++f) {
      out[i * rank + f] = norm * ((*centres)[c * rank + f] + 0.7f * rng->NextGaussian());
    }
  }
  return out;
}

}  // namespace

int BenchTopN(const TopNBenchOptions& o) {
  const double bw = MeasureReadBandwidth(size_t{1} << 30);
  const int rank = o.rank;
  const size_t n = o.n;
  const size_t queries = o.queries;
  fmt::print("single-thread read bandwidth: {:.1f} GB/s\n", bw / 1e9);
  fmt::print(
      "top-{}, k={}, one thread, {} vectors: exact float scan; int8 first pass + exact re-rank{}; "
      "IVF cells + int8 + exact re-rank\n",
      n, rank, o.clustered ? "clustered (64 taste clusters)" : "Gaussian (the hard case)",
      fmt::format(" ({})", engine::QuantizedItems::Kernel()));
  for (uint32_t items : o.sizes) {
    engine::SplitMix64 rng(o.seed);
    std::vector<float> centres;
    if (o.clustered) centres = BenchVectors(64, rank, nullptr, &rng);
    const std::vector<float>* cp = o.clustered ? &centres : nullptr;
    const std::vector<float> mat = BenchVectors(items, rank, cp, &rng);
    std::vector<float> bias(items);
    for (float& v : bias) v = 0.1f * rng.NextGaussian();
    const std::vector<float> qs = BenchVectors(queries, rank, cp, &rng);
    engine::ScanOptions opt;
    opt.item_bias = bias.data();
    engine::QuantizedItems quantized;
    quantized.Assign(mat.data(), items, rank);
    const ScanFn exact = [&](auto batch, auto* out) {
      engine::TopNScan(mat.data(), items, rank, batch, n, opt, out);
    };
    const ScanFn int8 = [&](auto batch, auto* out) {
      engine::QuantizedTopNScan(quantized, mat.data(), items, rank, batch, n, opt, {}, out);
    };
    fmt::print(
        "  {:>8} items ({:.1f} MB float, {:.1f} MB int8; full float read at measured "
        "bandwidth {:.3f} ms)\n",
        items, mat.size() * 4 / 1e6, quantized.MemoryBytes() / 1e6,
        1e3 * static_cast<double>(mat.size() * sizeof(float)) / bw);
    fmt::print("    exact\n");
    if (!TimeScan(exact, qs, rank, queries, o.batches)) return 1;
    fmt::print("    int8, recall@{} vs exact {:.4f}\n", n,
               RecallOf(exact, int8, qs, rank, queries));
    if (!TimeScan(int8, qs, rank, queries, o.batches)) return 1;
    engine::IvfIndex index;
    const auto t0 = Clock::now();
    index.Build(mat.data(), items, rank, {});
    const double build_s = Since(t0);
    const std::vector<uint32_t> probes =
        o.probes.empty() ? std::vector<uint32_t>{engine::DefaultProbe(index.lists())} : o.probes;
    for (const uint32_t probe : probes) {
      engine::IvfOptions io;
      io.probe = probe;
      const ScanFn ivf = [&](auto batch, auto* out) {
        engine::IvfTopNScan(index, mat.data(), items, rank, batch, n, opt, io, {}, out);
      };
      fmt::print(
          "    ivf, {} of {} cells (built in {:.2f} s, {:.1f} MB), recall@{} vs exact {:.4f}\n",
          std::min(probe, index.lists()), index.lists(), build_s, index.MemoryBytes() / 1e6, n,
          RecallOf(exact, ivf, qs, rank, queries));
      if (!TimeScan(ivf, qs, rank, queries, o.batches)) return 1;
    }
  }
  return 0;
}

}  // namespace streamrec::tools
