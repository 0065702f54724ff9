// The API's pure parts, below HTTP: URL decoding and query parameters,
// event bodies and RFC 3339 times, API-key checks, the Prometheus text.

#include <gtest/gtest.h>

#include <boost/beast/http/field.hpp>
#include <boost/json/parse.hpp>
#include <string>
#include <vector>

#include "http/api_json.h"
#include "http/auth.h"
#include "http/event_json.h"
#include "http/json_keys.h"
#include "http/metrics.h"
#include "http/url.h"

namespace streamrec::http {
namespace {

TEST(ApiJsonTest, NumbersAreWrittenAsPeopleWriteThem) {
  boost::json::object o{{"n", 3},    {"u", uint64_t{18446744073709551615u}},
                        {"d", 0.5},  {"s", "a\"b<"},
                        {"b", true}, {"z", nullptr}};
  o["items"] = ScoresJson({{"i1", 4.12f}, {"i2", -0.1f}, {"i3", 1e-7f}});
  EXPECT_EQ(SerializeJson(o),
            R"({"n":3,"u":18446744073709551615,"d":0.5,"s":"a\"b<","b":true,"z":null,)"
            R"("items":[{"item":"i1","score":4.12},{"item":"i2","score":-0.1},)"
            R"({"item":"i3","score":1e-07}]})");
  // The text parses back to the same value.
  EXPECT_EQ(boost::json::parse(SerializeJson(o)), boost::json::value(o));
}

TEST(UrlTest, SplitsAndDecodes) {
  StatusOr<Target> t = Target::Parse("/v1/items/a%2Fb/similar?n=3&user=x+y");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->path, "/v1/items/a%2Fb/similar");
  EXPECT_EQ(t->query, "n=3&user=x+y");
  EXPECT_EQ(t->segments, (std::vector<std::string_view>{"v1", "items", "a%2Fb", "similar"}));
  EXPECT_EQ(Target::Parse("/")->segments, std::vector<std::string_view>{});
  EXPECT_EQ(Target::Parse("/a/")->segments, (std::vector<std::string_view>{"a", ""}));

  std::string out;
  EXPECT_TRUE(PercentDecode("a%2Fb%2fc+d", false, &out));
  EXPECT_EQ(out, "a/b/c+d");
  EXPECT_TRUE(PercentDecode("c+d%2B", true, &out));
  EXPECT_EQ(out, "c d+");
  for (const char* bad : {"%", "%2", "%g0", "a%0"}) EXPECT_FALSE(PercentDecode(bad, false, &out));
}

// RFC 9112 3.2.2: a server accepts the absolute-form.
TEST(UrlTest, AbsoluteFormTargets) {
  StatusOr<Target> t = Target::Parse("http://example.com:8080/v1/popular?n=2");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->path, "/v1/popular");
  EXPECT_EQ(t->query, "n=2");
  EXPECT_EQ(t->segments, (std::vector<std::string_view>{"v1", "popular"}));
  EXPECT_FALSE(Target::Parse("ftp://example.com/v1/popular").ok());
}

// What the hand-written splitter let through: every one is a 400 now.
TEST(UrlTest, MalformedTargetsAreRefused) {
  for (const char* bad :
       {"/v1/items/a%zz", "/v1/items/a%2", "/v1/items/a b", "/v1/items/\xff", "*",
        "example.com:80", "/v1/popular#frag", "/v1/popular?n=%", "//[::1"}) {
    EXPECT_FALSE(Target::Parse(bad).ok()) << bad;
  }
}

// A query inside a larger buffer (Beast's request target) decodes to its own
// bytes only: Boost 1.81's iterator alone read "n=5" as "5 HTTP/1.1...".
TEST(UrlTest, QueryInsideALargerBufferStopsAtItsEnd) {
  const std::string buffer = "n=5&u=a+b HTTP/1.1\r\nHost: x\r\n";
  StatusOr<Query> q = Query::Parse(std::string_view(buffer.data(), 9));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->params().size(), 2u);
  EXPECT_EQ(q->params()[0].second, "5");
  EXPECT_EQ(q->params()[1].second, "a b");
}

TEST(UrlTest, QueryParameters) {
  StatusOr<Query> q = Query::Parse("n=5&exclude=a,b&exclude=c&&flag&include_seen=true");
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->OnlyAllowed({"n", "exclude", "flag", "include_seen"}).ok());
  const Status unknown = q->OnlyAllowed({"n"});
  EXPECT_NE(unknown.message().find("'exclude', 'flag'"), std::string::npos) << unknown.message();
  EXPECT_EQ(*q->Size("n", 1, 10, 3), 5u);
  EXPECT_EQ(*q->Size("m", 1, 10, 3), 3u);
  EXPECT_FALSE(q->Size("n", 1, 4, 3).ok());
  EXPECT_EQ(*q->IdList("exclude", 8), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_FALSE(q->IdList("exclude", 0).ok());
  EXPECT_TRUE(*q->Bool("include_seen", false));
  EXPECT_EQ(*q->Id("missing", 8), "");
  EXPECT_FALSE(q->Id("flag", 8).ok());  // given, but empty
}

TEST(EventJsonTest, Rfc3339) {
  EXPECT_EQ(ParseRfc3339Ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339Ms("2024-05-01T12:00:00Z"), 1714564800000);
  EXPECT_EQ(ParseRfc3339Ms("2024-05-01t14:00:00.25+02:00"), 1714564800250);
  EXPECT_EQ(ParseRfc3339Ms("2024-05-01 07:30:00.123456-04:30"), 1714564800123);
  EXPECT_EQ(ParseRfc3339Ms("2024-02-29T23:59:59z"), 1709251199000);
  EXPECT_EQ(ParseRfc3339Ms("1970-01-01T00:00:00+01:00"), -3600000);
  for (const char* bad :
       {"2023-02-29T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:00:00", "2024-05-01",
        "2024-05-01T12:00:00.Z", "2024-5-01T12:00:00Z", "2024-05-01T12:00:00+0200",
        "2024-05-01T12:00:00Zjunk", "2024-05-01T12:60:00Z", ""}) {
    EXPECT_FALSE(ParseRfc3339Ms(bad).has_value()) << bad;
  }
}

TEST(EventJsonTest, EventsAndTheirErrors) {
  EventParseOptions o;
  o.max_events = 2;
  o.now_ms = 77;
  auto one = ParseEvents(R"({"user":"u","item":"i","type":"rating","value":4,"event_id":null})",
                         EventFormat::kJson, o);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].user, "u");
  EXPECT_EQ((*one)[0].value, 4.0f);
  EXPECT_EQ((*one)[0].ts_ms, 77);  // now
  EXPECT_EQ((*one)[0].event_id, "");

  auto too_many = ParseEvents("{}\n{}\n\n{}", EventFormat::kNdjson, o);
  EXPECT_EQ(too_many.status().code(), StatusCode::kResourceExhausted);
  auto big_ts = ParseEvents(R"({"user":"u","item":"i","type":"v","ts":18446744073709551615})",
                            EventFormat::kJson, o);
  EXPECT_NE(big_ts.status().message().find("'ts'"), std::string::npos);
  auto value =
      ParseEvents(R"([{"user":"u","item":"i","type":"v","value":"4"}])", EventFormat::kJson, o);
  EXPECT_EQ(value.status().message(), "event 0: field 'value' must be a number, got string");

  EXPECT_EQ(EventFormatFor("application/x-ndjson; charset=utf-8"), EventFormat::kNdjson);
  EXPECT_EQ(EventFormatFor(" APPLICATION/JSON "), EventFormat::kJson);
  EXPECT_FALSE(EventFormatFor("application/jsonx").has_value());
  EXPECT_FALSE(EventFormatFor("").has_value());
}

// The empty string is a key like any other: {"": 1, "": 2} says two things
// at once too. (Found reading json_keys.cc for the event_json fuzz target:
// the duplicate was remembered as "", which read as "none".)
TEST(EventJsonTest, DuplicateEmptyKeysAreRefused) {
  EXPECT_TRUE(CheckNoDuplicateKeys(R"({"": 1, "a": {"": 2}})").ok());
  const Status top = CheckNoDuplicateKeys(R"({"": 1, "": 2})");
  EXPECT_EQ(top.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(top.message(), "duplicate key '' in a JSON object");
  EXPECT_EQ(CheckNoDuplicateKeys(R"([{"a": {"": [], "": null}}])").code(),
            StatusCode::kInvalidArgument);
  auto parsed = ParseJson(R"({"user":"u","":1,"":2})", 16);
  EXPECT_EQ(parsed.status().message(), "duplicate key '' in a JSON object");
}

TEST(AuthTest, KeysAndScopes) {
  const std::vector<ApiKey> keys = {{"r", "secret-r", kScopeRead},
                                    {"empty", "", kScopeRead | kScopeWrite | kScopeAdmin},
                                    {"w", std::string(100, 'w'), kScopeWrite}};
  const ApiKey* matched = nullptr;
  EXPECT_EQ(CheckApiKey({}, "", kScopeAdmin), AuthResult::kOk);
  EXPECT_EQ(CheckApiKey(keys, "", kScopeRead), AuthResult::kUnauthenticated);
  EXPECT_EQ(CheckApiKey(keys, "secret-r", kScopeRead, &matched), AuthResult::kOk);
  ASSERT_NE(matched, nullptr);
  EXPECT_EQ(matched->name, "r");
  EXPECT_EQ(CheckApiKey(keys, "secret-r", kScopeWrite), AuthResult::kForbidden);
  EXPECT_EQ(CheckApiKey(keys, "secret-", kScopeRead), AuthResult::kUnauthenticated);
  EXPECT_EQ(CheckApiKey(keys, std::string("secret-r\0", 9), kScopeRead),
            AuthResult::kUnauthenticated);
  EXPECT_EQ(CheckApiKey(keys, std::string(100, 'w'), kScopeWrite, &matched), AuthResult::kOk);
  EXPECT_EQ(matched->name, "w");
  EXPECT_EQ(CheckApiKey(keys, std::string(101, 'w'), kScopeWrite), AuthResult::kUnauthenticated);

  Request req;
  req.set(boost::beast::http::field::authorization, "  Bearer   tok ");
  EXPECT_EQ(PresentedSecret(req), "tok");
  req.erase(boost::beast::http::field::authorization);
  req.set("X-API-Key", "k2");
  EXPECT_EQ(PresentedSecret(req), "k2");
}

TEST(MetricsTest, HistogramsAreCumulative) {
  HttpMetrics m;
  m.Record(RouteId::kPopular, 200, 0.0002);
  m.Record(RouteId::kPopular, 200, 0.003);
  m.Record(RouteId::kPopular, 404, 100.0);
  m.Record(RouteId::kTransport, 431, 0.0);
  EXPECT_EQ(m.requests(RouteId::kPopular, 200), 2u);
  const std::string text = m.Render(storage::LiveStatus{});
  for (const char* line : {
           "streamrec_http_requests_total{route=\"/v1/items/popular\",method=\"GET\","
           "status=\"404\"} 1\n",
           "streamrec_http_requests_total{route=\"transport\",status=\"431\"} 1\n",
           "_bucket{route=\"/v1/items/popular\",method=\"GET\",le=\"0.0001\"} 0\n",
           "_bucket{route=\"/v1/items/popular\",method=\"GET\",le=\"0.00025\"} 1\n",
           "_bucket{route=\"/v1/items/popular\",method=\"GET\",le=\"0.005\"} 2\n",
           "_bucket{route=\"/v1/items/popular\",method=\"GET\",le=\"2.5\"} 2\n",
           "_bucket{route=\"/v1/items/popular\",method=\"GET\",le=\"+Inf\"} 3\n",
           "_count{route=\"/v1/items/popular\",method=\"GET\"} 3\n",
           "streamrec_up 1\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nnot in:\n" << text;
  }
  EXPECT_EQ(text.find("route=\"transport\",le="), std::string::npos);
}

}  // namespace
}  // namespace streamrec::http
