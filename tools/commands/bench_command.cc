// `streamrec bench learner|topn`: throughput of the online learner and
// latency of exact top-N, the latter next to what a full read of the item
// matrix costs at this machine's measured memory bandwidth. Also the
// dispatch of `bench log|recovery` (bench_storage.h) and
// `bench freshness|ingest` (bench_http.h).
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>
#include <numeric>

#include "engine/online_learner.h"
#include "engine/random.h"
#include "engine/recommender.h"
#include "engine/topn.h"
#include "tools/bench/bench_http.h"
#include "tools/bench/bench_storage.h"
#include "tools/cli/command_line.h"
#include "tools/commands/commands.h"

namespace streamrec::tools {
namespace {

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  const size_t idx = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  return v[idx];
}

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

int BenchLearner(uint64_t events, uint32_t users, uint32_t items, int rank, uint64_t seed) {
  engine::SplitMix64 rng(seed);
  std::vector<engine::Interaction> xs(events);
  const engine::EventTypes types = engine::EventTypes::Defaults();
  const engine::EventTypeId rating = *types.Find("rating");
  for (uint64_t n = 0; n < events; ++n) {
    xs[n] = {static_cast<uint32_t>(rng.Uniform(users)), static_cast<uint32_t>(rng.Uniform(items)),
             rating, static_cast<float>(1 + rng.Uniform(5)), static_cast<int64_t>(n)};
  }
  engine::ModelOptions mo;
  mo.rank = rank;
  engine::MFModel model(mo);
  model.EnsureUsers(users);
  model.EnsureItems(items);
  engine::OnlineLearner learner(&model, &types, {});
  auto t0 = Clock::now();
  for (const auto& x : xs) (void)learner.Apply(x);
  const double dense_s = Since(t0);

  // The full path a served event takes in the engine: string ids resolved,
  // validated, learned, counted for popularity and seen items.
  std::vector<std::string> uid(users), iid(items);
  for (uint32_t u = 0; u < users; ++u) uid[u] = fmt::format("u{}", u);
  for (uint32_t i = 0; i < items; ++i) iid[i] = fmt::format("i{}", i);
  engine::RecommenderOptions ro;
  ro.model = mo;
  engine::Recommender rec(ro, types);
  t0 = Clock::now();
  for (const auto& x : xs) {
    (void)rec.Apply({uid[x.user], iid[x.item], x.type, x.value, x.ts_ms});
  }
  const double full_s = Since(t0);
  // The same path under the implicit objective (eALS-style updates of the
  // user's and the item's vectors against cached Gramians).
  ro.objective = engine::Objective::kImplicit;
  engine::Recommender implicit(ro, types);
  t0 = Clock::now();
  for (const auto& x : xs) {
    (void)implicit.Apply({uid[x.user], iid[x.item], x.type, x.value, x.ts_ms});
  }
  const double implicit_s = Since(t0);
  ro.objective = engine::Objective::kBpr;
  engine::Recommender bpr(ro, types);
  t0 = Clock::now();
  for (const auto& x : xs) {
    (void)bpr.Apply({uid[x.user], iid[x.item], x.type, x.value, x.ts_ms});
  }
  const double bpr_s = Since(t0);
  fmt::print("online learner, k={}, {} events over {} users x {} items, one thread\n", rank, events,
             users, items);
  fmt::print("  dense learner step   : {:>12.0f} events/s  ({:.0f} ns/event)\n", events / dense_s,
             1e9 * dense_s / events);
  fmt::print(
      "  Recommender::Apply   : {:>12.0f} events/s  ({:.0f} ns/event; ids, validation, "
      "popularity, seen items)\n",
      events / full_s, 1e9 * full_s / events);
  fmt::print(
      "  ... implicit objective: {:>8.0f} events/s  ({:.0f} ns/event; user and item rows, at most "
      "{}/{} cells each)\n",
      events / implicit_s, 1e9 * implicit_s / events, ro.implicit.max_user_cells,
      ro.implicit.max_item_cells);
  fmt::print(
      "  ... bpr objective     : {:>8.0f} events/s  ({:.0f} ns/event; {} sampled negatives)\n",
      events / bpr_s, 1e9 * bpr_s / events, ro.bpr.negatives);
  return 0;
}

int BenchTopN(const std::vector<uint32_t>& sizes, int rank, size_t n, size_t queries,
              const std::vector<size_t>& batches, uint64_t seed) {
  const double bw = MeasureReadBandwidth(size_t{1} << 30);
  fmt::print("single-thread read bandwidth: {:.1f} GB/s\n", bw / 1e9);
  fmt::print("top-{} exact scan, k={}, one thread\n", n, rank);
  for (uint32_t items : sizes) {
    engine::SplitMix64 rng(seed);
    std::vector<float> mat(size_t{items} * rank), bias(items);
    for (float& v : mat) v = rng.NextGaussian();
    for (float& v : bias) v = 0.1f * rng.NextGaussian();
    std::vector<float> qs(queries * rank);
    for (float& v : qs) v = rng.NextGaussian();
    engine::ScanOptions opt;
    opt.item_bias = bias.data();
    const double floor_ms = 1e3 * static_cast<double>(mat.size() * sizeof(float)) / bw;
    // Single queries: latency distribution.
    std::vector<double> lat;
    for (size_t q = 0; q < queries; ++q) {
      engine::ScanQuery sq;
      sq.vector = &qs[q * rank];
      const auto t0 = Clock::now();
      auto r = engine::TopN(mat.data(), items, rank, sq, n, opt);
      lat.push_back(1e3 * Since(t0));
      if (r.empty()) return 1;
    }
    fmt::print("  {:>8} items ({:.1f} MB, full read at measured bandwidth {:.3f} ms)\n", items,
               mat.size() * 4 / 1e6, floor_ms);
    fmt::print("    batch   1: p50 {:.3f} ms  p99 {:.3f} ms  mean {:.3f} ms per query\n",
               Percentile(lat, 0.5), Percentile(lat, 0.99),
               std::accumulate(lat.begin(), lat.end(), 0.0) / lat.size());
    for (size_t b : batches) {
      if (b <= 1) continue;
      std::vector<std::vector<engine::ScoredItem>> out;
      const auto t0 = Clock::now();
      size_t done = 0;
      for (size_t q = 0; q + b <= queries; q += b) {
        std::vector<engine::ScanQuery> batch(b);
        for (size_t j = 0; j < b; ++j) batch[j].vector = &qs[(q + j) * rank];
        engine::TopNScan(mat.data(), items, rank, batch, n, opt, &out);
        done += b;
      }
      if (done == 0) continue;
      fmt::print("    batch {:>3}: {:.3f} ms per query\n", b, 1e3 * Since(t0) / done);
    }
  }
  return 0;
}

}  // namespace

int RunBench(int argc, const char* const* argv) {
  std::string what;
  uint64_t events = 2'000'000, seed = 1;
  uint32_t users = 100'000, items = 100'000;
  int rank = 64;
  size_t n = 10, queries = 200;
  std::vector<uint32_t> sizes;
  std::vector<size_t> batches;
  std::string dir = "/tmp";
  int threads = 1;
  double seconds = 3.0;
  HttpBenchOptions http;
  http.durability.clear();
  int connections = 4;
  po::options_description desc(
      "streamrec bench: micro-benchmarks\n\n"
      "  streamrec bench learner [--events 2000000 --rank 64]\n"
      "  streamrec bench topn [--catalog 100000 --catalog 1000000 --batch 32]\n"
      "  streamrec bench log [--batch 1 100 1000 --threads 1 --seconds 3 --dir /tmp]\n"
      "  streamrec bench recovery [--events 1000000 --rank 64 --dir /tmp]\n"
      "  streamrec bench freshness [--url HOST:PORT] [--events 1000]\n"
      "  streamrec bench ingest [--url HOST:PORT] [--batch 1 1000 --connections 4 --seconds 3]\n"
      "\nfreshness and ingest talk HTTP to the server at --url (they write events to it:\n"
      "use a scratch database), or to one they start on a temporary database in --dir,\n"
      "preloaded with a synthetic stream, once per --durability mode.\n\nOptions");
  desc.add_options()("help,h", "show this help")(
      "what", po::value(&what), "learner | topn | log | recovery | freshness | ingest")(
      "events", po::value(&events)->default_value(events),
      "learner: events to apply; freshness: iterations (default 1000)")(
      "users", po::value(&users)->default_value(users),
      "learner: users; freshness, ingest: users (default 5000)")(
      "items", po::value(&items)->default_value(items),
      "learner: items; freshness, ingest: items (default 2000)")(
      "rank", po::value(&rank)->default_value(rank), "latent dimensions k")(
      "catalog", po::value(&sizes)->multitoken(), "topn: catalog sizes (default 10k 100k 1M)")(
      "n", po::value(&n)->default_value(n), "topn: list length")(
      "queries", po::value(&queries)->default_value(queries), "topn: queries per size")(
      "batch", po::value(&batches)->multitoken(),
      "topn: batch sizes (default 8 32 128); log, ingest: events per batch")(
      "seed", po::value(&seed)->default_value(seed), "seed of the synthetic data")(
      "dir", po::value(&dir)->default_value(dir), "log/recovery: where to create the database")(
      "threads", po::value(&threads)->default_value(threads), "log: concurrent writers")(
      "seconds", po::value(&seconds)->default_value(seconds), "log, ingest: seconds per case")(
      "url", po::value(&http.url), "freshness, ingest: HOST:PORT of a running server")(
      "key", po::value(&http.api_key), "freshness, ingest: API key (read+write) for --url")(
      "connections", po::value(&connections)->default_value(connections),
      "ingest: client threads, each with its own keep-alive connection")(
      "durability", po::value(&http.durability)->multitoken(),
      "freshness, ingest, own server: sync | process (default: freshness sync, ingest both)")(
      "preload", po::value(&http.preload_events)->default_value(http.preload_events),
      "freshness, ingest, own server: synthetic events loaded before measuring")(
      "server-threads", po::value(&http.server_threads)->default_value(http.server_threads),
      "freshness, ingest, own server: HTTP threads")(
      "user-prefix", po::value(&http.user_prefix)->default_value(http.user_prefix),
      "freshness, ingest: user ids are PREFIX<k>, k < --users (default 5000 here)");
  po::positional_options_description pos;
  pos.add("what", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine("bench", argc, argv, desc, &pos, &vm)) return *rc;
  if (rank < 1 || rank > engine::kMaxRank) {
    fmt::print(stderr, "streamrec bench: --rank must be in [1, {}]\n", engine::kMaxRank);
    return 2;
  }
  if (what == "learner") {
    if (events == 0 || users == 0 || items == 0) {
      fmt::print(stderr, "streamrec bench: --events, --users, --items must be >= 1\n");
      return 2;
    }
    return BenchLearner(events, users, items, rank, seed);
  }
  if (what == "topn") {
    if (sizes.empty()) sizes = {10'000, 100'000, 1'000'000};
    if (batches.empty()) batches = {8, 32, 128};
    if (n == 0 || queries == 0 || std::count(sizes.begin(), sizes.end(), 0u) > 0) {
      fmt::print(stderr, "streamrec bench: --n, --queries and --catalog must be >= 1\n");
      return 2;
    }
    return BenchTopN(sizes, rank, n, queries, batches, seed);
  }
  if (what == "log") {
    if (batches.empty()) batches = {1, 100, 1000};
    if (threads < 1 || threads > 256 || !(seconds > 0) ||
        std::count(batches.begin(), batches.end(), size_t{0}) > 0) {
      fmt::print(stderr,
                 "streamrec bench: need --threads in [1,256], --seconds > 0, --batch >= 1\n");
      return 2;
    }
    return BenchLog(dir, batches, threads, seconds);
  }
  if (what == "recovery") {
    if (!vm.count("events") || vm["events"].defaulted()) events = 1'000'000;
    if (events == 0) {
      fmt::print(stderr, "streamrec bench: --events must be >= 1\n");
      return 2;
    }
    return BenchRecovery(dir, events, rank);
  }
  if (what == "freshness" || what == "ingest") {
    http.dir = dir;
    http.rank = rank;
    if (!vm["users"].defaulted()) http.users = users;
    if (!vm["items"].defaulted()) http.items = items;
    if (http.durability.empty()) {
      http.durability = what == "ingest" ? std::vector<std::string>{"sync", "process"}
                                         : std::vector<std::string>{"sync"};
    }
    for (const std::string& d : http.durability) {
      if (d != "sync" && d != "process") {
        fmt::print(stderr, "streamrec bench: --durability must be sync or process, got '{}'\n", d);
        return 2;
      }
    }
    if (http.users == 0 || http.items == 0 || http.server_threads < 1 ||
        http.server_threads > 256) {
      fmt::print(stderr,
                 "streamrec bench: need --users, --items >= 1, --server-threads in [1,256]\n");
      return 2;
    }
    if (what == "freshness") {
      if (vm["events"].defaulted()) events = 1000;
      if (events == 0) {
        fmt::print(stderr, "streamrec bench: --events must be >= 1\n");
        return 2;
      }
      return BenchFreshness(http, events);
    }
    if (batches.empty()) batches = {1, 1000};
    if (connections < 1 || connections > 1024 || !(seconds > 0) ||
        std::count(batches.begin(), batches.end(), size_t{0}) > 0) {
      fmt::print(stderr,
                 "streamrec bench: need --connections in [1,1024], --seconds > 0, --batch >= 1\n");
      return 2;
    }
    return BenchIngest(http, batches, connections, seconds);
  }
  fmt::print(stderr,
             "streamrec bench: expected learner, topn, log, recovery, freshness or ingest, got "
             "'{}'\n",
             what);
  return 2;
}

}  // namespace streamrec::tools
