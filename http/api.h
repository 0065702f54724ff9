// Api: streamrec's HTTP API (README "HTTP API" documents every route). It
// routes, authenticates, parses and validates JSON, and bridges to the
// LiveStore: reads run on the calling server thread against the published
// engine (wait-free); writes are queued on the store and answered from its
// callback, so no server thread ever waits for disk or for the writer.
//
//   POST   /v1/events                      write
//   GET    /v1/users/{user}/recommendations read (batched: query_batcher.h)
//   GET    /v1/users/{user}/rows            read
//   GET    /v1/users/{user}/events          read (the user's newest events)
//   POST   /v1/recommendations              read (anonymous sessions)
//   DELETE /v1/users/{user}                 write
//   GET    /v1/items/{item}/similar         read
//   GET    /v1/items/popular                read
//   GET    /v1/items/{item}                 read
//   PUT    /v1/items/{item}                 write
//   DELETE /v1/items/{item}                 write
//   POST   /v1/admin/snapshot               admin
//   POST   /v1/admin/retrain                admin
//   GET    /v1/admin/status                 admin
//   GET    /v1/admin/drift                  admin (drift in full, with history)
//   GET    /healthz                         open (liveness: 200 while serving)
//   GET    /readyz                          open (readiness: 503 while read-only)
//   GET    /metrics                         open (Prometheus text)
//   GET    /dashboard                       open (an HTML page over the above)
//   GET    /openapi.json                    open (the OpenAPI 3 description,
//                                           docs/openapi.json compiled in)
//
// Thread-safety: Handle() from any number of server threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/handler.h"
#include "http/metrics.h"
#include "http/query_batcher.h"
#include "storage/live_store.h"

namespace streamrec::http {

// What a key may do; a key's scopes are a bitwise OR. admin implies
// nothing else: give a key every scope it needs.
enum Scope : uint32_t { kScopeRead = 1, kScopeWrite = 2, kScopeAdmin = 4 };

struct ApiKey {
  std::string name;    // for logs and metrics; never the secret
  std::string secret;  // sent as "Authorization: Bearer <secret>" or "X-API-Key"
  uint32_t scopes = 0;
};

struct ApiOptions {
  // Empty: no authentication (the server must then bind to loopback only).
  // Otherwise every route but /healthz, /readyz, /metrics and /dashboard
  // needs a key with the
  // route's scope: 401 without a valid key, 403 if it lacks the scope.
  // Secrets are compared in constant time.
  std::vector<ApiKey> keys;
  // Most events in one POST /v1/events: 413 beyond.
  size_t max_batch_events = 10000;
  // Deepest JSON nesting accepted: 400 beyond (events are depth 2-3).
  int max_json_depth = 16;
  // Largest n for recommendations, similar and popular: 400 beyond.
  size_t max_results = 1000;
  // Longest user or item id, bytes: in a URL path or query (after
  // percent-decoding) and in posted events; 400 beyond. At most the
  // engine's own bound (RecommenderOptions::max_id_length, 256).
  size_t max_id_length = 256;
  // Client timestamps (README "Event timestamps"), checked against the
  // server's clock on arrival only, so an old log still replays. A ts more
  // than this ahead is a 400: a device clock that is off, or a made-up time
  // that would outweigh every real event in the time-decayed popularity.
  // Five minutes covers clocks synced by NTP with margin; clients without a
  // reliable clock should send no ts (the server stamps it). < 0: no bound.
  int64_t max_future_skew_seconds = 300;
  // A ts older than this is a 400; 0 (default): no bound, so back-fills of
  // any age are taken (they count little: popularity decays them). A ts
  // before 1970 is always refused.
  int64_t max_past_age_seconds = 0;
  // Reads with `min_seq` (read your own write on another replica of a
  // cluster) wait up to this long for the replica to apply that seq, then
  // answer 503 with Retry-After.
  int min_seq_wait_ms = 2000;
  // GET recommendations: concurrent requests answered from one scan
  // (http/query_batcher.h); threads = 0 answers each on its server thread.
  QueryBatcherOptions batching;
};

// One route the router answers: its method ("GET") and path, with "{}"
// for the id segment ("/v1/items/{}"). The OpenAPI test compares these
// with docs/openapi.json.
struct RouteDescription {
  std::string method;
  std::string path;
};
std::vector<RouteDescription> Routes();

// docs/openapi.json as built into the binary (GET /openapi.json).
std::string_view OpenApiJson();

class Api : public Handler {
 public:
  // `store` must outlive the Api.
  Api(storage::LiveStore* store, const ApiOptions& options);
  ~Api() override;

  void Handle(Request req, Responder respond) override;
  void OnRejected(unsigned status) override;
  // 401 or 403 before the body is read (see Handler::CheckHeader).
  std::optional<Response> CheckHeader(const RequestHeader& header) override;

  // Request counts, latency histograms and store gauges.
  const HttpMetrics& metrics() const { return metrics_; }

 private:
  struct Route;
  storage::LiveStore* store_;
  ApiOptions options_;
  HttpMetrics metrics_;
  std::unique_ptr<QueryBatcher> batcher_;
};

}  // namespace streamrec::http
