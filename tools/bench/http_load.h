// What the benchmarks over HTTP share (bench freshness, ingest and scale):
// a server of their own over a scratch database, and client load from
// several keep-alive connections at once.
//
// Thread-safety: ScratchServer is owned and used by one thread (the store
// and server run their own). DriveLoad runs `connections` threads of its
// own and calls `make` from each of them at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "http/api.h"
#include "http/server.h"
#include "storage/live_store.h"
#include "tools/bench/bench_http.h"
#include "tools/config/config.h"

namespace streamrec::tools {

struct Endpoint {
  std::string host;
  uint16_t port = 0;
};

// `c` as a benchmark's own server runs it: on 127.0.0.1, an ephemeral
// port, no API keys (loopback only; the benchmark's client sends none), no
// caps on new ids (a synthetic stream brings hundreds of thousands at full
// speed: the caps defend against clients, they are not what is measured)
// and snapshots only when asked or on close (a periodic one mid-run would
// be measured as the latency of whichever request queued behind it).
void UseForBenchmark(Config* c);

// A server this process runs for a benchmark, on a temporary database in
// `dir` that is removed afterwards. The destructor stops the server, closes
// the store (an error is printed, not returned: the data is scratch) and
// deletes `dir`, in that order. Members may be replaced in between (bench
// scale closes and reopens the store).
struct ScratchServer {
  std::filesystem::path dir;
  std::unique_ptr<storage::LiveStore> store;
  std::unique_ptr<http::Api> api;
  std::unique_ptr<http::Server> server;

  ScratchServer() = default;
  ScratchServer(const ScratchServer&) = delete;
  ScratchServer& operator=(const ScratchServer&) = delete;
  ~ScratchServer();

  // Starts the API and server of config `c` (UseForBenchmark's) over
  // `store`. The store must be open.
  Status StartServer(const Config& c);
  // Stops the server, if running, and releases the API.
  void StopServer();
  Endpoint endpoint() const { return {"127.0.0.1", server ? server->port() : uint16_t{0}}; }
};

// "<dir>/streamrec-bench-<name>-<pid>", removed if it exists.
std::filesystem::path FreshScratchDir(const std::string& dir, const std::string& name);

// One request of a load run. `units` is what it counts for when it
// succeeds (1 per GET, the batch size per POST of events).
struct LoadRequest {
  std::string method = "GET";
  std::string target;
  std::string body;
  uint64_t units = 1;
};

struct LoadTotals {
  uint64_t units = 0, requests = 0, errors = 0;
  double seconds = 0.0;  // from the start until the last request returned
  std::vector<double> latency_ms;
  std::string first_error;

  double units_per_second() const { return seconds > 0 ? static_cast<double>(units) / seconds : 0; }
  double requests_per_second() const {
    return seconds > 0 ? static_cast<double>(requests) / seconds : 0;
  }
};

// Builds request `index` of connection `connection` into *request.
using RequestMaker = std::function<void(int connection, uint64_t index, LoadRequest* request)>;

// What a load run may do besides counting.
struct LoadHooks {
  // Called on the connection's thread with the body of every 200 answer.
  std::function<void(int connection, const std::string& body)> on_ok;
  // Once true, the connections send no further request (each finishes the
  // one it is waiting on).
  const std::atomic<bool>* stop = nullptr;
};

// `connections` client threads, each with its own keep-alive connection,
// send the requests `make` builds back to back for `seconds` (or until
// hooks.stop); a request counts as an error unless it is answered 200.
LoadTotals DriveLoad(const Endpoint& ep, const std::map<std::string, std::string>& headers,
                     int connections, double seconds, const RequestMaker& make,
                     const LoadHooks& hooks = {});

// Durable ingest: POSTs batches of `batch` view events for the users
// o.user_prefix<k>, k < o.users, and items item<j>, j < o.items, with
// event ids unique to this run.
LoadTotals IngestLoad(const HttpBenchOptions& o, const Endpoint& ep, size_t batch, int connections,
                      double seconds, const LoadHooks& hooks = {});

// "host:port" or "http://host:port" (IPv6 hosts in brackets); the error
// names --url.
StatusOr<Endpoint> ParseUrl(std::string url);

// One row of a latency table: `name` left-aligned in `width` columns, then
// p50, p90, p99 and max of `ms`.
void PrintLatencyRow(std::string_view name, const std::vector<double>& ms, int width);

// IngestLoad for each batch size, printed as a table (events/s, req/s,
// p50/p99, errors). With `in_process` (the server runs in this process),
// each size also gets a line of CPU per event by thread (thread_cpu.h).
// Returns 1 if a size stored nothing, else 0.
int PrintIngestTable(const HttpBenchOptions& o, const Endpoint& ep,
                     const std::vector<size_t>& batches, int connections, double seconds,
                     bool in_process = false);

// {"Authorization": "Bearer <key>"} when o.api_key is set.
std::map<std::string, std::string> AuthHeaders(const HttpBenchOptions& o);

}  // namespace streamrec::tools
