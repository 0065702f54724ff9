// Pieces of http::Api shared by its source files (api.cc routes and
// authenticates, api_read.cc and api_write.cc answer): not an interface.
#pragma once

#include <atomic>
#include <boost/beast/http/status.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "engine/core/status.h"
#include "http/api.h"
#include "http/handler.h"
#include "http/metrics.h"
#include "http/url.h"
#include "storage/live_store.h"

namespace streamrec::http::internal {

// Answers one request and records it (route, status, latency since the
// request reached Handle) in the metrics. Copies share one state, so that
// store callbacks can capture it; the first Send answers, any later one is
// dropped (Api::Handle's last-resort 500 relies on that). Send from any
// thread.
class Reply {
 public:
  Reply(HttpMetrics* metrics, RouteId route, unsigned version, bool keep_alive, Responder respond,
        std::chrono::steady_clock::time_point start);

  void Send(Response res) const;
  // `body` serialized, Content-Type application/json.
  void Json(boost::beast::http::status status, const boost::json::value& body) const;
  void Error(boost::beast::http::status status, std::string_view code,
             std::string_view message) const;
  // Mapped by HttpStatusFor; 429 adds Retry-After.
  void Error(const Status& s) const;
  // For results of the store's writes: FailedPrecondition there means the
  // store is closed, 503 (not the 409 HttpStatusFor gives).
  void StoreError(const Status& s) const;

  unsigned version() const { return state_->version; }
  bool keep_alive() const { return state_->keep_alive; }

 private:
  struct State {
    // Spelled out: make_shared of an aggregate needs C++20's parenthesised
    // aggregate init, which clang (14, the fuzz build's) lacks.
    State(HttpMetrics* metrics, RouteId route, unsigned version, bool keep_alive, Responder respond,
          std::chrono::steady_clock::time_point start)
        : metrics(metrics),
          route(route),
          version(version),
          keep_alive(keep_alive),
          respond(std::move(respond)),
          start(start) {}

    HttpMetrics* metrics;
    RouteId route;
    unsigned version;
    bool keep_alive;
    Responder respond;
    std::chrono::steady_clock::time_point start;
    std::atomic<bool> sent{false};
  };
  std::shared_ptr<State> state_;
};

// One routed, authenticated request, as a route handler sees it.
struct Call {
  storage::LiveStore* store;
  QueryBatcher* batcher;
  const ApiOptions* options;
  HttpMetrics* metrics;
  Request* req;
  std::string id;  // the decoded {user} or {item}; "" for routes without
  Query query;
  Reply reply;
};

// Answers `s` (400 for the InvalidArgument of a bad parameter) and returns
// false if it is an error; true, answering nothing, if it is OK.
inline bool Check(Call& c, const Status& s) {
  if (s.ok()) return true;
  c.reply.Error(s);
  return false;
}

// Reads: answered on the calling thread (api_read.cc), recommendations
// from the batcher's.
// The request's Content-Type ("" if none), and the 415 naming what `want`s.
std::string_view ContentType(const Call& c);
void UnsupportedMediaType(Call& c, std::string_view want);

void GetRecommendations(Call& c);
void PostSessionRecommendations(Call& c);
void GetRows(Call& c);
void GetSimilar(Call& c);
void GetPopular(Call& c);
void GetItem(Call& c);
void GetUserEvents(Call& c);
void GetStatus(Call& c);
void GetDrift(Call& c);
void GetHealthz(Call& c);
void GetReadyz(Call& c);
void GetMetrics(Call& c);
// http/dashboard.cc: the live dashboard page (reads /metrics).
void GetDashboard(Call& c);
// http/openapi.cc: docs/openapi.json.
void GetOpenApi(Call& c);

// Writes: answered from the store's callbacks (api_write.cc).
void PostEvents(Call& c);
void PutItem(Call& c);
void DeleteItem(Call& c);
void DeleteUser(Call& c);
void PostSnapshot(Call& c);
void PostRetrain(Call& c);

}  // namespace streamrec::http::internal
