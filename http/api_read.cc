// The read routes: each runs its query inside store->Read() on the calling
// server thread (wait-free), copies the result out, and serializes after;
// recommendations go through the QueryBatcher, which does the same for a
// batch on its own thread, and explained ones run on the model thread
// (LiveStore::ReadOnWriterAsync).

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <optional>

#include "engine/live/recommender.h"
#include "http/api_internal.h"
#include "http/api_json.h"
#include "http/errors.h"
#include "http/event_json.h"

namespace streamrec::http::internal {
namespace {

namespace json = boost::json;
using boost::beast::http::status;

template <typename T>
bool Take(Call& c, StatusOr<T> v, T* out) {
  if (!Check(c, v.status())) return false;
  *out = std::move(*v);
  return true;
}

// Rows on one page, at most, and the user's newest events read for
// "Because you watched".
constexpr size_t kMaxRows = 20;
constexpr size_t kRecentEventsForRows = 50;
// Most events GET /v1/users/{user}/events answers.
constexpr size_t kMaxUserEvents = 1000;

// Events in an anonymous session's history, at most.
constexpr size_t kMaxSessionHistory = 1000;

// History items named per recommended item with explain=true, at most.
constexpr size_t kMaxExplainItems = 50;

// n, at most max_results, default 10 (or max_results if smaller).
bool TakeN(Call& c, size_t* n) {
  const size_t max = c.options->max_results;
  return Take(c, c.query.Size("n", 1, max, std::min<size_t>(10, max)), n);
}

// A number in [lo, hi]: InvalidArgument naming `what` otherwise.
StatusOr<float> ParseFactor(std::string_view text, float lo, float hi, std::string_view what) {
  float v = 0.0f;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v < lo ||
      v > hi) {
    return Status::InvalidArgument(
        fmt::format("{} must be a number from {} to {}, got '{}'", what, lo, hi, text));
  }
  return v;
}

// The filters and rules every list route takes (engine::RankRules):
// categories=a,b, exclude_categories=c, boost=category:factor (repeatable),
// max_per_category=N, diversity=0..1.
bool TakeRules(Call& c, std::vector<std::string>* categories,
               std::vector<std::string>* exclude_categories, engine::RankRules* rules) {
  if (!Take(c, c.query.IdList("categories", engine::Catalog::kMaxCategoryLength), categories) ||
      !Take(c, c.query.IdList("exclude_categories", engine::Catalog::kMaxCategoryLength),
            exclude_categories) ||
      !Take(c, c.query.Size("max_per_category", 0, c.options->max_results, 0),
            &rules->max_per_category)) {
    return false;
  }
  if (StatusOr<std::optional<std::string>> d = c.query.Single("diversity"); !Check(c, d.status())) {
    return false;
  } else if (*d) {
    StatusOr<float> v = ParseFactor(**d, 0.0f, 1.0f, "diversity");
    if (!Check(c, v.status())) return false;
    rules->diversity = *v;
  }
  for (const std::string& b : c.query.All("boost")) {
    const size_t colon = b.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      Check(c, Status::InvalidArgument(
                   fmt::format("boost must be category:factor (e.g. books:1.5), got '{}'", b)));
      return false;
    }
    StatusOr<float> f = ParseFactor(std::string_view(b).substr(colon + 1), 0.01f, 100.0f,
                                    fmt::format("boost factor of '{}'", b.substr(0, colon)));
    if (!Check(c, f.status())) return false;
    rules->boosts.emplace_back(b.substr(0, colon), *f);
  }
  return true;
}

}  // namespace

void GetRecommendations(Call& c) {
  engine::RecommendRequest rr;
  bool explain = false;
  size_t explain_n = 0;
  if (!Check(c, c.query.OnlyAllowed({"n", "exclude", "category", "include_seen", "explain",
                                      "explain_n", "categories", "exclude_categories", "boost",
                                      "max_per_category", "diversity"})) ||
      !TakeN(c, &rr.n) || !TakeRules(c, &rr.categories, &rr.exclude_categories, &rr.rules) ||
      !Take(c, c.query.IdList("exclude", c.options->max_id_length), &rr.exclude) ||
      !Take(c, c.query.Id("category", c.options->max_id_length), &rr.category) ||
      !Take(c, c.query.Bool("include_seen", false), &rr.include_seen) ||
      !Take(c, c.query.Bool("explain", false), &explain) ||
      !Take(c, c.query.Size("explain_n", 1, kMaxExplainItems, 3), &explain_n)) {
    return;
  }
  if (explain) {
    // Not batched: the explanation is read from the same state as the
    // answer, so its terms add up to the scores returned. On the model
    // thread, between two writes: an implicit model's explanation reads
    // the interaction history, which the writer changes for both copies
    // (engine::Recommender::Explain).
    c.store->ReadOnWriterAsync(
        [reply = c.reply, user = c.id, rr = std::move(rr), explain_n](const storage::Replica& r) {
          const engine::Recommendations recs = r.rec->RecommendForUser(user, rr);
          const engine::Explanation why = r.rec->Explain(user, recs, explain_n);
          reply.Json(status::ok,
                     json::object{{"user", user},
                                  {"items", ExplainedJson(why)},
                                  {"source", engine::SourceName(recs.source)},
                                  {"explanation", engine::ExplanationMethodName(why.method)},
                                  {"seq", r.applied_seq}});
        },
        [reply = c.reply](const Status& st) { reply.StoreError(st); });
    return;
  }
  c.batcher->Recommend(c.id, std::move(rr),
                       [reply = c.reply, user = c.id](engine::Recommendations recs, uint64_t seq) {
                         reply.Json(status::ok, json::object{{"user", user},
                                                             {"items", ScoresJson(recs.items)},
                                                             {"source", engine::SourceName(recs.source)},
                                                             {"seq", seq}});
                       });
}

void GetRows(Call& c) {
  engine::RowsRequest rr;
  if (!Check(c, c.query.OnlyAllowed({"rows", "n", "because", "exclude", "categories",
                                      "exclude_categories", "boost", "max_per_category",
                                      "diversity"})) ||
      !Take(c, c.query.Size("rows", 1, kMaxRows, 6), &rr.rows) || !TakeN(c, &rr.n) ||
      !Take(c, c.query.Size("because", 0, kMaxRows, 2), &rr.because) ||
      !Take(c, c.query.IdList("exclude", c.options->max_id_length), &rr.exclude) ||
      !TakeRules(c, &rr.categories, &rr.exclude_categories, &rr.rules)) {
    return;
  }
  // "Because you watched": the user's newest distinct items, from the log.
  StatusOr<std::vector<storage::StoredEvent>> recent =
      c.store->RecentEvents(c.id, kRecentEventsForRows);
  if (!recent.ok()) {
    c.reply.StoreError(recent.status());
    return;
  }
  for (const storage::StoredEvent& e : *recent) {
    if (std::find(rr.recent.begin(), rr.recent.end(), e.item) == rr.recent.end()) {
      rr.recent.push_back(e.item);
    }
  }
  std::vector<engine::Row> rows;
  uint64_t seq = 0;
  c.store->Read([&](const storage::Replica& r) {
    rows = r.rec->Rows(c.id, rr);
    seq = r.applied_seq;
  });
  json::array out;
  for (engine::Row& row : rows) {
    json::object o{{"title", row.title},
                   {"kind", engine::RowKindName(row.kind)},
                   {"items", ScoresJson(row.items)}};
    if (row.kind == engine::RowKind::kBecause) o["item"] = row.key;
    if (row.kind == engine::RowKind::kCategory) o["category"] = row.key;
    out.push_back(std::move(o));
  }
  c.reply.Json(status::ok, json::object{{"user", c.id}, {"rows", std::move(out)}, {"seq", seq}});
}

void PostSessionRecommendations(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  if (EventFormatFor(ContentType(c)) != EventFormat::kJson) {
    UnsupportedMediaType(c, "application/json");
    return;
  }
  StatusOr<SessionRequest> parsed = ParseSessionRequest(
      c.req->body(), c.options->max_json_depth, c.options->max_results, kMaxSessionHistory);
  if (!Check(c, parsed.status())) return;
  SessionRequest& s = *parsed;
  StatusOr<engine::Recommendations> recs = Status::OK();
  engine::SessionInfo info;
  uint64_t seq = 0;
  c.store->Read([&](const storage::Replica& r) {
    for (size_t n = 0; n < s.history.size(); ++n) {
      const std::optional<engine::EventTypeId> t = r.rec->types().Find(s.history_types[n]);
      if (!t) {
        recs = Status::InvalidArgument(
            fmt::format("history[{}]: unknown event type '{}'", n, s.history_types[n]));
        return;
      }
      s.history[n].type = *t;
    }
    recs = r.rec->RecommendForHistory(s.history, s.request, &info);
    seq = r.applied_seq;
  });
  if (!Check(c, recs.status())) return;
  json::array unknown;
  for (const std::string& item : info.unknown) unknown.push_back(json::string(item));
  c.reply.Json(status::ok, json::object{{"items", ScoresJson(recs->items)},
                                        {"source", engine::SourceName(recs->source)},
                                        {"history_used", info.used},
                                        {"unknown_items", std::move(unknown)},
                                        {"seq", seq}});
}

void GetSimilar(Call& c) {
  engine::SimilarRequest sr;
  if (!Check(c, c.query.OnlyAllowed({"n", "user", "exclude", "category", "categories",
                                      "exclude_categories", "boost", "max_per_category",
                                      "diversity"})) ||
      !TakeN(c, &sr.n) || !TakeRules(c, &sr.categories, &sr.exclude_categories, &sr.rules) ||
      !Take(c, c.query.Id("user", c.options->max_id_length), &sr.user) ||
      !Take(c, c.query.IdList("exclude", c.options->max_id_length), &sr.exclude) ||
      !Take(c, c.query.Id("category", c.options->max_id_length), &sr.category)) {
    return;
  }
  std::optional<StatusOr<std::vector<engine::NamedScore>>> similar;
  uint64_t seq = 0;
  c.store->Read([&](const storage::Replica& r) {
    similar.emplace(r.rec->SimilarItems(c.id, sr));
    seq = r.applied_seq;
  });
  if (!Check(c, similar->status())) return;
  c.reply.Json(status::ok,
               json::object{{"item", c.id}, {"items", ScoresJson(**similar)}, {"seq", seq}});
}

void GetPopular(Call& c) {
  size_t n = 0;
  std::string category;
  if (!Check(c, c.query.OnlyAllowed({"n", "category"})) || !TakeN(c, &n) ||
      !Take(c, c.query.Id("category", c.options->max_id_length), &category)) {
    return;
  }
  std::vector<engine::NamedScore> items;
  uint64_t seq = 0;
  c.store->Read([&](const storage::Replica& r) {
    items = r.rec->Popular(n, category);
    seq = r.applied_seq;
  });
  c.reply.Json(status::ok, json::object{{"items", ScoresJson(items)}, {"seq", seq}});
}

void GetItem(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  std::optional<engine::ItemMeta> meta;
  bool known = false;
  double popularity = 0.0;
  uint64_t seq = 0;
  c.store->Read([&](const storage::Replica& r) {
    if (const engine::ItemMeta* m = r.rec->catalog().Find(c.id)) meta = *m;
    if (const std::optional<uint32_t> i = r.rec->items().Find(c.id)) {
      known = true;
      if (*i < r.rec->popularity().num_items()) popularity = r.rec->popularity().Score(*i);
    }
    seq = r.applied_seq;
  });
  if (!meta && !known) {
    c.reply.Error(status::not_found, "not_found", "unknown item: no metadata and no events");
    return;
  }
  json::object out = ItemMetaJson(c.id, meta.value_or(engine::ItemMeta{}));
  out["has_metadata"] = meta.has_value();
  out["known"] = known;
  out["popularity"] = popularity;
  out["seq"] = seq;
  c.reply.Json(status::ok, out);
}

// The user's newest events, newest first, from the log (what the rows'
// "because you watched" and the dashboard's explorer show).
void GetUserEvents(Call& c) {
  size_t limit = 0;
  if (!Check(c, c.query.OnlyAllowed({"limit"})) ||
      !Take(c, c.query.Size("limit", 1, kMaxUserEvents, 50), &limit)) {
    return;
  }
  StatusOr<std::vector<storage::StoredEvent>> recent = c.store->RecentEvents(c.id, limit);
  if (!recent.ok()) {
    c.reply.StoreError(recent.status());
    return;
  }
  bool known = false;
  uint64_t seq = 0;
  c.store->Read([&](const storage::Replica& r) {
    known = r.rec->users().Find(c.id).has_value();
    seq = r.applied_seq;
  });
  json::array events;
  for (const storage::StoredEvent& e : *recent) events.push_back(StoredEventJson(e));
  c.reply.Json(status::ok, json::object{{"user", c.id},
                                        {"known", known},
                                        {"events", std::move(events)},
                                        {"seq", seq}});
}

void GetStatus(Call& c) {
  bool want_checksum = false;
  if (!Check(c, c.query.OnlyAllowed({"checksum"})) ||
      !Take(c, c.query.Bool("checksum", false), &want_checksum)) {
    return;
  }
  json::object out = LiveStatusJson(c.store->status());
  if (want_checksum) {
    // Read together: replicas at the same seqs must show the same value.
    uint64_t checksum = 0, applied = 0, stream_seq = 0;
    c.store->Read([&](const storage::Replica& r) {
      checksum = storage::ModelChecksum(*r.rec);
      applied = r.applied_seq;
      stream_seq = r.stream_seq;
    });
    out["model_checksum"] = json::object{{"value", fmt::format("{:016x}", checksum)},
                                         {"applied_seq", applied},
                                         {"applied_stream_seq", stream_seq}};
  }
  c.reply.Json(status::ok, out);
}

// Drift in full: the status' drift plus each dimension's largest buckets
// on both sides and the PSI history (the dashboard's drift charts).
void GetDrift(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  c.reply.Json(status::ok, DriftDetailJson(c.store->status().drift));
}

// Liveness: 200 while the process serves (reads work even while the store
// is read-only, which the body says). Readiness is /readyz.
void GetHealthz(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  const storage::LiveStatus s = c.store->status();
  if (s.closed) {
    c.reply.Error(status::service_unavailable, "unavailable", "the store is closed");
    return;
  }
  c.reply.Json(status::ok, json::object{{"status", "ok"}, {"writable", !s.store.read_only}});
}

// Readiness for writes: 503 with Retry-After while the store is read-only
// (a full disk), closed, or (cluster) behind a trim of the stream, naming
// why.
void GetReadyz(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  const storage::LiveStatus s = c.store->status();
  if (s.closed || s.store.read_only || s.cluster.behind_trim) {
    const char* code = s.closed ? "unavailable" : s.store.read_only ? "read_only" : "behind_trim";
    const std::string why =
        s.closed            ? "the store is closed"
        : s.store.read_only ? "the store is read-only: " + s.store.reason
                            : "the cluster's stream was trimmed past this replica's position: "
                              "restart it to load the newest image";
    Response res = ErrorResponse(status::service_unavailable, code, why, c.reply.version(),
                                 c.reply.keep_alive());
    res.set(boost::beast::http::field::retry_after, "1");
    c.reply.Send(std::move(res));
    return;
  }
  c.reply.Json(status::ok, json::object{{"status", "ready"}});
}

void GetMetrics(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  Response res{status::ok, c.reply.version()};
  res.set(boost::beast::http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.keep_alive(c.reply.keep_alive());
  res.body() = c.metrics->Render(c.store->status());
  res.prepare_payload();
  c.reply.Send(std::move(res));
}

}  // namespace streamrec::http::internal
