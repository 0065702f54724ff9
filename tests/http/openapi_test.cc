// The OpenAPI contract (docs/openapi.json, served at GET /openapi.json):
// the router and the description name the same routes, and real answers of
// a real server validate against the description's schemas.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/http/api_fixture.h"

namespace streamrec::http::testing {
namespace {

json::value LoadSpec() {
  std::ifstream in(std::string(STREAMREC_SOURCE_DIR) + "/docs/openapi.json");
  std::ostringstream s;
  s << in.rdbuf();
  return json::parse(s.str());
}

// "/v1/items/{item}/similar" -> "/v1/items/{}/similar", the router's form.
std::string RouterForm(const std::string& path) {
  return std::regex_replace(path, std::regex(R"(\{[a-z_]+\})"), "{}");
}

// A validator for the JSON Schema subset the description uses: $ref (to
// #/components/schemas), type, nullable, required, properties,
// additionalProperties, items, enum, oneOf, allOf, minimum, maximum. Appends what does not hold
// to *errors, each with where in the value it is.
class Validator {
 public:
  explicit Validator(const json::value& spec) : spec_(spec) {}

  void Check(const json::value& schema, const json::value& v, const std::string& where,
             std::vector<std::string>* errors) const {
    const json::object& s = schema.as_object();
    if (const json::value* r = s.if_contains("$ref")) {
      const std::string ref(r->as_string());
      const std::string prefix = "#/components/schemas/";
      ASSERT_EQ(ref.rfind(prefix, 0), 0u) << ref;
      Check(spec_.at("components").at("schemas").at(ref.substr(prefix.size())), v, where, errors);
      return;
    }
    if (const json::value* all = s.if_contains("allOf")) {
      for (const json::value& sub : all->as_array()) Check(sub, v, where, errors);
    }
    if (const json::value* one = s.if_contains("oneOf")) {
      int matches = 0;
      for (const json::value& sub : one->as_array()) {
        std::vector<std::string> e;
        Check(sub, v, where, &e);
        matches += e.empty();
      }
      if (matches != 1) {
        errors->push_back(fmt::format("{}: matches {} of oneOf's schemas", where, matches));
      }
    }
    if (v.is_null() && s.contains("nullable") && s.at("nullable").as_bool()) return;
    if (const json::value* t = s.if_contains("type")) {
      const std::string type(t->as_string());
      const bool ok = type == "object"    ? v.is_object()
                      : type == "array"   ? v.is_array()
                      : type == "string"  ? v.is_string()
                      : type == "boolean" ? v.is_bool()
                      : type == "integer" ? v.is_int64() || v.is_uint64()
                      : type == "number"  ? v.is_number()
                                          : false;
      if (!ok) {
        errors->push_back(fmt::format("{}: expected {}, got {}", where, type, json::serialize(v)));
        return;
      }
    }
    if (const json::value* e = s.if_contains("enum")) {
      const json::array& values = e->as_array();
      if (std::find(values.begin(), values.end(), v) == values.end()) {
        errors->push_back(
            fmt::format("{}: {} is not one of {}", where, json::serialize(v), json::serialize(*e)));
      }
    }
    if (v.is_number()) {
      const double x = v.to_number<double>();
      if (const json::value* m = s.if_contains("minimum"); m && x < m->to_number<double>()) {
        errors->push_back(fmt::format("{}: {} is below the minimum", where, x));
      }
      if (const json::value* m = s.if_contains("maximum"); m && x > m->to_number<double>()) {
        errors->push_back(fmt::format("{}: {} is above the maximum", where, x));
      }
    }
    if (v.is_object()) {
      const json::object& o = v.as_object();
      if (const json::value* req = s.if_contains("required")) {
        for (const json::value& key : req->as_array()) {
          if (!o.contains(key.as_string())) {
            errors->push_back(fmt::format("{}: lacks '{}'", where, std::string(key.as_string())));
          }
        }
      }
      const json::value* props = s.if_contains("properties");
      const json::value* extra = s.if_contains("additionalProperties");
      for (const auto& kv : o) {
        const std::string key(kv.key());
        if (props != nullptr && props->as_object().contains(key)) {
          Check(props->at(key), kv.value(), where + "." + key, errors);
        } else if (extra != nullptr && extra->is_bool() && !extra->as_bool() &&
                   !s.contains("allOf")) {
          errors->push_back(fmt::format("{}: '{}' is not in the description", where, key));
        } else if (extra != nullptr && extra->is_object()) {
          Check(*extra, kv.value(), where + "." + key, errors);
        }
      }
    }
    if (v.is_array()) {
      if (const json::value* items = s.if_contains("items")) {
        const json::array& a = v.as_array();
        for (size_t n = 0; n < a.size(); ++n) {
          Check(*items, a[n], fmt::format("{}[{}]", where, n), errors);
        }
      }
    }
  }

 private:
  const json::value& spec_;
};

TEST(OpenApiContractTest, TheRouterAndTheDescriptionNameTheSameRoutes) {
  const json::value spec = LoadSpec();
  EXPECT_EQ(spec.at("openapi").as_string().subview().substr(0, 2), "3.");
  std::set<std::string> described, routed;
  for (const auto& path : spec.at("paths").as_object()) {
    for (const auto& op : path.value().as_object()) {
      std::string method(op.key());
      std::transform(method.begin(), method.end(), method.begin(), ::toupper);
      described.insert(method + " " + RouterForm(std::string(path.key())));
    }
  }
  for (const RouteDescription& r : Routes()) routed.insert(r.method + " " + r.path);
  for (const std::string& r : routed) {
    EXPECT_TRUE(described.contains(r)) << r << " is answered but not in docs/openapi.json";
  }
  for (const std::string& d : described) {
    EXPECT_TRUE(routed.contains(d)) << d << " is in docs/openapi.json but no route answers it";
  }
  EXPECT_GE(routed.size(), 18u);
  // Every path parameter is declared, and every $ref points somewhere.
  const std::string text = json::serialize(spec);
  std::smatch m;
  for (auto it = text.cbegin(); std::regex_search(
           it, text.cend(), m, std::regex(R"re("\$ref":"#/components/([a-z]+)/([A-Za-z_]+)")re"));
       it = m.suffix().first) {
    EXPECT_TRUE(spec.at("components").at(m[1].str()).as_object().contains(m[2].str()))
        << m[0].str();
  }
}

class OpenApiTest : public ApiTest {
 protected:
  OpenApiTest() : spec_(LoadSpec()), validator_(spec_) {}

  // The schema the description gives `method path` for `status`.
  json::value ResponseSchema(const std::string& method, const std::string& path, unsigned status,
                             const std::string& content_type = "application/json") {
    const json::value& op = spec_.at("paths").at(path).at(method);
    json::value r = op.at("responses").at(std::to_string(status));
    if (const json::value* ref = r.as_object().if_contains("$ref")) {
      const std::string name(ref->as_string());
      r = spec_.at("components").at("responses").at(name.substr(name.rfind('/') + 1));
    }
    return r.at("content").at(content_type).at("schema");
  }

  // Validates a real answer against the description.
  void Expect(const std::string& method, const std::string& path, const ClientResponse& got,
              unsigned status) {
    SCOPED_TRACE(method + " " + path);
    ASSERT_EQ(got.status, status) << got.body;
    std::vector<std::string> errors;
    json::value body;
    ASSERT_NO_THROW(body = json::parse(got.body)) << got.body;
    validator_.Check(ResponseSchema(method, path, status), body, "$", &errors);
    for (const std::string& e : errors) ADD_FAILURE() << e << "\nin " << got.body;
    ++checked_;
  }

  json::value spec_;
  Validator validator_;
  int checked_ = 0;
};

TEST_F(OpenApiTest, RealAnswersValidateAgainstTheSchemas) {
  UseImplicitWithEveryDriftReport();
  Start();
  // The served description is docs/openapi.json.
  const ClientResponse served = Get("/openapi.json");
  ASSERT_EQ(served.status, 200u);
  EXPECT_EQ(json::parse(served.body), spec_);
  std::string events = "[";
  for (int k = 0; k < 60; ++k) {
    events += fmt::format(
        "{}{}", k ? "," : "",
        EventJson(fmt::format("u{}", k % 6), fmt::format("i{}", k % 10),
                  k % 3 ? "view" : "purchase", 0.0, 1'700'000'000'000 + k, fmt::format("e{}", k)));
  }
  Expect("post", "/v1/events", Post("/v1/events", events + "]"), 200);
  Expect("put", "/v1/items/{item}",
         Send("PUT", "/v1/items/i1", R"({"categories":["c1"],"created":"2026-01-01T00:00:00Z"})"),
         200);
  Expect("get", "/v1/items/{item}", Get("/v1/items/i1"), 200);
  Expect("get", "/v1/users/{user}/recommendations", Get("/v1/users/u1/recommendations?n=3"), 200);
  Expect("get", "/v1/users/{user}/recommendations",
         Get("/v1/users/u1/recommendations?n=3&explain=true"), 200);
  Expect("get", "/v1/users/{user}/recommendations", Get("/v1/users/nobody/recommendations"), 200);
  Expect("get", "/v1/users/{user}/rows", Get("/v1/users/u1/rows?rows=4&n=2"), 200);
  Expect("post", "/v1/recommendations",
         Post("/v1/recommendations",
              R"({"history":[{"item":"i1","type":"view"},{"item":"zz","type":"view"}],"n":3})"),
         200);
  Expect("get", "/v1/items/{item}/similar", Get("/v1/items/i2/similar?n=3"), 200);
  Expect("get", "/v1/items/popular", Get("/v1/items/popular?n=3"), 200);
  Expect("post", "/v1/admin/snapshot", Post("/v1/admin/snapshot", ""), 200);
  Expect("get", "/v1/admin/status", Get("/v1/admin/status?checksum=true"), 200);
  Expect("post", "/v1/admin/retrain", Post("/v1/admin/retrain", ""), 202);
  json::value status;
  ASSERT_NO_FATAL_FAILURE(WaitForRetrain(&status));
  // After the retrain: its history, a snapshot's, and drift against the
  // reference it set, with a window and a history.
  Expect("post", "/v1/events",
         Post("/v1/events", "[" + EventJson("u1", "i3", "view", 0.0, 1'700'000'001'000, "late1") +
                                "," +
                                EventJson("u7", "i9", "view", 0.0, 1'700'000'001'001, "late2") + "]"),
         200);
  ASSERT_NO_FATAL_FAILURE(WaitForDriftHistory());
  const ClientResponse after = Get("/v1/admin/status");
  Expect("get", "/v1/admin/status", after, 200);
  EXPECT_EQ(json::parse(after.body).at("retrain_history").as_array().size(), 1u) << after.body;
  EXPECT_FALSE(json::parse(after.body).at("snapshot_history").as_array().empty()) << after.body;
  const ClientResponse drift = Get("/v1/admin/drift");
  Expect("get", "/v1/admin/drift", drift, 200);
  EXPECT_FALSE(json::parse(drift.body).at("history").as_array().empty()) << drift.body;
  EXPECT_FALSE(json::parse(drift.body)
                   .at("dimensions")
                   .at("item")
                   .at("shares")
                   .as_array()
                   .empty())
      << drift.body;
  Expect("get", "/v1/users/{user}/events", Get("/v1/users/u1/events?limit=5"), 200);
  Expect("get", "/v1/users/{user}/events", Get("/v1/users/nobody/events"), 200);
  Expect("get", "/v1/users/{user}/events", Get("/v1/users/u1/events?limit=0"), 400);
  Expect("get", "/healthz", Get("/healthz"), 200);
  Expect("get", "/readyz", Get("/readyz"), 200);
  Expect("delete", "/v1/items/{item}", Send("DELETE", "/v1/items/i1"), 200);
  Expect("delete", "/v1/users/{user}", Send("DELETE", "/v1/users/u2"), 200);
  // Errors have the one error shape the description gives them.
  Expect("get", "/v1/users/{user}/recommendations", Get("/v1/users/u1/recommendations?n=x"), 400);
  Expect("delete", "/v1/users/{user}", Send("DELETE", "/v1/users/never"), 404);
  Expect("get", "/v1/items/{item}", Get("/v1/items/never"), 404);
  Expect("post", "/v1/events", Post("/v1/events", R"([{"user":"u","item":"i","type":"nope"}])"),
         400);
  Expect("post", "/v1/events",
         Post("/v1/events", EventJson("u1", "i1", "view", 0.0, 1'700'000'000'001, "e0")), 409);
  EXPECT_EQ(checked_, 28);  // every Expect above ran its checks
  // Text routes answer the content type the description names.
  const ClientResponse metrics = Get("/metrics");
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_TRUE(spec_.at("paths")
                  .at("/metrics")
                  .at("get")
                  .at("responses")
                  .at("200")
                  .at("content")
                  .as_object()
                  .contains("text/plain"));
}

}  // namespace
}  // namespace streamrec::http::testing
