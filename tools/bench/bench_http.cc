// `streamrec bench freshness` and `streamrec bench ingest`: the service
// measured from the outside, over HTTP (see bench_http.h).
#include "tools/bench/bench_http.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "http/api.h"
#include "http/client.h"
#include "http/server.h"
#include "storage/live_store.h"
#include "tools/bench/bench_util.h"
#include "tools/config/config.h"
#include "tools/data/synthetic.h"

namespace streamrec::tools {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A server this process runs for the benchmark, on a temporary database
// that is removed afterwards. Members are destroyed server first.
struct OwnServer {
  std::filesystem::path dir;
  std::unique_ptr<storage::LiveStore> store;
  std::unique_ptr<http::Api> api;
  std::unique_ptr<http::Server> server;

  ~OwnServer() {
    if (server) {
      server->Shutdown();
      server->Wait();
    }
    server.reset();
    api.reset();
    if (store) {
      // Best effort: the database is deleted next, a failed snapshot of a
      // benchmark's scratch data loses nothing.
      const Status st = store->Close();
      if (!st.ok()) fmt::print(stderr, "streamrec bench: closing the store: {}\n", st.message());
    }
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

StatusOr<std::unique_ptr<OwnServer>> StartOwnServer(const HttpBenchOptions& o,
                                                    const std::string& durability) {
  Config c = DefaultConfig();
  c.recommender.model.rank = o.rank;
  c.live.store.log.durability =
      durability == "process" ? storage::Durability::kProcess : storage::Durability::kSync;
  // Snapshots only on close: a periodic one mid-run would be measured as
  // latency of whichever request happened to queue behind it.
  c.live.store.snapshot_every_events = 0;
  c.live.store.snapshot_every_seconds = 0;
  // The preload brings hundreds of thousands of new ids at full speed; the
  // caps on new ids are a defence against clients, not part of what is
  // measured.
  c.live.ids = {};
  c.server.address = "127.0.0.1";
  c.server.port = 0;
  c.server.threads = o.server_threads;
  auto own = std::make_unique<OwnServer>();
  own->dir = std::filesystem::path(o.dir) / fmt::format("streamrec-bench-http-{}", getpid());
  std::filesystem::remove_all(own->dir);
  auto store = storage::LiveStore::Open(own->dir.string(), c.live, c.recommender, c.types);
  if (!store.ok()) return store.status();
  own->store = std::move(store).value();
  SyntheticOptions so;
  so.users = o.users;
  so.items = o.items;
  so.events = o.preload_events;
  const std::vector<EventRecord> events = GenerateSynthetic(so);
  std::vector<storage::StoredEvent> batch;
  for (size_t start = 0; start < events.size(); start += 10000) {
    batch.clear();
    for (size_t n = start; n < std::min(events.size(), start + 10000); ++n) {
      const EventRecord& e = events[n];
      batch.push_back({0, fmt::format("pre{}", n), e.user, e.item, e.type, e.value, e.ts_ms});
    }
    auto r = own->store->Ingest(batch);
    if (!r.ok()) return r.status();
  }
  own->api = std::make_unique<http::Api>(own->store.get(), c.api);
  auto server = http::Server::Create(c.server, own->api.get());
  if (!server.ok()) return server.status();
  own->server = std::move(server).value();
  own->server->Start();
  return own;
}

struct Endpoint {
  std::string host;
  uint16_t port = 0;
};

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

std::map<std::string, std::string> AuthHeaders(const HttpBenchOptions& o) {
  if (o.api_key.empty()) return {};
  return {{"Authorization", fmt::format("Bearer {}", o.api_key)}};
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
template <typename Fn>
int ForEachTarget(const HttpBenchOptions& o, Fn&& fn) {
  if (!o.url.empty()) {
    auto e = ParseUrl(o.url);
    if (!e.ok()) {
      fmt::print(stderr, "streamrec bench: {}\n", e.status().message());
      return 2;
    }
    return fn(*e, fmt::format("server {}:{}", e->host, e->port));
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
    if (int rc = fn(Endpoint{"127.0.0.1", (*own)->server->port()}, label); rc != 0) return rc;
  }
  return 0;
}

void PrintRow(std::string_view name, const std::vector<double>& ms) {
  fmt::print("  {:<16} {:>9.3f} {:>9.3f} {:>9.3f} {:>9.3f}\n", name, Percentile(ms, 0.5),
             Percentile(ms, 0.9), Percentile(ms, 0.99),
             ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end()));
}

int FreshnessRun(const HttpBenchOptions& o, uint64_t events, const Endpoint& ep,
                 const std::string& label) {
  http::Client client(ep.host, ep.port);
  const auto headers = AuthHeaders(o);
  std::vector<double> ack_ms, send_ms, post_ms;
  uint64_t retried = 0, skipped = 0, never = 0;
  const int64_t run_id = NowMs();
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
  PrintRow("ack -> visible", ack_ms);
  PrintRow("send -> visible", send_ms);
  PrintRow("POST (ack)", post_ms);
  fmt::print("  {} of {} needed a second GET; {} never visible within 5 s; {} skipped (no items)\n",
             retried, ack_ms.size() + never, never, skipped);
  std::fflush(stdout);
  return never == 0 ? 0 : 1;
}

struct IngestTotals {
  uint64_t events = 0, requests = 0, errors = 0;
  double seconds = 0.0;  // from the start until the last request returned
  std::vector<double> latency_ms;
  std::string first_error;
};

IngestTotals IngestRun(const HttpBenchOptions& o, const Endpoint& ep, size_t batch, int connections,
                       double seconds) {
  std::vector<IngestTotals> per(connections);
  const int64_t run_id = NowMs();
  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto work = [&](int t) {
    IngestTotals& mine = per[t];
    http::Client client(ep.host, ep.port);
    const auto headers = AuthHeaders(o);
    std::string body;
    for (uint64_t req = 0; Clock::now() < deadline; ++req) {
      body.clear();
      body.push_back('[');
      for (size_t j = 0; j < batch; ++j) {
        const uint64_t n = (req * batch + j) * 64 + t;
        fmt::format_to(
            std::back_inserter(body),
            R"({}{{"event_id":"ing-{}-{}-{}-{}","user":"{}{}","item":"item{}","type":"view"}})",
            j ? "," : "", run_id, batch, t, req * batch + j, o.user_prefix,
            (n * 2654435761u) % std::max(1u, o.users), (n * 40503u) % std::max(1u, o.items));
      }
      body.push_back(']');
      const auto t0 = Clock::now();
      auto r = client.Post("/v1/events", body, headers);
      mine.latency_ms.push_back(Ms(Clock::now() - t0));
      ++mine.requests;
      if (r.ok() && r->status == 200) {
        mine.events += batch;
      } else {
        ++mine.errors;
        if (mine.first_error.empty()) {
          mine.first_error = r.ok() ? fmt::format("HTTP {} {:.200}", r->status, r->body)
                                    : std::string(r.status().message());
        }
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < connections; ++t) pool.emplace_back(work, t);
  for (auto& th : pool) th.join();
  IngestTotals all;
  all.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (IngestTotals& p : per) {
    all.events += p.events;
    all.requests += p.requests;
    all.errors += p.errors;
    all.latency_ms.insert(all.latency_ms.end(), p.latency_ms.begin(), p.latency_ms.end());
    if (all.first_error.empty()) all.first_error = p.first_error;
  }
  return all;
}

}  // namespace

int BenchFreshness(const HttpBenchOptions& options, uint64_t events) {
  return ForEachTarget(options, [&](const Endpoint& ep, const std::string& label) {
    return FreshnessRun(options, events, ep, label);
  });
}

int BenchIngest(const HttpBenchOptions& options, const std::vector<size_t>& batches,
                int connections, double seconds) {
  return ForEachTarget(options, [&](const Endpoint& ep, const std::string& label) {
    fmt::print("ingest over HTTP: {} connection(s), {} s per batch size, {}\n", connections,
               seconds, label);
    fmt::print("  {:>6} {:>12} {:>10} {:>10} {:>10} {:>8}\n", "batch", "events/s", "req/s",
               "p50 ms", "p99 ms", "errors");
    std::fflush(stdout);
    for (size_t b : batches) {
      const IngestTotals r = IngestRun(options, ep, b, connections, seconds);
      fmt::print("  {:>6} {:>12.0f} {:>10.0f} {:>10.3f} {:>10.3f} {:>8}\n", b,
                 static_cast<double>(r.events) / r.seconds,
                 static_cast<double>(r.requests) / r.seconds, Percentile(r.latency_ms, 0.5),
                 Percentile(r.latency_ms, 0.99), r.errors);
      if (r.errors > 0) fmt::print("    first error: {}\n", r.first_error);
      std::fflush(stdout);
      if (r.events == 0) return 1;
    }
    return 0;
  });
}

}  // namespace streamrec::tools
