// `streamrec bench learner|apply|topn|log|recovery|freshness|ingest|scale`:
// parses and checks the flags, then runs one benchmark: the engine's own
// (tools/bench/bench_engine.h), the storage ones (bench_storage.h), those
// over HTTP (bench_http.h) or all of them at size (bench_scale.h).
#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "engine/model/mf_model.h"
#include "tools/bench/bench_cluster.h"
#include "tools/bench/bench_engine.h"
#include "tools/bench/bench_http.h"
#include "tools/bench/bench_scale.h"
#include "tools/bench/bench_storage.h"
#include "tools/bench/serve_process.h"
#include "tools/cli/command_line.h"
#include "tools/commands/commands.h"
#include "tools/config/config.h"

namespace streamrec::tools {
namespace {

namespace po = boost::program_options;

constexpr std::string_view kBench = "bench";

// The command line as given. Defaults that depend on the benchmark (--events,
// --batch, --catalog, --durability, --users, --items; for scale also
// --connections and --seconds) are filled in by ValidateBench.
struct BenchFlags {
  // learner | apply | topn | log | recovery | freshness | ingest | features | scale |
  // cluster
  std::string what;
  uint64_t events = 2'000'000;
  uint64_t seed = 1;
  uint32_t users = 100'000;
  uint32_t items = 100'000;
  int rank = 64;
  int repeat = 1;  // --repeat (learner)
  size_t n = 10;
  size_t queries = 200;
  std::vector<uint32_t> sizes;       // --catalog
  std::vector<size_t> batches;       // --batch
  std::string vectors = "gaussian";  // --vectors (topn)
  std::vector<uint32_t> probes;      // --probe (topn)
  std::string dir = "/tmp";
  int threads = 1;
  double seconds = 3.0;
  int connections = 4;
  HttpBenchOptions http;                // --url, --key, --durability, --preload, ...
  std::string config_path;              // --config (apply, recovery, scale)
  ScaleBenchOptions scale;              // filled in by ValidateScale
  ApplyBenchOptions apply;              // filled in by ValidateApply
  engine::RecommenderOptions recovery;  // filled in by ValidateRecovery
  std::vector<std::string> replicas;    // --replica (cluster)
  std::string nats;                     // --nats (cluster)
  std::string delete_user;              // --delete-user (cluster)
  double crash_seconds = 20.0;          // --crash-seconds (scale)
  bool retrain = false;                 // --retrain (scale)
  uint64_t holdout = 0;                 // --holdout (scale)
  // Whether these were on the command line (their defaults differ per
  // benchmark; scale takes its rank from the config unless --rank is given).
  bool events_given = false;
  bool users_given = false;
  bool items_given = false;
  bool connections_given = false;
  bool seconds_given = false;
  bool rank_given = false;
  bool preload_given = false;
};

// Returns the exit code to stop with, or nullopt to go on.
std::optional<int> ParseBench(int argc, const char* const* argv, BenchFlags* f) {
  f->http.durability.clear();  // empty: the benchmark's default modes
  po::options_description desc(
      "streamrec bench: micro-benchmarks\n\n"
      "  streamrec bench learner [--events 2000000 --rank 64 --repeat 1]\n"
      "  streamrec bench apply [--users 500000 --items 100000 --preload 5000000]\n"
      "                        [--events 500000 --batch 1000 --config FILE]\n"
      "  streamrec bench topn [--catalog 100000 --catalog 1000000 --batch 32]\n"
      "                       [--vectors gaussian|clustered --probe 32 64]\n"
      "  streamrec bench log [--batch 1 100 1000 --threads 1 --seconds 3 --dir /tmp]\n"
      "  streamrec bench recovery [--events 1000000 --rank 64 --dir /tmp --config FILE]\n"
      "  streamrec bench freshness [--url HOST:PORT] [--events 1000]\n"
      "  streamrec bench features [--url HOST:PORT] [--connections 4] [--seconds 3]\n"
      "  streamrec bench ingest [--url HOST:PORT] [--batch 1 1000 --connections 4 --seconds 3]\n"
      "  streamrec bench scale [--users 500000 --items 100000 --events 5000000] [--config FILE]\n"
      "                        [--dir /tmp --connections 16 --seconds 10 --seed 1]\n"
      "                        [--crash-seconds 20 --retrain]\n"
      "  streamrec bench cluster --replica HOST:PORT --replica HOST:PORT [--nats URLS]\n"
      "                        [--delete-user USER]\n"
      "                          [--batch 1 1000 --connections 4 --seconds 3 --events 300]\n"
      "\napply replays --preload events of a synthetic stream into two engine copies as the\n"
      "server's open does, then applies its next --events in runs of --batch as the model\n"
      "thread does (no log, no HTTP): the model thread's CPU per event.\n"
      "recovery writes a log of --events (100k users x 20k items) and times recovering the\n"
      "configured model from it alone, from a snapshot halfway and from one at its end.\n"
      "freshness and ingest talk HTTP to the server at --url (they write events to it:\n"
      "use a scratch database), or to one they start on a temporary database in --dir,\n"
      "preloaded with a synthetic stream, once per --durability mode.\n"
      "scale loads one synthetic stream into a temporary database in --dir and measures\n"
      "append, recovery (log, snapshot), memory, reads and ingest over HTTP and the recall\n"
      "of the served top-N against an exact scan, in one process (minutes at the defaults),\n"
      "with --retrain a retrain of the whole log under single-event writes, then serves the\n"
      "store from a child process on the configured snapshot schedule, kills it under ingest\n"
      "(SIGKILL) and times the recovery.\n"
      "cluster writes to the first replica of a running cluster (tools/cluster.sh up) and\n"
      "measures ingest, the time until a write is visible on the second (min_seq), and with\n"
      "--nats the catch-up of a new replica it starts on an empty data dir in --dir.\n"
      "\nOptions");
  desc.add_options()("help,h", "show this help")(
      "what", po::value(&f->what),
      "learner | apply | topn | log | recovery | freshness | ingest | features | scale | "
      "cluster")(
      "events", Defaulted(&f->events),
      "learner: events to apply; apply: events applied live (default 500000); freshness: "
      "iterations (default 1000); scale: events of the stream (default 5000000)")(
      "users", Defaulted(&f->users),
      "learner: users; freshness, ingest, features: users (default: with --url the server's, "
      "else 5000); apply, scale: (default 500000)")(
      "items", Defaulted(&f->items),
      "learner: items; freshness, ingest, features: items (default: with --url the server's, "
      "else 2000); apply, scale: (default 100000)")(
      "rank", Defaulted(&f->rank), "latent dimensions k (scale: overrides the config's)")(
      "repeat", Defaulted(&f->repeat),
      "learner: runs of every case, each on fresh models; the median is shown, with the "
      "range")("config", po::value(&f->config_path),
               "apply, recovery, scale: configuration file (default: the built-in settings, "
               "config/streamrec.conf's)")("catalog", po::value(&f->sizes)->multitoken(),
                                           "topn: catalog sizes (default 10k 100k 1M)")(
      "n", Defaulted(&f->n), "topn: list length")("queries", Defaulted(&f->queries),
                                                  "topn: queries per size")(
      "batch", po::value(&f->batches)->multitoken(),
      "topn: batch sizes (default 8 32 128); log, ingest: events per batch; apply: events per "
      "run (default 1000)")(
      "vectors", Defaulted(&f->vectors),
      "topn: gaussian (no structure: the hard case) or clustered (taste clusters, as trained "
      "factors)")("probe", po::value(&f->probes)->multitoken(),
                  "topn: IVF cells read per query, one run each (default: cells / 16, at least 8)")(
      "seed", Defaulted(&f->seed), "seed of the synthetic data")(
      "dir", Defaulted(&f->dir), "log, recovery, scale, own server: where to create the database")(
      "threads", Defaulted(&f->threads), "log: concurrent writers")(
      "seconds", Defaulted(&f->seconds),
      "log, ingest, scale: seconds per case (scale: default 10)")(
      "crash-seconds", Defaulted(&f->crash_seconds),
      "scale: seconds of ingest before the crash stage kills its server (0: no crash stage)")(
      "retrain", po::bool_switch(&f->retrain),
      "scale: also retrain the whole log while single events are written (time, peak RSS, the "
      "writes' longest wait)")(
      "holdout", Defaulted(&f->holdout),
      "scale: events after the loaded ones on which the served lists' HR@10 is measured (0: "
      "events / 10, at most 500000)")("url", po::value(&f->http.url),
                                      "freshness, ingest: HOST:PORT of a running server")(
      "key", po::value(&f->http.api_key), "freshness, ingest: API key (read+write) for --url")(
      "connections", Defaulted(&f->connections),
      "ingest, scale: client threads, each with its own keep-alive connection (scale: default "
      "16; its ingest uses a quarter, at least 2)")(
      "durability", po::value(&f->http.durability)->multitoken(),
      "freshness, ingest, own server: sync | process (default: freshness sync, ingest both)")(
      "preload", Defaulted(&f->http.preload_events),
      "freshness, ingest, own server: synthetic events loaded before measuring; apply: events "
      "replayed first (default 5000000)")("server-threads", Defaulted(&f->http.server_threads),
                                          "freshness, ingest, own server: HTTP threads")(
      "user-prefix", Defaulted(&f->http.user_prefix),
      "freshness, ingest: user ids are PREFIX<k>, k < --users")(
      "replica", po::value(&f->replicas)->multitoken(),
      "cluster: HOST:PORT of two or more replicas (the first takes the writes)")(
      "nats", po::value(&f->nats),
      "cluster: the cluster's NATS URLs; also time a new replica catching up")(
      "delete-user", po::value(&f->delete_user),
      "cluster: DELETE this user on the first replica and time it (forget, image, trim)");
  po::positional_options_description pos;
  pos.add("what", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(kBench, argc, argv, desc, &pos, &vm)) return rc;
  f->events_given = vm.count("events") > 0 && !vm["events"].defaulted();
  f->users_given = !vm["users"].defaulted();
  f->items_given = !vm["items"].defaulted();
  f->connections_given = !vm["connections"].defaulted();
  f->seconds_given = !vm["seconds"].defaulted();
  f->rank_given = !vm["rank"].defaulted();
  f->preload_given = !vm["preload"].defaulted();
  return std::nullopt;
}

bool HasZero(const std::vector<size_t>& v) { return std::count(v.begin(), v.end(), size_t{0}) > 0; }

Status ValidateLearner(const BenchFlags& f) {
  if (f.events == 0 || f.users == 0 || f.items == 0) {
    return Status::InvalidArgument("--events, --users, --items must be >= 1");
  }
  if (f.repeat < 1 || f.repeat > 100) {
    return Status::InvalidArgument(fmt::format("--repeat must be in [1, 100], got {}", f.repeat));
  }
  return Status::OK();
}

// --config's settings, or the built-in ones without it.
StatusOr<Config> BenchConfig(const BenchFlags& f) {
  if (f.config_path.empty()) return DefaultConfig();
  StatusOr<Config> loaded = LoadConfig(f.config_path);
  if (!loaded.ok()) return Status::InvalidArgument(loaded.status().message());
  return loaded;
}

// apply: the flags over ApplyBenchOptions' defaults, and the config file.
Status ValidateApply(BenchFlags* f) {
  ApplyBenchOptions& a = f->apply;
  StatusOr<Config> loaded = BenchConfig(*f);
  if (!loaded.ok()) return loaded.status();
  const Config& config = *loaded;
  a.recommender = config.recommender;
  if (f->rank_given) a.recommender.model.rank = f->rank;
  a.types = config.types;
  if (f->users_given) a.users = f->users;
  if (f->items_given) a.items = f->items;
  if (f->events_given) a.events = f->events;
  if (f->preload_given) a.preload = f->http.preload_events;
  a.seed = f->seed;
  if (f->batches.size() > 1) return Status::InvalidArgument("apply: give one --batch");
  if (!f->batches.empty()) a.run = f->batches[0];
  constexpr uint64_t kMaxEvents = 1'000'000'000;
  if (a.users == 0 || a.items == 0 || a.events == 0 || a.run == 0 || a.preload > kMaxEvents ||
      a.events > kMaxEvents || a.users > (1u << 31) || a.items > (1u << 31)) {
    return Status::InvalidArgument(
        "apply: need --users and --items in [1, 2^31], --events in [1, 1e9], --preload at most "
        "1e9 and --batch >= 1");
  }
  return Status::OK();
}

Status ValidateTopN(BenchFlags* f) {
  if (f->sizes.empty()) f->sizes = {10'000, 100'000, 1'000'000};
  if (f->batches.empty()) f->batches = {8, 32, 128};
  if (f->n == 0 || f->queries == 0 || std::count(f->sizes.begin(), f->sizes.end(), 0u) > 0) {
    return Status::InvalidArgument("--n, --queries and --catalog must be >= 1");
  }
  if (f->vectors != "gaussian" && f->vectors != "clustered") {
    return Status::InvalidArgument(
        fmt::format("--vectors must be gaussian or clustered, got '{}'", f->vectors));
  }
  if (std::count(f->probes.begin(), f->probes.end(), 0u) > 0) {
    return Status::InvalidArgument("--probe must be >= 1");
  }
  return Status::OK();
}

Status ValidateLog(BenchFlags* f) {
  if (f->batches.empty()) f->batches = {1, 100, 1000};
  if (f->threads < 1 || f->threads > 256 || !(f->seconds > 0) || HasZero(f->batches)) {
    return Status::InvalidArgument("need --threads in [1,256], --seconds > 0, --batch >= 1");
  }
  return Status::OK();
}

Status ValidateRecovery(BenchFlags* f) {
  if (!f->events_given) f->events = 1'000'000;
  if (f->events == 0) return Status::InvalidArgument("--events must be >= 1");
  StatusOr<Config> loaded = BenchConfig(*f);
  if (!loaded.ok()) return loaded.status();
  f->recovery = loaded->recommender;
  f->recovery.model.rank = f->rank;
  return Status::OK();
}

// freshness and ingest: the server's settings into f->http.
Status ValidateHttp(BenchFlags* f) {
  HttpBenchOptions& http = f->http;
  http.dir = f->dir;
  http.rank = f->rank;
  if (f->users_given) http.users = f->users;
  if (f->items_given) http.items = f->items;
  // Against a running server: its own users and items, unless given.
  http.users_from_server = !http.url.empty() && !f->users_given;
  http.items_from_server = !http.url.empty() && !f->items_given;
  if (http.durability.empty()) {
    http.durability = f->what == "ingest" ? std::vector<std::string>{"sync", "process"}
                                          : std::vector<std::string>{"sync"};
  }
  for (const std::string& d : http.durability) {
    if (d != "sync" && d != "process") {
      return Status::InvalidArgument(
          fmt::format("--durability must be sync or process, got '{}'", d));
    }
  }
  if (http.users == 0 || http.items == 0 || http.server_threads < 1 || http.server_threads > 256) {
    return Status::InvalidArgument("need --users, --items >= 1, --server-threads in [1,256]");
  }
  if (f->what == "freshness") {
    if (!f->events_given) f->events = 1000;
    if (f->events == 0) return Status::InvalidArgument("--events must be >= 1");
    return Status::OK();
  }
  if (f->batches.empty()) f->batches = {1, 1000};
  if (f->connections < 1 || f->connections > 1024 || !(f->seconds > 0) || HasZero(f->batches)) {
    return Status::InvalidArgument("need --connections in [1,1024], --seconds > 0, --batch >= 1");
  }
  return Status::OK();
}

// scale: the flags over ScaleBenchOptions' defaults, and the config file.
Status ValidateScale(BenchFlags* f) {
  ScaleBenchOptions& s = f->scale;
  if (f->users_given) s.users = f->users;
  if (f->items_given) s.items = f->items;
  if (f->events_given) s.events = f->events;
  if (f->connections_given) s.connections = f->connections;
  if (f->seconds_given) s.seconds = f->seconds;
  s.seed = f->seed;
  s.dir = f->dir;
  if (s.users == 0 || s.items == 0 || s.events == 0) {
    return Status::InvalidArgument("--users, --items and --events must be >= 1");
  }
  if (s.connections < 1 || s.connections > 1024 || !(s.seconds > 0) || s.seconds > 3600) {
    return Status::InvalidArgument("need --connections in [1,1024] and --seconds in (0, 3600]");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(s.dir, ec)) {
    return Status::InvalidArgument(fmt::format("--dir '{}' is not a directory", s.dir));
  }
  if (!f->config_path.empty()) {
    StatusOr<Config> loaded = BenchConfig(*f);
    if (!loaded.ok()) return loaded.status();
    s.config = std::move(loaded).value();
    s.config_text = ReadTextFile(f->config_path);
  }
  if (!(f->crash_seconds >= 0) || f->crash_seconds > 3600) {
    return Status::InvalidArgument("--crash-seconds must be in [0, 3600] (0: no crash stage)");
  }
  s.crash_seconds = f->crash_seconds;
  s.retrain = f->retrain;
  if (f->holdout > 100'000'000) {
    return Status::InvalidArgument("--holdout must be at most 100000000 (0: events / 10)");
  }
  s.holdout_events = f->holdout;
  if (s.crash_seconds > 0 && !s.config.api.keys.empty()) {
    constexpr uint32_t kNeeded = http::kScopeWrite | http::kScopeAdmin;
    for (const http::ApiKey& k : s.config.api.keys) {
      if ((k.scopes & kNeeded) == kNeeded) {
        s.crash_api_key = k.secret;
        break;
      }
    }
    if (s.crash_api_key.empty()) {
      return Status::InvalidArgument(
          "the crash stage's server enforces the configuration's API keys, and none has both the "
          "write and admin scopes: add one, or --crash-seconds 0");
    }
  }
  if (f->rank_given) s.config.recommender.model.rank = f->rank;
  return Status::OK();
}

// Fills in the benchmark's defaults and checks the flags it uses.
Status ValidateBench(BenchFlags* f) {
  if (f->rank < 1 || f->rank > engine::kMaxRank) {
    return Status::InvalidArgument(fmt::format("--rank must be in [1, {}]", engine::kMaxRank));
  }
  if (f->what == "learner") return ValidateLearner(*f);
  if (f->what == "apply") return ValidateApply(f);
  if (f->what == "topn") return ValidateTopN(f);
  if (f->what == "log") return ValidateLog(f);
  if (f->what == "recovery") return ValidateRecovery(f);
  if (f->what == "freshness" || f->what == "ingest" || f->what == "features") {
    return ValidateHttp(f);
  }
  if (f->what == "scale") return ValidateScale(f);
  if (f->what == "cluster") {
    if (f->replicas.size() < 2) {
      return Status::InvalidArgument("cluster: give two or more --replica HOST:PORT");
    }
    if (!f->events_given) f->events = 300;
    if (f->batches.empty()) f->batches = {1, 1000};
    if (f->users_given) f->http.users = f->users;
    if (f->items_given) f->http.items = f->items;
    if (f->events == 0 || f->connections < 1 || f->connections > 1024 || !(f->seconds > 0) ||
        HasZero(f->batches) || f->http.users == 0 || f->http.items == 0) {
      return Status::InvalidArgument(
          "need --events >= 1, --connections in [1,1024], --seconds > 0, --batch >= 1, "
          "--users, --items >= 1");
    }
    return Status::OK();
  }
  return Status::InvalidArgument(fmt::format(
      "expected learner, apply, topn, log, recovery, freshness, ingest, features, scale or "
      "cluster, got '{}'",
      f->what));
}

// Runs the benchmark ValidateBench accepted; returns its exit code.
int ExecuteBench(const BenchFlags& f) {
  if (f.what == "learner")
    return BenchLearner(f.events, f.users, f.items, f.rank, f.seed, f.repeat);
  if (f.what == "apply") return BenchApply(f.apply);
  if (f.what == "topn") {
    return BenchTopN({.sizes = f.sizes,
                      .rank = f.rank,
                      .n = f.n,
                      .queries = f.queries,
                      .batches = f.batches,
                      .seed = f.seed,
                      .clustered = f.vectors == "clustered",
                      .probes = f.probes});
  }
  if (f.what == "log") return BenchLog(f.dir, f.batches, f.threads, f.seconds);
  if (f.what == "recovery") return BenchRecovery(f.dir, f.events, f.recovery);
  if (f.what == "freshness") return BenchFreshness(f.http, f.events);
  if (f.what == "scale") return BenchScale(f.scale);
  if (f.what == "cluster") {
    ClusterBenchOptions c;
    c.replicas = f.replicas;
    c.http = f.http;
    c.batches = f.batches;
    c.connections = f.connections;
    c.seconds = f.seconds;
    c.lag_events = f.events;
    c.nats = f.nats;
    c.delete_user = f.delete_user;
    c.config = f.config_path;
    c.dir = f.dir;
    return BenchCluster(c);
  }
  if (f.what == "features") return BenchFeatures(f.http, f.connections, f.seconds);
  return BenchIngest(f.http, f.batches, f.connections, f.seconds);
}

}  // namespace

int RunBench(int argc, const char* const* argv) {
  BenchFlags f;
  if (auto rc = ParseBench(argc, argv, &f)) return *rc;
  if (Status st = ValidateBench(&f); !st.ok()) return Fail(kBench, st);
  return ExecuteBench(f);
}

}  // namespace streamrec::tools
