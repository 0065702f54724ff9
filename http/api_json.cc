#include "http/api_json.h"

#include <fmt/format.h>

#include <boost/json/serialize.hpp>
#include <cmath>
#include <cstdlib>
#include <iterator>
#include <string>

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
                   {"model_bytes", s.model_bytes},
                   {"snapshot_seq", s.snapshot_seq},
                   {"snapshot_age_seconds", Finite(s.snapshot_age_seconds)},
                   {"snapshots_written", s.snapshots_written},
                   {"last_error", s.last_error},
                   {"closed", s.closed}};
  out["recovery"] = std::move(recovery);
  out["retrain"] = std::move(retrain);
  return out;
}

}  // namespace streamrec::http
