// `streamrec bench freshness` and `streamrec bench ingest`: the service
// measured from the outside, over HTTP (see bench_http.h).
#include "tools/bench/bench_http.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <utility>

#include "engine/core/event.h"
#include "http/client.h"
#include "storage/live_store.h"
#include "tools/bench/bench_stream.h"
#include "tools/bench/bench_util.h"
#include "tools/bench/http_load.h"
#include "tools/bench/thread_cpu.h"
#include "tools/config/config.h"
#include "tools/data/synthetic.h"

namespace streamrec::tools {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// Starts a server of its own on a scratch database, preloaded with a
// synthetic stream.
StatusOr<std::unique_ptr<ScratchServer>> StartOwnServer(const HttpBenchOptions& o,
                                                        const std::string& durability) {
  Config c = DefaultConfig();
  c.recommender.model.rank = o.rank;
  c.live.store.log.durability =
      durability == "process" ? storage::Durability::kProcess : storage::Durability::kSync;
  UseForBenchmark(&c);
  c.server.threads = o.server_threads;
  auto own = std::make_unique<ScratchServer>();
  own->dir = FreshScratchDir(o.dir, "http");
  auto store = storage::LiveStore::Open(own->dir.string(), c.live, c.recommender, c.types);
  if (!store.ok()) return store.status();
  own->store = std::move(store).value();
  SyntheticOptions so;
  so.users = o.users;
  so.items = o.items;
  so.events = o.preload_events;
  STREAMREC_RETURN_IF_ERROR(
      ForEachSyntheticBatch(so, "pre", 10000, [&](std::vector<storage::StoredEvent>& batch) {
        return own->store->Ingest(std::move(batch)).status();
      }));
  STREAMREC_RETURN_IF_ERROR(own->StartServer(c));
  return own;
}

std::string PathEscape(std::string_view s) {
  std::string out;
  for (unsigned char ch : s) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += fmt::format("%{:02X}", ch);
    }
  }
  return out;
}

// A uint64 member of a JSON object body, or nullopt.
std::optional<uint64_t> UintField(const json::value& v, std::string_view key) {
  const json::object* o = v.if_object();
  if (o == nullptr) return std::nullopt;
  const json::value* f = o->if_contains(key);
  if (f == nullptr) return std::nullopt;
  if (f->is_uint64()) return f->as_uint64();
  if (f->is_int64() && f->as_int64() >= 0) return static_cast<uint64_t>(f->as_int64());
  return std::nullopt;
}

struct RecsView {
  uint64_t seq = 0;
  std::vector<std::string> items;
};

// Reads {"seq": N, "items": [{"item": "...", ...}, ...], ...}.
StatusOr<RecsView> ParseRecs(const std::string& body) {
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  const std::optional<uint64_t> seq = ec ? std::nullopt : UintField(v, "seq");
  const json::value* items = ec || !v.is_object() ? nullptr : v.as_object().if_contains("items");
  if (!seq || items == nullptr || !items->is_array()) {
    return Status::Internal(fmt::format("unexpected recommendations body: {:.200}", body));
  }
  RecsView r;
  r.seq = *seq;
  for (const json::value& it : items->as_array()) {
    const json::value* id = it.is_object() ? it.as_object().if_contains("item") : nullptr;
    if (id != nullptr && id->is_string()) r.items.emplace_back(id->as_string());
  }
  return r;
}

// Runs `fn(endpoint, label)` against --url, or against an own server per
// durability mode. Returns the first non-zero exit code.
// o with the users and items the server at `ep` reports where
// o.users_from_server / items_from_server ask for them.
HttpBenchOptions WithServerCounts(const HttpBenchOptions& o, const Endpoint& ep) {
  HttpBenchOptions run = o;
  if (!o.users_from_server && !o.items_from_server) return run;
  http::Client client(ep.host, ep.port);
  const auto status = client.Get("/v1/admin/status", AuthHeaders(o));
  if (!status.ok() || status->status != 200) {
    fmt::print(stderr,
               "streamrec bench: the server's status could not be read ({}): {} users x {} "
               "items (--users, --items)\n",
               status.ok() ? fmt::format("HTTP {}", status->status)
                           : std::string(status.status().message()),
               o.users, o.items);
    return run;
  }
  const ServerCounts counts = ParseServerCounts(status->body);
  if (o.users_from_server && counts.users) run.users = *counts.users;
  if (o.items_from_server && counts.items) run.items = *counts.items;
  fmt::print("users and items as the server knows them (its status): {} x {}\n", run.users,
             run.items);
  return run;
}

// Calls fn(endpoint, label, options) for the server at --url, or for a
// server of its own per durability mode.
template <typename Fn>
int ForEachTarget(const HttpBenchOptions& o, Fn&& fn) {
  if (!o.url.empty()) {
    auto e = ParseUrl(o.url);
    if (!e.ok()) {
      fmt::print(stderr, "streamrec bench: {}\n", e.status().message());
      return 2;
    }
    return fn(*e, fmt::format("server {}:{}", e->host, e->port), WithServerCounts(o, *e));
  }
  for (const std::string& mode : o.durability) {
    fmt::print(stderr, "starting a server on a temporary database in {} ({} events preloaded)...\n",
               o.dir, o.preload_events);
    auto own = StartOwnServer(o, mode);
    if (!own.ok()) {
      fmt::print(stderr, "streamrec bench: own server: {}\n", own.status().message());
      return 1;
    }
    const std::string label =
        fmt::format("own server 127.0.0.1:{}, durability {}, {} HTTP threads, rank {}",
                    (*own)->server->port(), mode, o.server_threads, o.rank);
    if (int rc = fn((*own)->endpoint(), label, o); rc != 0) return rc;
  }
  return 0;
}

int FreshnessRun(const HttpBenchOptions& o, uint64_t events, const Endpoint& ep,
                 const std::string& label) {
  http::Client client(ep.host, ep.port);
  const auto headers = AuthHeaders(o);
  std::vector<double> ack_ms, send_ms, post_ms;
  uint64_t retried = 0, skipped = 0, never = 0;
  const int64_t run_id = engine::WallClockMs();
  for (uint64_t n = 0; n < events; ++n) {
    const std::string user =
        fmt::format("{}{}", o.user_prefix, (n * 2654435761u) % std::max(1u, o.users));
    const std::string target = fmt::format("/v1/users/{}/recommendations?n=10", PathEscape(user));
    auto before = client.Get(target, headers);
    if (!before.ok() || before->status != 200) {
      fmt::print(stderr, "streamrec bench: GET {}: {}\n", target,
                 before.ok() ? fmt::format("HTTP {} {:.200}", before->status, before->body)
                             : std::string(before.status().message()));
      return 1;
    }
    auto recs = ParseRecs(before->body);
    if (!recs.ok()) {
      fmt::print(stderr, "streamrec bench: {}\n", recs.status().message());
      return 1;
    }
    if (recs->items.empty()) {
      ++skipped;
      continue;
    }
    const std::string item = recs->items.front();
    const json::array body = {json::object{{"event_id", fmt::format("fresh-{}-{}", run_id, n)},
                                           {"user", user},
                                           {"item", item},
                                           {"type", "view"}}};
    const auto t_send = Clock::now();
    auto ack = client.Post("/v1/events", json::serialize(body), headers);
    const auto t_ack = Clock::now();
    if (!ack.ok() || ack->status != 200) {
      fmt::print(stderr, "streamrec bench: POST /v1/events: {}\n",
                 ack.ok() ? fmt::format("HTTP {} {:.200}", ack->status, ack->body)
                          : std::string(ack.status().message()));
      return 1;
    }
    boost::system::error_code ec;
    const json::value ack_json = json::parse(ack->body, ec);
    const std::optional<uint64_t> last_seq = ec ? std::nullopt : UintField(ack_json, "last_seq");
    if (!last_seq || *last_seq == 0) {
      fmt::print(stderr, "streamrec bench: ack without last_seq: {:.200}\n", ack->body);
      return 1;
    }
    bool visible = false;
    for (int attempt = 0; !visible && Clock::now() - t_ack < std::chrono::seconds(5); ++attempt) {
      auto after = client.Get(target, headers);
      const auto t = Clock::now();
      if (!after.ok() || after->status != 200) continue;
      auto r = ParseRecs(after->body);
      if (!r.ok()) continue;
      visible = r->seq >= *last_seq &&
                std::find(r->items.begin(), r->items.end(), item) == r->items.end();
      if (visible) {
        ack_ms.push_back(Ms(t - t_ack));
        send_ms.push_back(Ms(t - t_send));
        post_ms.push_back(Ms(t_ack - t_send));
        if (attempt > 0) ++retried;
      }
    }
    if (!visible) ++never;
  }
  if (ack_ms.empty() && never == 0) {
    fmt::print(stderr,
               "streamrec bench: nothing to measure: no user among the {} tried has any "
               "recommendation (load events into the server first)\n",
               skipped);
    return 1;
  }
  fmt::print("freshness over HTTP: {} events, {}\n", ack_ms.size(), label);
  fmt::print("  {:<16} {:>9} {:>9} {:>9} {:>9}   (ms)\n", "", "p50", "p90", "p99", "max");
  PrintLatencyRow("ack -> visible", ack_ms, 16);
  PrintLatencyRow("send -> visible", send_ms, 16);
  PrintLatencyRow("POST (ack)", post_ms, 16);
  fmt::print("  {} of {} needed a second GET; {} never visible within 5 s; {} skipped (no items)\n",
             retried, ack_ms.size() + never, never, skipped);
  std::fflush(stdout);
  return never == 0 ? 0 : 1;
}

}  // namespace

ServerCounts ParseServerCounts(const std::string& status_body) {
  ServerCounts counts;
  boost::system::error_code ec;
  const json::value v = json::parse(status_body, ec);
  if (ec) return counts;
  const auto positive = [](std::optional<uint64_t> n) -> std::optional<uint32_t> {
    if (!n || *n == 0 || *n > UINT32_MAX) return std::nullopt;
    return static_cast<uint32_t>(*n);
  };
  counts.users = positive(UintField(v, "users"));
  counts.items = positive(UintField(v, "items"));
  return counts;
}

StatusOr<Endpoint> ParseUrl(std::string url) {
  if (url.starts_with("http://")) url.erase(0, 7);
  while (!url.empty() && url.back() == '/') url.pop_back();
  const size_t colon = url.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == url.size()) {
    return Status::InvalidArgument(fmt::format("--url must be host:port, got '{}'", url));
  }
  Endpoint e;
  e.host = url.substr(0, colon);
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']') {
    e.host = e.host.substr(1, e.host.size() - 2);
  }
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(url.substr(colon + 1), &used);
    if (used != url.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 1 || port > 65535) {
    return Status::InvalidArgument(fmt::format("--url: bad port in '{}'", url));
  }
  e.port = static_cast<uint16_t>(port);
  return e;
}

int BenchFreshness(const HttpBenchOptions& options, uint64_t events) {
  return ForEachTarget(
      options, [&](const Endpoint& ep, const std::string& label, const HttpBenchOptions& run) {
        return FreshnessRun(run, events, ep, label);
      });
}

int BenchIngest(const HttpBenchOptions& options, const std::vector<size_t>& batches,
                int connections, double seconds) {
  return ForEachTarget(options, [&](const Endpoint& ep, const std::string& label,
                                    const HttpBenchOptions& run) {
    fmt::print("ingest over HTTP: {} connection(s), {} s per batch size, {}\n", connections,
               seconds, label);
    return PrintIngestTable(run, ep, batches, connections, seconds,
                            /*in_process=*/run.url.empty());
  });
}

int BenchFeatures(const HttpBenchOptions& options, int connections, double seconds) {
  return ForEachTarget(options, [&](const Endpoint& ep, const std::string& label,
                                    const HttpBenchOptions& run) {
    fmt::print("read features over HTTP: {} connection(s), {} s each, {}\n", connections, seconds,
               label);
    struct Feature {
      std::string name;
      std::string method;
      std::string query;  // after /v1/users/<u>/recommendations, or the route itself
    };
    const std::vector<Feature> features = {
        {"plain", "GET", "recommendations?n=10"},
        {"explain=true", "GET", "recommendations?n=10&explain=true"},
        {"rows (4 x 10)", "GET", "rows?rows=4&n=10"},
        {"session (5 items)", "POST", ""},
        {"diversity=0.3", "GET", "recommendations?n=10&diversity=0.3"},
        {"max_per_category=2", "GET", "recommendations?n=10&max_per_category=2"},
    };
    fmt::print("  {:<20} {:>9} {:>9} {:>9} {:>10} {:>10} {:>7}\n", "feature", "req/s", "p50 ms",
               "p99 ms", "+p50 ms", "+p99 ms", "errors");
    double plain50 = 0.0, plain99 = 0.0;
    for (const Feature& f : features) {
      const LoadTotals r = DriveLoad(
          ep, AuthHeaders(run), connections, seconds,
          [&](int connection, uint64_t index, LoadRequest* req) {
            const uint64_t n = index * 2654435761u + static_cast<uint64_t>(connection) * 40503u;
            const std::string user =
                fmt::format("{}{}", run.user_prefix, n % std::max(1u, run.users));
            if (f.method == "POST") {
              req->method = "POST";
              req->target = "/v1/recommendations";
              std::string history;
              for (uint64_t j = 0; j < 5; ++j) {
                history += fmt::format(R"({}{{"item":"item{}","type":"view"}})", j ? "," : "",
                                       (n / 7 + j * 13) % std::max(1u, run.items));
              }
              req->body = fmt::format(R"({{"history":[{}],"n":10}})", history);
            } else {
              req->target = fmt::format("/v1/users/{}/{}", PathEscape(user), f.query);
            }
          });
      const double p50 = Percentile(r.latency_ms, 0.5), p99 = Percentile(r.latency_ms, 0.99);
      if (f.name == "plain") plain50 = p50, plain99 = p99;
      fmt::print("  {:<20} {:>9.0f} {:>9.3f} {:>9.3f} {:>+10.3f} {:>+10.3f} {:>7}\n", f.name,
                 r.requests_per_second(), p50, p99, p50 - plain50, p99 - plain99, r.errors);
      if (r.errors > 0) fmt::print("    first error: {}\n", r.first_error);
      std::fflush(stdout);
      if (r.requests == 0) return 1;
    }
    return 0;
  });
}

void PrintLatencyRow(std::string_view name, const std::vector<double>& ms, int width) {
  fmt::print("  {:<{}} {:>9.3f} {:>9.3f} {:>9.3f} {:>9.3f}\n", name, width, Percentile(ms, 0.5),
             Percentile(ms, 0.9), Percentile(ms, 0.99), Percentile(ms, 1.0));
}

int PrintIngestTable(const HttpBenchOptions& o, const Endpoint& ep,
                     const std::vector<size_t>& batches, int connections, double seconds,
                     bool in_process) {
  fmt::print("  {:>6} {:>12} {:>10} {:>10} {:>10} {:>8}\n", "batch", "events/s", "req/s", "p50 ms",
             "p99 ms", "errors");
  std::fflush(stdout);
  for (size_t b : batches) {
    // The server's threads are this process's only when it runs here.
    const CpuSample cpu_before = in_process ? SampleCpu() : CpuSample{};
    const LoadTotals r = IngestLoad(o, ep, b, connections, seconds);
    fmt::print("  {:>6} {:>12.0f} {:>10.0f} {:>10.3f} {:>10.3f} {:>8}\n", b, r.units_per_second(),
               r.requests_per_second(), Percentile(r.latency_ms, 0.5),
               Percentile(r.latency_ms, 0.99), r.errors);
    if (in_process && r.units > 0) {
      fmt::print("    CPU per event (us) by thread: {}\n",
                 CpuPerUnit(cpu_before, SampleCpu(), r.units));
    }
    if (r.errors > 0) fmt::print("    first error: {}\n", r.first_error);
    std::fflush(stdout);
    if (r.units == 0) return 1;
  }
  return 0;
}

}  // namespace streamrec::tools
