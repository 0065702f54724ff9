// The HTTP transport's framing and budgets over real loopback sockets:
// request smuggling refused, trailers, Host rules, refusing before the body,
// the in-flight body budget, one address's share of the connections, and
// the JSON error shape (the fixture: server_fixture.h).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"
#include "http/errors.h"
#include "http/server.h"
#include "tests/http/server_fixture.h"

namespace streamrec::http {
namespace {

// Request smuggling: a body the framing does not cover would be read as the
// next request. Only a lone, final "chunked" frames a body; the rest is
// refused and the connection closed, so the tail is never served.
TEST_F(ServerTest, TransferEncodingOtherThanChunkedIsRefusedAndCloses) {
  StartServer();
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const char* te : {"identity", "xchunked", "chunked, identity", "chunked, chunked",
                         "foo, chunked", ""}) {
    bool closed = false;
    auto responses = Exchange(
        port(),
        fmt::format("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: {}\r\n\r\n{}", te,
                    smuggled),
        &closed);
    ASSERT_EQ(responses.size(), 1u) << te;
    EXPECT_EQ(responses[0].status, 400u) << te;
    EXPECT_EQ(ErrorCode(responses[0].body), "bad_request") << te;
    EXPECT_FALSE(responses[0].keep_alive) << te;
    EXPECT_TRUE(closed) << te;
  }
  // A coding we know but do not decode is 501, never ignored.
  auto gzip = Exchange(port(),
                       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                       "5\r\nhello\r\n0\r\n\r\n" +
                           smuggled);
  ASSERT_EQ(gzip.size(), 1u);
  EXPECT_EQ(gzip[0].status, 501u);
  EXPECT_EQ(handler_.handled(), 0);
  // Split over two fields, chunked last, is still one chunked body.
  auto split = Exchange(port(),
                        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \r\n"
                        "Transfer-Encoding: Chunked\r\nConnection: close\r\n\r\n"
                        "5\r\nhello\r\n0\r\n\r\n");
  ASSERT_EQ(split.size(), 1u);
  EXPECT_EQ(split[0].status, 200u);
  EXPECT_EQ(split[0].body, "hello");
}

TEST_F(ServerTest, ChunkedTrailerFieldsAreNotHeaders) {
  StartServer();
  std::string raw;
  auto responses = Exchange(port(),
                            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                            "Connection: close\r\n\r\n5\r\nhello\r\n0\r\nX-Secret: from-trailer\r\n\r\n",
                            nullptr, &raw);
  ASSERT_EQ(responses.size(), 1u) << raw;
  EXPECT_EQ(responses[0].status, 200u);
  EXPECT_EQ(responses[0].body, "hello");
  EXPECT_EQ(raw.find("X-Saw-Secret"), std::string::npos) << raw;
  // The same field as a header is seen (the check above can fail).
  auto header = Exchange(port(),
                         "POST /echo HTTP/1.1\r\nHost: x\r\nX-Secret: real\r\n"
                         "Content-Length: 2\r\nConnection: close\r\n\r\nhi",
                         nullptr, &raw);
  ASSERT_EQ(header.size(), 1u);
  EXPECT_NE(raw.find("X-Saw-Secret: real"), std::string::npos) << raw;
}

TEST_F(ServerTest, Http11WithoutOneHostIs400AndAbsoluteFormIsServed) {
  StartServer();
  auto none = Exchange(port(), "GET /a HTTP/1.1\r\n\r\n");
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].status, 400u);
  auto two = Exchange(port(), "GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  ASSERT_EQ(two.size(), 1u);
  EXPECT_EQ(two[0].status, 400u);
  // HTTP/1.0 has no Host requirement.
  auto old = Exchange(port(), "GET /a HTTP/1.0\r\n\r\n");
  ASSERT_EQ(old.size(), 1u);
  EXPECT_EQ(old[0].status, 200u);
  auto absolute =
      Exchange(port(), "GET http://x/abs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(absolute.size(), 1u);
  EXPECT_EQ(absolute[0].status, 200u);
  EXPECT_EQ(absolute[0].body, "http://x/abs");
}

// The Handler refuses from the header alone: the body is never waited for.
TEST_F(ServerTest, HandlerCanRefuseBeforeTheBodyIsRead) {
  StartServer();
  const auto start = Clock::now();
  bool closed = false;
  // Announces 1000 bytes and sends none: only an answer from the header
  // arrives before the 0.3 s read deadline would give a 408.
  auto responses = Exchange(port(), "POST /locked HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
                            &closed);
  ASSERT_EQ(responses.size(), 1u);
  EXPECT_EQ(responses[0].status, 401u);
  EXPECT_FALSE(responses[0].keep_alive);
  EXPECT_LT(Clock::now() - start, milliseconds(290));
  EXPECT_EQ(handler_.handled(), 0);
}

TEST_F(ServerTest, BodiesInFlightHaveABudget) {
  ServerOptions options = FastOptions();
  options.read_timeout_seconds = 2.0;
  options.max_body_bytes_in_flight = 1000;
  StartServer(options);
  // The first upload holds 900 of the 1000 bytes while it is being read.
  RawConnection first(port());
  ASSERT_TRUE(first.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n"
                         "Connection: close\r\n\r\nabc"));
  std::this_thread::sleep_for(milliseconds(100));  // its header is read
  std::string raw;
  auto second = Exchange(port(),
                         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n\r\n" +
                             std::string(900, 'b'),
                         nullptr, &raw);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].status, 503u);
  EXPECT_NE(raw.find("Retry-After: 1"), std::string::npos) << raw;
  // Small bodies still fit beside it; once the first is done, all fit.
  auto small = Exchange(port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n"
                                "Connection: close\r\n\r\n" + std::string(50, 's'));
  ASSERT_EQ(small.size(), 1u);
  EXPECT_EQ(small[0].status, 200u);
  std::string data;
  ASSERT_TRUE(first.Send(std::string(897, 'a')));
  EXPECT_TRUE(first.ReadUntilClosed(std::chrono::seconds(3), &data));
  ASSERT_EQ(ParseResponses(data).size(), 1u);
  EXPECT_EQ(ParseResponses(data)[0].status, 200u);
  auto again = Exchange(port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 900\r\n"
                                "Connection: close\r\n\r\n" + std::string(900, 'c'));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].status, 200u);
}

// One client address may not take every slot, and health probes are
// answered even from a connection over the limit.
TEST_F(ServerTest, OneAddressCannotTakeEveryConnection) {
  ServerOptions options = FastOptions();
  options.idle_timeout_seconds = 5.0;
  options.max_connections_per_address = 3;
  StartServer(options);
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(std::make_unique<RawConnection>(port()));
  ASSERT_TRUE(Eventually([&] { return server_->open_connections() == 3; }));
  std::string raw;
  auto refused = Exchange(port(), "GET /work HTTP/1.1\r\nHost: x\r\n\r\n", nullptr, &raw);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].status, 503u);
  EXPECT_NE(raw.find("Retry-After"), std::string::npos);
  EXPECT_NE(refused[0].body.find("your address"), std::string::npos) << refused[0].body;
  auto probe = Exchange(port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_EQ(probe.size(), 1u);
  EXPECT_EQ(probe[0].status, 200u);
  EXPECT_FALSE(probe[0].keep_alive);
  idle.pop_back();  // a slot frees up
  ASSERT_TRUE(Eventually([&] { return server_->open_connections() == 2; }));
  auto served = Exchange(port(), "GET /work HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(served.size(), 1u);
  EXPECT_EQ(served[0].status, 200u);
}

TEST(ErrorsTest, BodyIsEscapedJson) {
  auto res = ErrorResponse(bhttp::status::bad_request, "invalid_argument",
                           "id \"a\\b\"\n\x01 and bad utf-8 \xff\xfe", 11, true);
  EXPECT_EQ(res.result(), bhttp::status::bad_request);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_TRUE(res.keep_alive());
  boost::system::error_code ec;
  auto v = boost::json::parse(res.body(), ec);
  ASSERT_FALSE(ec) << res.body();
  EXPECT_EQ(v.at("error").at("code").as_string(), "invalid_argument");
  EXPECT_EQ(v.at("error").at("message").as_string(),
            "id \"a\\b\"\n\x01 and bad utf-8 \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(ErrorsTest, StatusMapping) {
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), bhttp::status::bad_request);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), bhttp::status::not_found);
  EXPECT_EQ(HttpStatusFor(StatusCode::kAlreadyExists), bhttp::status::conflict);
  EXPECT_EQ(HttpStatusFor(StatusCode::kConflict), bhttp::status::conflict);
  EXPECT_EQ(HttpStatusFor(StatusCode::kFailedPrecondition), bhttp::status::conflict);
  EXPECT_EQ(HttpStatusFor(StatusCode::kResourceExhausted), bhttp::status::too_many_requests);
  EXPECT_EQ(HttpStatusFor(StatusCode::kCapacityExceeded), bhttp::status::insufficient_storage);
  EXPECT_EQ(HttpStatusFor(StatusCode::kIOError), bhttp::status::service_unavailable);
  EXPECT_EQ(HttpStatusFor(StatusCode::kCorruption), bhttp::status::internal_server_error);
  EXPECT_EQ(HttpStatusFor(StatusCode::kInternal), bhttp::status::internal_server_error);

  auto res = ErrorResponse(Status::NotFound("no user 'u1'"), 10, false);
  EXPECT_EQ(res.result(), bhttp::status::not_found);
  EXPECT_EQ(res.version(), 10u);
  EXPECT_FALSE(res.keep_alive());
  auto v = boost::json::parse(res.body());
  EXPECT_EQ(v.at("error").at("code").as_string(), "not_found");
  EXPECT_EQ(v.at("error").at("message").as_string(), "no user 'u1'");
}

}  // namespace
}  // namespace streamrec::http
