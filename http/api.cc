#include "http/api.h"

#include <fmt/format.h>

#include <array>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstdio>
#include <exception>
#include <utility>

#include "engine/core/id_text.h"
#include "http/api_internal.h"
#include "http/api_json.h"
#include "http/auth.h"
#include "http/errors.h"
#include "http/url.h"

namespace streamrec::http {

namespace beast_http = boost::beast::http;

namespace internal {

Reply::Reply(HttpMetrics* metrics, RouteId route, unsigned version, bool keep_alive,
             Responder respond, std::chrono::steady_clock::time_point start)
    : state_(std::make_shared<State>(metrics, route, version, keep_alive, std::move(respond),
                                     start)) {}

void Reply::Send(Response res) const {
  if (state_->sent.exchange(true, std::memory_order_acq_rel)) return;
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - state_->start;
  state_->metrics->Record(state_->route, res.result_int(), elapsed.count());
  state_->respond(std::move(res));
}

void Reply::Json(beast_http::status status, const boost::json::value& body) const {
  Response res{status, version()};
  res.set(beast_http::field::content_type, "application/json");
  res.keep_alive(keep_alive());
  res.body() = SerializeJson(body);
  res.prepare_payload();
  Send(std::move(res));
}

void Reply::Error(beast_http::status status, std::string_view code,
                  std::string_view message) const {
  Send(ErrorResponse(status, code, message, version(), keep_alive()));
}

void Reply::Error(const Status& s) const {
  const beast_http::status status = HttpStatusFor(s.code());
  Response res;
  // A full capacity (507) is configuration the caller may know about: its
  // message names the [limits] key, nothing on disk.
  // Unavailable (a cluster electing its leader, a replica behind a
  // min_seq) says what passes and when to retry, nothing of the disk.
  if (status >= beast_http::status::internal_server_error &&
      s.code() != StatusCode::kCapacityExceeded && s.code() != StatusCode::kUnavailable) {
    // A server-side failure: its message names files under the data
    // directory and RocksDB internals, which are the operator's business,
    // not the caller's. The log gets it whole; the caller, what happened.
    std::fprintf(stderr, "streamrec http: %s\n", s.ToString().c_str());
    std::string_view what = "internal error (details in the server log)";
    if (status == beast_http::status::service_unavailable) {
      what =
          "the store cannot take writes now (read-only after a disk error, or closing); "
          "retry later (details in the server log)";
    } else if (s.code() == StatusCode::kIOError) {
      what =
          "the database could not complete the request; retry later (details in the "
          "server log)";
    }
    res = ErrorResponse(status, ErrorCodeName(s.code()), what, version(), keep_alive());
  } else {
    res = ErrorResponse(s, version(), keep_alive());
  }
  // 429 (too much pending) and 503 (the store is read-only after a disk
  // error, writes resume by themselves; a cluster without a leader; a
  // replica behind) are worth retrying.
  if (status == beast_http::status::too_many_requests ||
      status == beast_http::status::service_unavailable) {
    res.set(beast_http::field::retry_after, "1");
  }
  Send(std::move(res));
}

void Reply::StoreError(const Status& s) const {
  if (s.code() == StatusCode::kFailedPrecondition) {
    Response res = ErrorResponse(beast_http::status::service_unavailable, "unavailable",
                                 s.message(), version(), keep_alive());
    res.set(beast_http::field::retry_after, "1");
    Send(std::move(res));
  } else {
    Error(s);
  }
}

}  // namespace internal

namespace {

// A route: its method, its path with "{}" for the one id segment, the
// scope a key needs (0: open to all) and what answers it.
struct Pattern {
  beast_http::verb method;
  std::string_view path;
  RouteId route;
  uint32_t scope;
  void (*handler)(internal::Call&);
};

using V = beast_http::verb;
using R = RouteId;

// When two patterns match a path (GET /v1/items/popular is also
// /v1/items/{item}), the one listed first wins for its method; other
// methods fall through to the pattern with the id, so PUT
// /v1/items/popular sets the item named "popular" (GET reaches it as
// /v1/items/%70opular: segments are matched before decoding).
constexpr std::array<Pattern, 20> kPatterns = {{
    {V::post, "/v1/events", R::kEvents, kScopeWrite, internal::PostEvents},
    {V::get, "/v1/users/{}/recommendations", R::kRecommendations, kScopeRead,
     internal::GetRecommendations},
    {V::get, "/v1/users/{}/rows", R::kRows, kScopeRead, internal::GetRows},
    {V::get, "/v1/users/{}/events", R::kUserEvents, kScopeRead, internal::GetUserEvents},
    {V::post, "/v1/recommendations", R::kSessionRecommendations, kScopeRead,
     internal::PostSessionRecommendations},
    {V::delete_, "/v1/users/{}", R::kDeleteUser, kScopeWrite, internal::DeleteUser},
    {V::get, "/v1/items/popular", R::kPopular, kScopeRead, internal::GetPopular},
    {V::get, "/v1/items/{}/similar", R::kSimilar, kScopeRead, internal::GetSimilar},
    {V::get, "/v1/items/{}", R::kGetItem, kScopeRead, internal::GetItem},
    {V::put, "/v1/items/{}", R::kPutItem, kScopeWrite, internal::PutItem},
    {V::delete_, "/v1/items/{}", R::kDeleteItem, kScopeWrite, internal::DeleteItem},
    {V::post, "/v1/admin/snapshot", R::kSnapshot, kScopeAdmin, internal::PostSnapshot},
    {V::post, "/v1/admin/retrain", R::kRetrain, kScopeAdmin, internal::PostRetrain},
    {V::get, "/v1/admin/status", R::kStatus, kScopeAdmin, internal::GetStatus},
    {V::get, "/v1/admin/drift", R::kDrift, kScopeAdmin, internal::GetDrift},
    {V::get, "/healthz", R::kHealthz, 0, internal::GetHealthz},
    {V::get, "/readyz", R::kReadyz, 0, internal::GetReadyz},
    {V::get, "/metrics", R::kMetrics, 0, internal::GetMetrics},
    {V::get, "/dashboard", R::kDashboard, 0, internal::GetDashboard},
    {V::get, "/openapi.json", R::kOpenApi, 0, internal::GetOpenApi},
}};

// Whether the raw path `segments` match `pattern`; *id gets the raw id
// segment (which must not be empty).
bool Matches(std::string_view pattern, const std::vector<std::string_view>& segments,
             std::string_view* id) {
  std::string_view rest = pattern.substr(1);  // past the leading '/'
  bool more = true;
  for (const std::string_view got : segments) {
    if (!more) return false;
    const size_t slash = rest.find('/');
    const std::string_view want = rest.substr(0, slash);
    more = slash != std::string_view::npos;
    rest = more ? rest.substr(slash + 1) : std::string_view{};
    if (want == "{}") {
      if (got.empty()) return false;
      *id = got;
    } else if (want != got) {
      return false;
    }
  }
  return !more;
}

// The outcome of routing: the pattern for the method, or what the path
// allows instead.
struct RouteMatch {
  const Pattern* pattern = nullptr;
  std::string_view raw_id;
  bool path_known = false;
  std::string allow;  // "GET, PUT, DELETE" when the method is not allowed
};

RouteMatch MatchRoute(beast_http::verb method, const std::vector<std::string_view>& segments) {
  RouteMatch m;
  for (const Pattern& p : kPatterns) {
    std::string_view id;
    if (!Matches(p.path, segments, &id)) continue;
    m.path_known = true;
    if (p.method == method) {
      if (m.pattern == nullptr) {
        m.pattern = &p;
        m.raw_id = id;
      }
    } else if (m.allow.find(beast_http::to_string(p.method)) == std::string::npos) {
      m.allow += fmt::format("{}{}", m.allow.empty() ? "" : ", ",
                             std::string_view(beast_http::to_string(p.method)));
    }
  }
  return m;
}

// 404 for an unknown path, 405 with Allow for a known one.
void AnswerUnrouted(const RouteMatch& m, const Request& req, std::string_view path,
                    const internal::Reply& reply) {
  const std::string_view method = req.method_string();
  path = path.substr(0, 200);
  if (!m.path_known) {
    reply.Error(beast_http::status::not_found, "not_found",
                fmt::format("no route for {} {}", method, path));
    return;
  }
  Response res = ErrorResponse(beast_http::status::method_not_allowed, "method_not_allowed",
                               fmt::format("{} {}: allowed: {}", method, path, m.allow),
                               reply.version(), reply.keep_alive());
  res.set(beast_http::field::allow, m.allow);
  reply.Send(std::move(res));
}

std::string_view ScopeName(uint32_t scope) {
  switch (scope) {
    case kScopeRead:
      return "read";
    case kScopeWrite:
      return "write";
    case kScopeAdmin:
      return "admin";
  }
  return "unknown";
}

// The 401 or 403 for a request that may not use a route of `scope`;
// nullopt if it may.
std::optional<Response> AuthFailure(const std::vector<ApiKey>& keys, const RequestHeader& req,
                                    uint32_t scope, unsigned version, bool keep_alive) {
  if (scope == 0) return std::nullopt;
  switch (CheckApiKey(keys, PresentedSecret(req), scope)) {
    case AuthResult::kOk:
      return std::nullopt;
    case AuthResult::kUnauthenticated: {
      Response res = ErrorResponse(
          beast_http::status::unauthorized, "unauthenticated",
          "a valid API key is required: 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
          version, keep_alive);
      res.set(beast_http::field::www_authenticate, "Bearer realm=\"streamrec\"");
      return res;
    }
    case AuthResult::kForbidden:
      break;
  }
  return ErrorResponse(beast_http::status::forbidden, "permission_denied",
                       fmt::format("this API key lacks the '{}' scope", ScopeName(scope)), version,
                       keep_alive);
}

// True if the request may use a route of `scope`; otherwise answers 401 or
// 403 and returns false.
bool Authorize(const std::vector<ApiKey>& keys, const Request& req, uint32_t scope,
               const internal::Reply& reply) {
  std::optional<Response> failure =
      AuthFailure(keys, req, scope, reply.version(), reply.keep_alive());
  if (!failure) return true;
  reply.Send(std::move(*failure));
  return false;
}

// Decodes the id and the query into `call`; answers 400 and returns false
// if either is malformed.
bool DecodeRequest(std::string_view raw_id, std::string_view raw_query, size_t max_id_length,
                   internal::Call* call) {
  if (!raw_id.empty()) {
    if (!PercentDecode(raw_id, false, &call->id)) {
      call->reply.Error(beast_http::status::bad_request, "invalid_argument",
                        "bad percent-encoding in the path");
      return false;
    }
    if (call->id.size() > max_id_length) {
      call->reply.Error(beast_http::status::bad_request, "invalid_argument",
                        fmt::format("id in the path is longer than {} bytes", max_id_length));
      return false;
    }
    // Refused here, not only by the engine when stored: read routes echo
    // the id in their answers, which must be valid JSON.
    if (Status st = engine::CheckIdText("id in the path", call->id); !st.ok()) {
      call->reply.Error(st);
      return false;
    }
  }
  StatusOr<Query> query = Query::Parse(raw_query);
  if (!query.ok()) {
    call->reply.Error(query.status());
    return false;
  }
  for (const auto& [name, value] : query->params()) {
    Status st = engine::CheckIdText("a query parameter name", name);
    if (st.ok()) st = engine::CheckIdText(fmt::format("query parameter '{}'", name), value);
    if (!st.ok()) {
      call->reply.Error(st);
      return false;
    }
  }
  call->query = std::move(*query);
  return true;
}

// The `min_seq` of a read, removed from the call's query: nullopt if
// absent; answers 400 and returns false if it is malformed, repeated or
// given to a route that is not a read.
bool TakeMinSeq(const Pattern& p, internal::Call* call, std::optional<uint64_t>* min_seq) {
  std::vector<std::string> values = call->query.Remove("min_seq");
  if (values.empty()) return true;
  auto refuse = [&](std::string_view why) {
    call->reply.Error(beast_http::status::bad_request, "invalid_argument",
                      fmt::format("query parameter 'min_seq': {}", why));
    return false;
  };
  if (p.scope != kScopeRead) return refuse("only the read routes take it");
  if (values.size() > 1) return refuse("given more than once");
  const std::string& v = values.front();
  uint64_t seq = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seq);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size() || seq > (uint64_t{1} << 62)) {
    return refuse(
        fmt::format("expected a seq (a non-negative integer), got '{}'", v.substr(0, 40)));
  }
  *min_seq = seq;
  return true;
}

}  // namespace

std::vector<RouteDescription> Routes() {
  std::vector<RouteDescription> out;
  for (const Pattern& p : kPatterns) {
    out.push_back({std::string(beast_http::to_string(p.method)), std::string(p.path)});
  }
  return out;
}

Api::Api(storage::LiveStore* store, const ApiOptions& options)
    : store_(store),
      options_(options),
      batcher_(std::make_unique<QueryBatcher>(store, options.batching)) {}

Api::~Api() = default;

void Api::OnRejected(unsigned status) { metrics_.Record(RouteId::kTransport, status, 0.0); }

std::optional<Response> Api::CheckHeader(const RequestHeader& header) {
  if (options_.keys.empty()) return std::nullopt;
  // A target that does not parse and an unknown route are answered by
  // Handle once the body is in (within body_limit and the server's budget
  // for bodies in flight); here only a known route's missing or wrong key.
  StatusOr<Target> target = Target::Parse(header.target());
  if (!target.ok()) return std::nullopt;
  const RouteMatch m = MatchRoute(header.method(), target->segments);
  if (m.pattern == nullptr) return std::nullopt;
  std::optional<Response> failure =
      AuthFailure(options_.keys, header, m.pattern->scope, header.version(), false);
  if (failure) metrics_.Record(m.pattern->route, failure->result_int(), 0.0);
  return failure;
}

void Api::Handle(Request req, Responder respond) {
  const auto start = std::chrono::steady_clock::now();
  StatusOr<Target> parsed = Target::Parse(req.target());
  if (!parsed.ok()) {
    internal::Reply bad(&metrics_, RouteId::kNotFound, req.version(), req.keep_alive(),
                        std::move(respond), start);
    bad.Error(parsed.status());
    return;
  }
  const Target& target = *parsed;
  const RouteMatch m = MatchRoute(req.method(), target.segments);
  internal::Reply reply(&metrics_, m.pattern ? m.pattern->route : RouteId::kNotFound, req.version(),
                        req.keep_alive(), std::move(respond), start);
  try {
    if (m.pattern == nullptr) {
      AnswerUnrouted(m, req, target.path, reply);
      return;
    }
    if (!Authorize(options_.keys, req, m.pattern->scope, reply)) return;
    internal::Call call{store_, batcher_.get(), &options_, &metrics_, &req, {}, {}, reply};
    if (!DecodeRequest(m.raw_id, target.query, options_.max_id_length, &call)) return;
    std::optional<uint64_t> min_seq;
    if (!TakeMinSeq(*m.pattern, &call, &min_seq)) return;
    if (!min_seq) {
      m.pattern->handler(call);
      return;
    }
    // Read-your-writes across replicas: answered once this replica has
    // applied min_seq (at once if it has), or 503 after min_seq_wait_ms.
    // The wait's callback may run on the store's model thread: the read
    // routes answer without blocking (recommendations through the
    // batcher).
    struct Waiting {
      Request req;
      internal::Call call;
    };
    auto w = std::make_shared<Waiting>(Waiting{std::move(req), std::move(call)});
    w->call.req = &w->req;
    store_->WaitForSeqAsync(*min_seq, std::chrono::milliseconds(options_.min_seq_wait_ms),
                            [w, handler = m.pattern->handler](Status st) {
                              if (!st.ok()) return w->call.reply.Error(st);
                              try {
                                handler(w->call);
                              } catch (const std::exception& e) {
                                w->call.reply.Error(beast_http::status::internal_server_error,
                                                    "internal", e.what());
                              }
                            });
  } catch (const std::exception& e) {
    // Exceptions stop here (allocation failures, a bug in a handler). If the
    // handler had answered already, Reply drops this second answer.
    reply.Error(beast_http::status::internal_server_error, "internal", e.what());
  } catch (...) {
    reply.Error(beast_http::status::internal_server_error, "internal", "unknown exception");
  }
}

}  // namespace streamrec::http
