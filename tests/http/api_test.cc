// The HTTP API over real HTTP, a real server and a real store: ingestion
// and its effect on the next read, every error status with its JSON body,
// authentication. Items, users, admin, restart, metrics and concurrency:
// api_admin_test.cc.

#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "tests/http/api_fixture.h"

namespace streamrec::http::testing {
namespace {

bool Contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST_F(ApiTest, AnIngestedEventShapesTheUsersNextRecommendations) {
  Start();
  SeedCatalog();
  ClientResponse r = Get("/v1/users/alice/recommendations?n=5");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.headers["content-type"], "application/json");
  EXPECT_EQ(Json(r).at("source"), "popular");
  EXPECT_EQ(Json(r).at("user"), "alice");
  EXPECT_EQ(Items(r), (std::vector<std::string>{"i1", "i2", "i3", "i4", "i5"}));

  const json::value ack = Ingest(EventJson("alice", "i1"));
  EXPECT_EQ(ack.at("accepted"), 1);
  EXPECT_EQ(ack.at("duplicates"), 0);
  const uint64_t seq = ack.at("last_seq").as_int64();
  EXPECT_EQ(ack.at("first_seq").as_int64(), static_cast<int64_t>(seq));

  // Read-your-writes: the seen item is gone from the very next answer.
  r = Get("/v1/users/alice/recommendations?n=5");
  ASSERT_EQ(r.status, 200u);
  EXPECT_GE(Json(r).at("seq").as_int64(), static_cast<int64_t>(seq));
  EXPECT_EQ(Items(r), (std::vector<std::string>{"i2", "i3", "i4", "i5", "i6"}));
  // ...unless asked for, or excluded by the caller.
  r = Get("/v1/users/alice/recommendations?n=3&include_seen=true&exclude=i2,i3");
  EXPECT_EQ(Items(r), (std::vector<std::string>{"i1", "i4", "i5"}));

  // Enough distinct items (cold_start_min_items = 3): the model answers.
  Ingest(
      fmt::format("[{},{}]", EventJson("alice", "i2", "click"), EventJson("alice", "i7", "cart")));
  r = Get("/v1/users/alice/recommendations?n=4");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(Json(r).at("source"), "model");
  EXPECT_EQ(Items(r).size(), 4u);
  for (const char* seen : {"i1", "i2", "i7"}) EXPECT_FALSE(Contains(Items(r), seen)) << seen;
}

TEST_F(ApiTest, ARetriedEventIdIsADuplicateAndAnotherPayloadAConflict) {
  Start();
  const std::string e = EventJson("bob", "i1", "rating", 4.5, 1'700'000'000'000, "evt-1");
  const json::value first = Ingest(e);
  EXPECT_EQ(first.at("accepted"), 1);
  const json::value again = Ingest(e);
  EXPECT_EQ(again.at("accepted"), 0);
  EXPECT_EQ(again.at("duplicates"), 1);
  EXPECT_EQ(again.at("first_seq"), 0);  // nothing new stored
  EXPECT_EQ(store_->status().durable_seq, static_cast<uint64_t>(first.at("last_seq").as_int64()));

  const ClientResponse r =
      Post("/v1/events", EventJson("bob", "i1", "rating", 2.0, 1'700'000'000'000, "evt-1"));
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(ErrorCode(r), "conflict");
  EXPECT_NE(ErrorMessage(r).find("evt-1"), std::string::npos) << r.body;
}

TEST_F(ApiTest, NdjsonArraysAndRfc3339Timestamps) {
  Start();
  const std::string ndjson =
      fmt::format("{}\r\n\n{}\n{}\n\n", EventJson("carol", "i1"),
                  R"({"user":"carol","item":"i2","type":"click","ts":"2024-05-01T12:00:00.250Z"})",
                  R"({"user":"carol","item":"i3","type":"view","ts":"2024-05-01T14:00:00+02:00"})");
  ClientResponse r = Send("POST", "/v1/events", ndjson, "application/x-ndjson");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Json(r).at("accepted"), 3);
  EXPECT_EQ(Json(r).at("last_seq").as_int64() - Json(r).at("first_seq").as_int64(), 2);

  r = Send("POST", "/v1/events",
           fmt::format("[{},{}]", EventJson("dave", "i1"), EventJson("dave", "i2")),
           "Application/JSON; charset=utf-8");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Json(r).at("accepted"), 2);

  // An NDJSON error names the 1-based line.
  r = Send("POST", "/v1/events",
           fmt::format("{}\n\n{}\n", EventJson("erin", "i1"), R"({"user":"erin","item":7})"),
           "application/x-ndjson");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(ErrorMessage(r).find("line 3: "), std::string::npos) << r.body;
  EXPECT_NE(ErrorMessage(r).find("'item'"), std::string::npos) << r.body;

  r = Post("/v1/events",
           R"({"user":"erin","item":"i1","type":"view","ts":"2024-13-01T00:00:00Z"})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(ErrorMessage(r).find("RFC 3339"), std::string::npos) << r.body;
}

TEST_F(ApiTest, EveryBadRequestIsA400NamingTheProblem) {
  api_options_.max_json_depth = 8;
  Start();
  SeedCatalog();
  struct Case {
    const char* method;
    std::string target;
    std::string body;
    std::string mentions;  // the message names this
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/events", R"({"user": "u1", "item": )", "malformed JSON"},
      {"POST", "/v1/events", R"({"user":"u","item":"i","type":"view","colour":"red"})", "'colour'"},
      {"POST", "/v1/events",
       fmt::format(R"([{},{{"user":5,"item":"i","type":"view"}}])", EventJson("u", "i")),
       "event 1: field 'user'"},
      {"POST", "/v1/events", R"({"user":"u","item":"i","type":"view","ts":1.5})", "'ts'"},
      {"POST", "/v1/events", R"({"user":"u","item":"i"})", "missing field 'type'"},
      {"POST", "/v1/events", EventJson("u", "i", "clik"), "clik"},
      {"POST", "/v1/events", EventJson("u", "i", "rating", 9.0), "event 0"},
      {"POST", "/v1/events", "[]", "empty"},
      {"POST", "/v1/events", "", "empty"},
      {"POST", "/v1/events", "[[[[[[[[[[[[1]]]]]]]]]]]]", "deeper than 8"},
      {"POST", "/v1/events", "42", "got number"},
      {"POST", "/v1/events?debug=1", EventJson("u", "i"), "'debug'"},
      {"GET", "/v1/users/u1/recommendations?n=0", "", "'n'"},
      {"GET", "/v1/users/u1/recommendations?n=ten", "", "'n'"},
      {"GET", "/v1/users/u1/recommendations?n=1001", "", "'n'"},
      {"GET", "/v1/users/u1/recommendations?n=1&n=2", "", "more than once"},
      {"GET", "/v1/users/u1/recommendations?include_seen=yes", "", "'include_seen'"},
      {"GET", "/v1/users/u1/recommendations?limit=3", "", "'limit'"},
      {"GET", "/v1/users/u%zz1/recommendations", "", "percent-encoding"},
      {"GET", "/v1/users/u%2/recommendations", "", "percent-encoding"},
      {"GET", "/v1/items/popular?category=%G0", "", "percent-encoding"},
      {"GET", "/v1/items/i1/similar?user=", "", "'user'"},
      {"GET", fmt::format("/v1/users/{}/recommendations", std::string(257, 'x')), "",
       "longer than 256"},
      {"PUT", "/v1/items/i1", R"({"categories":"books"})", "'categories'"},
      {"PUT", "/v1/items/i1", R"({"hidden":false,"price":3})", "'price'"},
      {"PUT", "/v1/items/i1", R"({"categories":[""]})", "categor"},
  };
  for (const Case& c : cases) {
    const ClientResponse r = Send(c.method, c.target, c.body);
    EXPECT_EQ(r.status, 400u) << c.method << " " << c.target << " " << c.body << " -> " << r.body;
    EXPECT_EQ(ErrorCode(r), "invalid_argument") << r.body;
    EXPECT_NE(ErrorMessage(r).find(c.mentions), std::string::npos)
        << c.target << " " << c.body << ": '" << c.mentions << "' not in " << r.body;
  }
  // Nothing of the refused batches was stored.
  EXPECT_EQ(Json(Get("/v1/users/u/recommendations")).at("source"), "popular");
  EXPECT_EQ(store_->status().durable_seq, 36u);
}

TEST_F(ApiTest, PathIdsArePercentDecoded) {
  Start();
  Ingest(EventJson("team/a b", "shelf/7"));
  ClientResponse r = Get("/v1/users/team%2Fa%20b/recommendations?include_seen=true");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Json(r).at("user"), "team/a b");
  EXPECT_EQ(Items(r), std::vector<std::string>{"shelf/7"});
  r = Get("/v1/items/shelf%2F7");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Json(r).at("item"), "shelf/7");
  EXPECT_EQ(Json(r).at("known"), true);
  // Query values are decoded too, '+' as a space.
  r = Get("/v1/users/nobody/recommendations?exclude=shelf%2F7&n=5");
  EXPECT_TRUE(Items(r).empty()) << r.body;
  r = Get("/v1/items/shelf%2F7/similar?user=team/a+b");
  EXPECT_EQ(r.status, 200u) << r.body;
  // An item named "popular": PUT and DELETE reach it by name, GET encoded.
  ASSERT_EQ(Send("PUT", "/v1/items/popular", R"({"categories":["x"]})").status, 200u);
  r = Get("/v1/items/%70opular");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Json(r).at("categories"), json::parse(R"(["x"])"));
  EXPECT_EQ(Send("DELETE", "/v1/items/popular").status, 200u);
}

TEST_F(ApiTest, UnknownPathsAre404AndWrongMethods405WithAllow) {
  Start();
  SeedCatalog();
  ClientResponse r = Get("/v1/nothing");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(ErrorCode(r), "not_found");
  EXPECT_EQ(Get("/v1/users//recommendations").status, 404u);
  EXPECT_EQ(Get("/v1/events/").status, 404u);

  r = Send("DELETE", "/v1/events");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.headers["allow"], "POST");
  EXPECT_EQ(ErrorCode(r), "method_not_allowed");
  r = Get("/v1/users/u1");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.headers["allow"], "DELETE");
  r = Send("POST", "/v1/items/i1");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.headers["allow"], "GET, PUT, DELETE");
  EXPECT_EQ(Get("/v1/admin/retrain").status, 405u);

  // Named things that do not exist.
  r = Get("/v1/items/nope/similar");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(ErrorCode(r), "not_found");
  EXPECT_EQ(Get("/v1/items/nope").status, 404u);
  EXPECT_EQ(Send("DELETE", "/v1/items/i1").status, 404u);  // known, but no metadata
  EXPECT_EQ(Send("DELETE", "/v1/users/nobody").status, 404u);
  EXPECT_EQ(api_->metrics().requests(RouteId::kNotFound, 404), 3u);
  EXPECT_EQ(api_->metrics().requests(RouteId::kNotFound, 405), 4u);
}

TEST_F(ApiTest, BatchLimitMediaTypeAndBodyShape) {
  api_options_.max_batch_events = 3;
  Start();
  std::vector<std::string> four;
  for (int k = 0; k < 4; ++k) four.push_back(EventJson("u", fmt::format("i{}", k)));
  ClientResponse r = Post("/v1/events", fmt::format("[{}]", fmt::join(four, ",")));
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(ErrorCode(r), "payload_too_large");
  std::string lines;
  for (int k = 0; k < 4; ++k) lines += fmt::format("{}\n", EventJson("u", fmt::format("i{}", k)));
  EXPECT_EQ(Send("POST", "/v1/events", lines, "application/x-ndjson").status, 413u);

  r = Send("POST", "/v1/events", EventJson("u", "i"), "text/plain");
  EXPECT_EQ(r.status, 415u);
  EXPECT_EQ(ErrorCode(r), "unsupported_media_type");
  EXPECT_EQ(Send("POST", "/v1/events", EventJson("u", "i"), "").status, 415u);
  EXPECT_EQ(Send("PUT", "/v1/items/i", "{}", "application/x-ndjson").status, 415u);
  EXPECT_EQ(store_->status().durable_seq, 0u);
}

TEST_F(ApiTest, KeysAreCheckedForEveryRouteButHealthAndMetrics) {
  api_options_.keys = {{"reader", "r-secret", kScopeRead},
                       {"writer", "w-secret-that-is-longer", kScopeRead | kScopeWrite},
                       {"ops", "a-secret", kScopeAdmin}};
  Start();
  const Headers reader = {{"Authorization", "Bearer r-secret"}};
  const Headers writer = {{"X-API-Key", "w-secret-that-is-longer"}};
  const Headers ops = {{"authorization", "bearer a-secret"}};

  ClientResponse r = Get("/v1/items/popular");
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(ErrorCode(r), "unauthenticated");
  EXPECT_NE(r.headers["www-authenticate"].find("Bearer"), std::string::npos);
  for (const char* wrong :
       {"Bearer r-secre", "Bearer r-secretx", "Bearer ", "Basic r-secret", "Bearer w-secret"}) {
    EXPECT_EQ(Get("/v1/items/popular", {{"Authorization", wrong}}).status, 401u) << wrong;
  }
  EXPECT_EQ(Get("/v1/items/popular", reader).status, 200u);
  EXPECT_EQ(Get("/v1/items/popular", writer).status, 200u);

  r = Post("/v1/events", EventJson("u", "i"), reader);
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(ErrorCode(r), "permission_denied");
  EXPECT_EQ(store_->status().durable_seq, 0u);
  EXPECT_EQ(Post("/v1/events", EventJson("u", "i"), writer).status, 200u);

  EXPECT_EQ(Get("/v1/admin/status", writer).status, 403u);
  EXPECT_EQ(Get("/v1/admin/status", ops).status, 200u);
  EXPECT_EQ(Get("/v1/items/popular", ops).status, 403u);  // admin implies nothing else
  // Unknown paths answer 404 without a key; health and metrics are open.
  EXPECT_EQ(Get("/v1/nothing").status, 404u);
  EXPECT_EQ(Get("/healthz").status, 200u);
  EXPECT_EQ(Get("/metrics").status, 200u);
}

// Without a valid key a client cannot make the server buffer its body: the
// 401 comes from the header alone, before a byte of the 5 MB announced.
TEST_F(ApiTest, KeysAreCheckedBeforeTheBodyIsRead) {
  api_options_.keys = {{"writer", "w-secret", kScopeWrite}};
  Start();
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), server_->port()});
  const std::string header =
      "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 5000000\r\n\r\n";
  asio::write(socket, asio::buffer(header));
  std::string data;
  boost::system::error_code ec;
  char chunk[4096];
  const auto start = std::chrono::steady_clock::now();
  while (data.find("\r\n\r\n") == std::string::npos && !ec) {
    const size_t n = socket.read_some(asio::buffer(chunk), ec);
    data.append(chunk, n);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_TRUE(data.starts_with("HTTP/1.1 401")) << data;
  EXPECT_NE(data.find("Connection: close"), std::string::npos) << data;
  EXPECT_EQ(store_->status().durable_seq, 0u);
}

}  // namespace
}  // namespace streamrec::http::testing
