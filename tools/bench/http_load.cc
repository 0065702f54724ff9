// The benchmarks' own server and their client load (see http_load.h).
#include "tools/bench/http_load.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iterator>
#include <thread>

#include "engine/core/event.h"
#include "engine/core/thread_name.h"
#include "http/client.h"
#include "tools/bench/bench_util.h"

namespace streamrec::tools {
namespace {

// The requests of one connection until `deadline`, into *mine.
void LoadConnection(const Endpoint& ep, const std::map<std::string, std::string>& headers,
                    int connection, BenchClock::time_point deadline, const RequestMaker& make,
                    const LoadHooks& hooks, LoadTotals* mine) {
  engine::NameThisThread("sr-client");  // its CPU apart from the server's (thread_cpu.h)
  http::Client client(ep.host, ep.port);
  LoadRequest request;
  auto stopped = [&] { return hooks.stop != nullptr && hooks.stop->load(); };
  for (uint64_t index = 0; BenchClock::now() < deadline && !stopped(); ++index) {
    make(connection, index, &request);
    const auto t0 = BenchClock::now();
    auto r = client.Send(request.method, request.target, request.body, "application/json", headers);
    mine->latency_ms.push_back(Since(t0) * 1e3);
    ++mine->requests;
    if (r.ok() && r->status == 200) {
      mine->units += request.units;
      if (hooks.on_ok) hooks.on_ok(connection, r->body);
      continue;
    }
    ++mine->errors;
    if (mine->first_error.empty()) {
      mine->first_error = r.ok() ? fmt::format("HTTP {} {:.200}", r->status, r->body)
                                 : std::string(r.status().message());
    }
  }
}

}  // namespace

void UseForBenchmark(Config* c) {
  c->live.store.snapshot_every_events = 0;
  c->live.store.snapshot_every_seconds = 0;
  c->live.ids = {};
  c->api.keys.clear();
  c->server.address = "127.0.0.1";
  c->server.port = 0;
}

ScratchServer::~ScratchServer() {
  StopServer();
  if (store) {
    // Best effort: the database is deleted next, a failed snapshot of a
    // benchmark's scratch data loses nothing.
    const Status st = store->Close();
    if (!st.ok()) fmt::print(stderr, "streamrec bench: closing the store: {}\n", st.message());
  }
  store.reset();
  std::error_code ec;
  if (!dir.empty()) std::filesystem::remove_all(dir, ec);
}

Status ScratchServer::StartServer(const Config& c) {
  api = std::make_unique<http::Api>(store.get(), c.api);
  auto created = http::Server::Create(c.server, api.get());
  if (!created.ok()) return created.status();
  server = std::move(created).value();
  server->Start();
  return Status::OK();
}

void ScratchServer::StopServer() {
  if (server) {
    server->Shutdown();
    server->Wait();
  }
  server.reset();
  api.reset();
}

std::filesystem::path FreshScratchDir(const std::string& dir, const std::string& name) {
  std::filesystem::path p =
      std::filesystem::path(dir) / fmt::format("streamrec-bench-{}-{}", name, getpid());
  std::error_code ec;  // an absent directory is what we want; Open reports the rest
  std::filesystem::remove_all(p, ec);
  return p;
}

LoadTotals DriveLoad(const Endpoint& ep, const std::map<std::string, std::string>& headers,
                     int connections, double seconds, const RequestMaker& make,
                     const LoadHooks& hooks) {
  std::vector<LoadTotals> per(connections);
  const auto start = BenchClock::now();
  const auto deadline = start + std::chrono::duration_cast<BenchClock::duration>(
                                    std::chrono::duration<double>(seconds));
  std::vector<std::thread> pool;
  for (int t = 0; t < connections; ++t) {
    pool.emplace_back([&, t] { LoadConnection(ep, headers, t, deadline, make, hooks, &per[t]); });
  }
  for (auto& th : pool) th.join();
  LoadTotals all;
  all.seconds = Since(start);
  for (LoadTotals& p : per) {
    all.units += p.units;
    all.requests += p.requests;
    all.errors += p.errors;
    all.latency_ms.insert(all.latency_ms.end(), p.latency_ms.begin(), p.latency_ms.end());
    if (all.first_error.empty()) all.first_error = p.first_error;
  }
  return all;
}

LoadTotals IngestLoad(const HttpBenchOptions& o, const Endpoint& ep, size_t batch, int connections,
                      double seconds, const LoadHooks& hooks) {
  const int64_t run_id = engine::WallClockMs();
  auto make = [&](int t, uint64_t req, LoadRequest* r) {
    r->method = "POST";
    r->target = "/v1/events";
    r->units = batch;
    r->body.clear();
    r->body.push_back('[');
    for (size_t j = 0; j < batch; ++j) {
      const uint64_t n = (req * batch + j) * 64 + t;
      fmt::format_to(
          std::back_inserter(r->body),
          R"({}{{"event_id":"ing-{}-{}-{}-{}","user":"{}{}","item":"item{}","type":"view"}})",
          j ? "," : "", run_id, batch, t, req * batch + j, o.user_prefix,
          Spread(n) % std::max(1u, o.users),
          Spread(n ^ 0x5bd1e9955bd1e995ull) % std::max(1u, o.items));
    }
    r->body.push_back(']');
  };
  return DriveLoad(ep, AuthHeaders(o), connections, seconds, make, hooks);
}

std::map<std::string, std::string> AuthHeaders(const HttpBenchOptions& o) {
  if (o.api_key.empty()) return {};
  return {{"Authorization", fmt::format("Bearer {}", o.api_key)}};
}

}  // namespace streamrec::tools
