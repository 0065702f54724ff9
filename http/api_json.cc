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
                     {"top_window", Finite(x.top_window)}};
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
      because.push_back(json::object{{"item", c.item},
                                     {"value", ShortestFloat(c.value)},
                                     {"share", ShortestFloat(c.share)}});
    }
    json::object o{{"item", e.item}, {"score", ShortestFloat(e.score)}, {"because", std::move(because)}};
    if (why.method == engine::ExplanationMethod::kExact) {
      o["unexplained"] = ShortestFloat(e.unexplained);
    }
    out.push_back(std::move(o));
  }
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
    } else {
      return Status::InvalidArgument(fmt::format("unknown field '{}' (known: categories, hidden)",
                                                 std::string_view(kv.key()).substr(0, 64)));
    }
  }
  STREAMREC_RETURN_IF_ERROR(engine::Catalog::Validate(meta));
  return meta;
}

json::object ItemMetaJson(std::string_view item, const engine::ItemMeta& meta) {
  json::array categories;
  for (const std::string& c : meta.categories) categories.emplace_back(c);
  return json::object{
      {"item", item}, {"categories", std::move(categories)}, {"hidden", meta.hidden}};
}

json::object LiveStatusJson(const storage::LiveStatus& s) {
  const storage::RecoveryResult& r = s.recovery;
  json::object recovery{{"snapshot_seq", r.snapshot_seq},
                        {"replayed", r.replayed},
                        {"last_seq", r.last_seq},
                        {"seconds", Finite(r.seconds)},
                        {"snapshot_skipped", r.snapshot_skipped}};
  const storage::RetrainStatus& t = s.retrain;
  json::object retrain{{"state", storage::RetrainStateName(t.state)},
                       {"runs", t.runs},
                       {"trained_through_seq", t.trained_through_seq},
                       {"examples", t.examples},
                       {"seconds", Finite(t.seconds)},
                       {"train_rmse", Finite(t.train_rmse)},
                       {"algorithm", t.algorithm},
                       {"error", t.error}};
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
                   {"snapshot_seq", s.snapshot_seq},
                   {"snapshot_age_seconds", Finite(s.snapshot_age_seconds)},
                   {"snapshots_written", s.snapshots_written},
                   {"last_error", s.last_error},
                   {"closed", s.closed}};
  const storage::StoreHealth& h = s.store;
  out["store"] = json::object{{"read_only", h.read_only}, {"reason", h.reason},
                              {"errors", h.errors},       {"resumed", h.resumed},
                              {"purges", h.purges},       {"last_purge_error", h.last_purge_error}};
  out["recovery"] = std::move(recovery);
  out["retrain"] = std::move(retrain);
  out["drift"] = DriftJson(s.drift);
  const storage::ClusterStatus& c = s.cluster;
  if (c.enabled) {
    out["cluster"] = json::object{{"stream", c.stream},
                                  {"applied_stream_seq", c.applied_stream_seq},
                                  {"stream_last_seq", c.stream_last_seq},
                                  {"lag", c.lag},
                                  {"published", c.published},
                                  {"publish_failures", c.publish_failures},
                                  {"config_mismatches", c.config_mismatches},
                                  {"last_error", c.last_error},
                                  {"behind_trim", c.behind_trim},
                                  {"images", json::object{
                                                 {"stored", c.images.stored},
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

}  // namespace streamrec::http
