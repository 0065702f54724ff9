#include "http/api_json.h"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <string>

#include "engine/live/drift.h"
#include "http/event_json.h"

namespace streamrec::http {
namespace {

namespace json = boost::json;

// JSON has no NaN or infinity; a score that is not finite says nothing.
double Finite(double x) { return std::isfinite(x) ? x : 0.0; }

// The double nearest the shortest decimal that round-trips `f` as a float:
// 4.12f widens to 4.119999885559082, which this makes 4.12 again.
double ShortestFloat(float f) {
  if (!std::isfinite(f)) return 0.0;
  return std::strtod(fmt::format("{}", f).c_str(), nullptr);
}

// A divergence that is not finite (smoothing 0 and an empty bucket) is
// "unbounded", not 0: null.
json::value FiniteOrNull(double x) {
  if (std::isfinite(x)) return x;
  return nullptr;
}

// {"enabled": false} when drift is off; otherwise the reference's state and
// per dimension its PSI, KL and bucket shares.
json::object DriftJson(const storage::LiveDriftStatus& d) {
  if (!d.enabled) return json::object{{"enabled", false}};
  json::object dimensions;
  for (const engine::DimensionDrift& x : d.report.dimensions) {
    dimensions[engine::DriftDimensionName(x.dimension)] =
        json::object{{"psi", FiniteOrNull(x.psi)},
                     {"kl", FiniteOrNull(x.kl)},
                     {"window_events", x.window_events},
                     {"other_reference", Finite(x.other_reference)},
                     {"other_window", Finite(x.other_window)},
                     {"top_bucket", x.top_bucket},
                     {"top_reference", Finite(x.top_reference)},
                     {"top_window", Finite(x.top_window)},
                     {"noise_floor", FiniteOrNull(x.noise_floor)},
                     {"enough_data", x.enough_data}};
  }
  json::object out{{"enabled", true},
                   {"reference_events", d.reference_events},
                   {"reference_target", d.reference_target},
                   {"frozen", d.frozen},
                   {"source", storage::DriftReferenceSourceName(d.source)},
                   {"reference_through_seq", d.reference_through_seq},
                   {"window", d.window},
                   {"window_events", d.report.window_events},
                   {"observed", d.report.observed},
                   {"report_age_seconds", Finite(d.report_age_seconds)},
                   {"error", d.error}};
  out["dimensions"] = std::move(dimensions);
  return out;
}

json::object RetrainJson(const storage::RetrainStatus& t) {
  return json::object{{"state", storage::RetrainStateName(t.state)},
                      {"runs", t.runs},
                      {"trained_through_seq", t.trained_through_seq},
                      {"examples", t.examples},
                      {"seconds", Finite(t.seconds)},
                      {"train_rmse", Finite(t.train_rmse)},
                      {"algorithm", t.algorithm},
                      {"caught_up_events", t.caught_up_events},
                      {"error", t.error},
                      {"restarts", t.restarts},
                      {"started_ms", t.started_ms},
                      {"finished_ms", t.finished_ms}};
}

void Write(const json::value& v, std::string* out) {
  switch (v.kind()) {
    case json::kind::null:
      *out += "null";
      return;
    case json::kind::bool_:
      *out += v.get_bool() ? "true" : "false";
      return;
    case json::kind::int64:
      fmt::format_to(std::back_inserter(*out), "{}", v.get_int64());
      return;
    case json::kind::uint64:
      fmt::format_to(std::back_inserter(*out), "{}", v.get_uint64());
      return;
    case json::kind::double_:
      fmt::format_to(std::back_inserter(*out), "{}", Finite(v.get_double()));
      return;
    case json::kind::string:
      *out += json::serialize(v.get_string());
      return;
    case json::kind::array: {
      *out += '[';
      bool first = true;
      for (const json::value& x : v.get_array()) {
        if (!first) *out += ',';
        first = false;
        Write(x, out);
      }
      *out += ']';
      return;
    }
    case json::kind::object: {
      *out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) *out += ',';
        first = false;
        *out += json::serialize(json::string_view(kv.key()));
        *out += ':';
        Write(kv.value(), out);
      }
      *out += '}';
      return;
    }
  }
}

}  // namespace

std::string SerializeJson(const json::value& v) {
  std::string out;
  Write(v, &out);
  return out;
}

json::array ScoresJson(const std::vector<engine::NamedScore>& items) {
  json::array out;
  out.reserve(items.size());
  for (const engine::NamedScore& s : items) {
    out.push_back(json::object{{"item", s.item}, {"score", ShortestFloat(s.score)}});
  }
  return out;
}

json::array ExplainedJson(const engine::Explanation& why) {
  json::array out;
  out.reserve(why.items.size());
  for (const engine::ItemExplanation& e : why.items) {
    json::array because;
    because.reserve(e.because.size());
    for (const engine::Contribution& c : e.because) {
      because.push_back(json::object{
          {"item", c.item}, {"value", ShortestFloat(c.value)}, {"share", ShortestFloat(c.share)}});
    }
    json::object o{
        {"item", e.item}, {"score", ShortestFloat(e.score)}, {"because", std::move(because)}};
    if (why.method == engine::ExplanationMethod::kExact) {
      o["unexplained"] = ShortestFloat(e.unexplained);
    }
    out.push_back(std::move(o));
  }
  return out;
}

namespace {

StatusOr<std::string> StringField(const json::value& v, std::string_view what) {
  const json::string* s = v.if_string();
  if (s == nullptr) {
    return Status::InvalidArgument(
        fmt::format("{} must be a string, got {}", what, JsonKindName(v)));
  }
  return std::string(s->data(), s->size());
}

}  // namespace

StatusOr<SessionRequest> ParseSessionRequest(std::string_view body, int max_json_depth,
                                             size_t max_results, size_t max_history) {
  StatusOr<json::value> v = ParseJson(body, max_json_depth);
  if (!v.ok()) return v.status();
  const json::object* o = v->if_object();
  if (o == nullptr) {
    return Status::InvalidArgument(fmt::format("expected a JSON object, got {}", JsonKindName(*v)));
  }
  SessionRequest out;
  bool has_history = false;
  for (const auto& kv : *o) {
    const std::string_view key = kv.key();
    const json::value& val = kv.value();
    if (key == "history") {
      const json::array* a = val.if_array();
      if (a == nullptr) {
        return Status::InvalidArgument(
            fmt::format("field 'history' must be an array of events, got {}", JsonKindName(val)));
      }
      if (a->size() > max_history) {
        return Status::InvalidArgument(fmt::format(
            "field 'history' has {} events, more than the {} allowed", a->size(), max_history));
      }
      has_history = true;
      for (size_t n = 0; n < a->size(); ++n) {
        const json::object* e = (*a)[n].if_object();
        if (e == nullptr) {
          return Status::InvalidArgument(
              fmt::format("history[{}] must be an object, got {}", n, JsonKindName((*a)[n])));
        }
        engine::HistoryEvent h;
        std::string type;
        bool has_item = false, has_type = false;
        for (const auto& f : *e) {
          if (f.key() == "item") {
            StatusOr<std::string> s = StringField(f.value(), fmt::format("history[{}].item", n));
            if (!s.ok()) return s.status();
            h.item = std::move(*s);
            has_item = true;
          } else if (f.key() == "type") {
            StatusOr<std::string> s = StringField(f.value(), fmt::format("history[{}].type", n));
            if (!s.ok()) return s.status();
            type = std::move(*s);
            has_type = true;
          } else if (f.key() == "value") {
            if (!f.value().is_number()) {
              return Status::InvalidArgument(fmt::format(
                  "history[{}].value must be a number, got {}", n, JsonKindName(f.value())));
            }
            h.value = static_cast<float>(f.value().to_number<double>());
          } else {
            return Status::InvalidArgument(fmt::format(
                "history[{}]: unknown field '{}' (item, type, value)", n, std::string(f.key())));
          }
        }
        if (!has_item || !has_type) {
          return Status::InvalidArgument(fmt::format("history[{}] needs 'item' and 'type'", n));
        }
        out.history.push_back(std::move(h));
        out.history_types.push_back(std::move(type));
      }
    } else if (key == "n") {
      const std::optional<int64_t> n =
          val.is_int64() ? std::optional(val.as_int64())
          : val.is_uint64()
              ? std::optional<int64_t>(
                    val.as_uint64() > INT64_MAX ? INT64_MAX : static_cast<int64_t>(val.as_uint64()))
              : std::nullopt;
      if (!n || *n < 1 || static_cast<uint64_t>(*n) > max_results) {
        return Status::InvalidArgument(
            fmt::format("field 'n' must be an integer from 1 to {}", max_results));
      }
      out.request.n = static_cast<size_t>(*n);
    } else if (key == "exclude") {
      const json::array* a = val.if_array();
      if (a == nullptr) {
        return Status::InvalidArgument(
            fmt::format("field 'exclude' must be an array of item ids, got {}", JsonKindName(val)));
      }
      for (size_t n = 0; n < a->size(); ++n) {
        StatusOr<std::string> s = StringField((*a)[n], fmt::format("exclude[{}]", n));
        if (!s.ok()) return s.status();
        out.request.exclude.push_back(std::move(*s));
      }
    } else if (key == "category") {
      StatusOr<std::string> s = StringField(val, "field 'category'");
      if (!s.ok()) return s.status();
      out.request.category = std::move(*s);
    } else if (key == "include_seen") {
      if (!val.is_bool()) {
        return Status::InvalidArgument(
            fmt::format("field 'include_seen' must be true or false, got {}", JsonKindName(val)));
      }
      out.request.include_seen = val.as_bool();
    } else if (key == "categories" || key == "exclude_categories") {
      const json::array* a = val.if_array();
      if (a == nullptr) {
        return Status::InvalidArgument(fmt::format("field '{}' must be an array of strings, got {}",
                                                   std::string(key), JsonKindName(val)));
      }
      std::vector<std::string>& to =
          key == "categories" ? out.request.categories : out.request.exclude_categories;
      for (size_t n = 0; n < a->size(); ++n) {
        StatusOr<std::string> s = StringField((*a)[n], fmt::format("{}[{}]", std::string(key), n));
        if (!s.ok()) return s.status();
        to.push_back(std::move(*s));
      }
    } else if (key == "boost") {
      const json::object* b = val.if_object();
      if (b == nullptr) {
        return Status::InvalidArgument(fmt::format(
            "field 'boost' must be an object of category: factor, got {}", JsonKindName(val)));
      }
      for (const auto& f : *b) {
        const double factor = f.value().is_number() ? f.value().to_number<double>() : -1.0;
        if (!(factor >= 0.01 && factor <= 100.0)) {
          return Status::InvalidArgument(fmt::format(
              "boost factor of '{}' must be a number from 0.01 to 100", std::string(f.key())));
        }
        out.request.rules.boosts.emplace_back(std::string(f.key()), static_cast<float>(factor));
      }
    } else if (key == "max_per_category") {
      if (!val.is_int64() || val.as_int64() < 0 ||
          static_cast<uint64_t>(val.as_int64()) > max_results) {
        return Status::InvalidArgument(
            fmt::format("field 'max_per_category' must be an integer from 0 to {}", max_results));
      }
      out.request.rules.max_per_category = static_cast<size_t>(val.as_int64());
    } else if (key == "diversity") {
      const double d = val.is_number() ? val.to_number<double>() : -1.0;
      if (!(d >= 0.0 && d <= 1.0)) {
        return Status::InvalidArgument("field 'diversity' must be a number from 0 to 1");
      }
      out.request.rules.diversity = static_cast<float>(d);
    } else {
      return Status::InvalidArgument(fmt::format(
          "unknown field '{}' (history, n, exclude, category, categories, exclude_categories, "
          "include_seen, boost, max_per_category, diversity)",
          std::string(key)));
    }
  }
  if (!has_history) return Status::InvalidArgument("field 'history' is required");
  return out;
}

StatusOr<engine::ItemMeta> ParseItemMeta(std::string_view body, int max_json_depth) {
  StatusOr<json::value> v = ParseJson(body, max_json_depth);
  if (!v.ok()) return v.status();
  const json::object* o = v->if_object();
  if (o == nullptr) {
    return Status::InvalidArgument(fmt::format("expected a JSON object, got {}", JsonKindName(*v)));
  }
  engine::ItemMeta meta;
  for (const auto& kv : *o) {
    if (kv.key() == "categories") {
      const json::array* a = kv.value().if_array();
      if (a == nullptr) {
        return Status::InvalidArgument(fmt::format(
            "field 'categories' must be an array of strings, got {}", JsonKindName(kv.value())));
      }
      for (size_t i = 0; i < a->size(); ++i) {
        const json::string* s = (*a)[i].if_string();
        if (s == nullptr) {
          return Status::InvalidArgument(
              fmt::format("field 'categories': element {} must be a "
                          "string, got {}",
                          i, JsonKindName((*a)[i])));
        }
        meta.categories.emplace_back(s->data(), s->size());
      }
    } else if (kv.key() == "hidden") {
      const bool* b = kv.value().if_bool();
      if (b == nullptr) {
        return Status::InvalidArgument(
            fmt::format("field 'hidden' must be a bool, got {}", JsonKindName(kv.value())));
      }
      meta.hidden = *b;
    } else if (kv.key() == "created") {
      // As an event's ts: integer epoch milliseconds or an RFC 3339 string.
      STREAMREC_RETURN_IF_ERROR(ParseTimeField(kv.value(), "", "created", &meta.created_ms));
      if (meta.created_ms <= 0) {
        return Status::InvalidArgument("field 'created' must be after 1970-01-01T00:00:00Z");
      }
    } else {
      return Status::InvalidArgument(
          fmt::format("unknown field '{}' (known: categories, hidden, created)",
                      std::string_view(kv.key()).substr(0, 64)));
    }
  }
  STREAMREC_RETURN_IF_ERROR(engine::Catalog::Validate(meta));
  return meta;
}

json::object ItemMetaJson(std::string_view item, const engine::ItemMeta& meta) {
  json::array categories;
  for (const std::string& c : meta.categories) categories.emplace_back(c);
  json::object out{{"item", item}, {"categories", std::move(categories)}, {"hidden", meta.hidden}};
  if (meta.created_ms != 0) out["created"] = meta.created_ms;
  return out;
}

json::object LiveStatusJson(const storage::LiveStatus& s) {
  const storage::RecoveryResult& r = s.recovery;
  json::object recovery{{"snapshot_seq", r.snapshot_seq},
                        {"replayed", r.replayed},
                        {"last_seq", r.last_seq},
                        {"seconds", Finite(r.seconds)},
                        {"snapshot_skipped", r.snapshot_skipped}};
  json::object out{{"applied_seq", s.applied_seq},
                   {"durable_seq", s.durable_seq},
                   {"events_applied", s.events_applied},
                   {"pending_events", s.pending_events},
                   {"users", s.users},
                   {"items", s.items},
                   {"catalog_items", s.catalog_items},
                   {"rank", s.rank},
                   {"objective", engine::ObjectiveName(s.objective)},
                   {"model_bytes", s.model_bytes},
                   {"log_memory_bytes", s.log_memory_bytes},
                   {"snapshot_seq", s.snapshot_seq},
                   {"snapshot_age_seconds", Finite(s.snapshot_age_seconds)},
                   {"snapshots_written", s.snapshots_written},
                   {"last_error", s.last_error},
                   {"closed", s.closed}};
  const storage::StoreHealth& h = s.store;
  out["store"] = json::object{{"read_only", h.read_only}, {"reason", h.reason},
                              {"errors", h.errors},       {"resumed", h.resumed},
                              {"purges", h.purges},       {"last_purge_error", h.last_purge_error}};
  const storage::MemoryReleaseStatus& m = s.memory;
  out["memory"] = json::object{{"resident_bytes", m.resident_bytes},
                               {"release_enabled", m.enabled},
                               {"releases", m.releases},
                               {"releases_on_growth", m.releases_on_growth},
                               {"released_bytes", m.released_bytes},
                               {"last_release_seconds", Finite(m.last_seconds)},
                               {"max_release_seconds", Finite(m.max_seconds)}};
  out["recovery"] = std::move(recovery);
  out["retrain"] = RetrainJson(s.retrain);
  json::array retrains, snapshots;
  for (const storage::RetrainStatus& t : s.retrain_history) retrains.push_back(RetrainJson(t));
  for (const storage::SnapshotRecord& x : s.snapshot_history) {
    snapshots.push_back(json::object{{"time_ms", x.time_ms},
                                     {"seq", x.seq},
                                     {"seconds", Finite(x.seconds)},
                                     {"encode_seconds", Finite(x.encode_seconds)},
                                     {"reason", x.reason}});
  }
  out["retrain_history"] = std::move(retrains);
  out["snapshot_history"] = std::move(snapshots);
  out["drift"] = DriftJson(s.drift);
  const storage::ClusterStatus& c = s.cluster;
  if (c.enabled) {
    out["cluster"] =
        json::object{{"stream", c.stream},
                     {"applied_stream_seq", c.applied_stream_seq},
                     {"stream_last_seq", c.stream_last_seq},
                     {"lag", c.lag},
                     {"published", c.published},
                     {"publish_failures", c.publish_failures},
                     {"config_mismatches", c.config_mismatches},
                     {"last_error", c.last_error},
                     {"behind_trim", c.behind_trim},
                     {"images", json::object{{"stored", c.images.stored},
                                             {"last_seq", c.images.last_seq},
                                             {"last_bytes", c.images.last_bytes},
                                             {"last_seconds", c.images.last_seconds},
                                             {"trimmed_through", c.images.trimmed_through},
                                             {"pending_trim", c.images.pending_trim},
                                             {"last_error", c.images.last_error}}}};
  } else {
    out["cluster"] = nullptr;
  }
  return out;
}

json::object DriftDetailJson(const storage::LiveDriftStatus& d) {
  json::object out = DriftJson(d);
  if (!d.enabled) return out;
  json::object& dims = out["dimensions"].as_object();
  for (const engine::DimensionDrift& x : d.report.dimensions) {
    json::array shares;
    for (const engine::BucketShare& b : x.shares) {
      shares.push_back(json::object{
          {"label", b.label}, {"reference", Finite(b.reference)}, {"window", Finite(b.window)}});
    }
    dims[engine::DriftDimensionName(x.dimension)].as_object()["shares"] = std::move(shares);
  }
  json::array history;
  const std::vector<storage::DriftPoint> none;
  for (const storage::DriftPoint& p : d.history ? *d.history : none) {
    json::object psi, enough;
    for (size_t i = 0; i < engine::kDriftDimensions; ++i) {
      const std::string_view name =
          engine::DriftDimensionName(static_cast<engine::DriftDimension>(i));
      psi[name] = FiniteOrNull(p.psi[i]);
      enough[name] = p.enough_data[i];
    }
    history.push_back(json::object{{"time_ms", p.time_ms},
                                   {"observed", p.observed},
                                   {"window_events", p.window_events},
                                   {"reference_through_seq", p.reference_through_seq},
                                   {"psi", std::move(psi)},
                                   {"enough_data", std::move(enough)}});
  }
  out["history"] = std::move(history);
  out["noise_limit"] = engine::kDriftNoiseLimit;
  return out;
}

json::object StoredEventJson(const storage::StoredEvent& e) {
  return {{"seq", e.seq},   {"event_id", e.event_id},          {"user", e.user}, {"item", e.item},
          {"type", e.type}, {"value", ShortestFloat(e.value)}, {"ts", e.ts_ms}};
}

}  // namespace streamrec::http
