// The HTTP transport over real loopback sockets: http::Client for well-formed
// traffic, raw Asio sockets for malformed, slow and idle clients. Timeouts
// are a fraction of a second so the whole file runs in a few seconds. This
// file: round trips, limits, deadlines, shutdown; server_framing_test.cc:
// request framing (smuggling), body budgets, per-address caps, errors.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"
#include "http/server.h"
#include "tests/http/server_fixture.h"

namespace streamrec::http {
namespace {

TEST_F(ServerTest, EchoRoundTripReusesTheConnection) {
  StartServer();
  Client client("127.0.0.1", port(), 2.0);
  for (int i = 0; i < 3; ++i) {
    auto res = client.Post("/echo", "hello " + std::to_string(i));
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->status, 200u);
    EXPECT_EQ(res->body, "hello " + std::to_string(i));
    EXPECT_EQ(res->headers["server"], "streamrec");
    EXPECT_EQ(res->headers["x-method"], "POST");
    EXPECT_EQ(res->headers["content-length"], std::to_string(res->body.size()));
    EXPECT_TRUE(res->keep_alive);
    EXPECT_EQ(server_->open_connections(), 1u);
  }
  auto get = client.Get("/items/42");
  ASSERT_TRUE(get.ok());
  EXPECT_EQ(get->body, "/items/42");
  EXPECT_EQ(handler_.handled(), 4);
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  StartServer();
  RawConnection raw(port());
  ASSERT_TRUE(
      raw.Send("GET /one HTTP/1.1\r\nHost: x\r\n\r\n"
               "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
               "GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string data;
  EXPECT_TRUE(raw.ReadUntilClosed(std::chrono::seconds(2), &data));
  auto responses = ParseResponses(data);
  ASSERT_EQ(responses.size(), 3u) << data;
  EXPECT_EQ(responses[0].body, "/one");
  EXPECT_EQ(responses[1].body, "abc");
  EXPECT_EQ(responses[2].body, "/three");
  EXPECT_FALSE(responses[2].keep_alive);
}

TEST_F(ServerTest, Http10ClosesUnlessKeepAliveIsAsked) {
  StartServer();
  RawConnection raw(port());
  ASSERT_TRUE(
      raw.Send("GET /kept HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
               "GET /closed HTTP/1.0\r\n\r\n"));
  std::string data;
  EXPECT_TRUE(raw.ReadUntilClosed(std::chrono::seconds(2), &data));
  auto responses = ParseResponses(data);
  ASSERT_EQ(responses.size(), 2u) << data;
  EXPECT_EQ(responses[0].body, "/kept");
  EXPECT_TRUE(responses[0].keep_alive);
  EXPECT_EQ(responses[1].body, "/closed");
  EXPECT_FALSE(responses[1].keep_alive);
  EXPECT_TRUE(data.starts_with("HTTP/1.0 200")) << data;
}

TEST_F(ServerTest, BodyOverLimitIs413) {
  StartServer();
  Client client("127.0.0.1", port(), 2.0);
  auto res = client.Post("/echo", std::string(4096, 'x'));
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 413u);
  EXPECT_EQ(res->headers["content-type"], "application/json");
  EXPECT_EQ(ErrorCode(res->body), "payload_too_large");
  EXPECT_FALSE(res->keep_alive);
  EXPECT_EQ(handler_.handled(), 0);
  EXPECT_EQ(handler_.rejected(), std::vector<unsigned>{413});

  // A body at the limit is fine, on a fresh connection.
  auto ok = client.Post("/echo", std::string(1024, 'y'));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->status, 200u);
}

TEST_F(ServerTest, ChunkedBodyOverLimitIs413) {
  StartServer();
  RawConnection raw(port());
  std::string request = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) request += "200\r\n" + std::string(512, 'z') + "\r\n";
  request += "0\r\n\r\n";
  ASSERT_TRUE(raw.Send(request));
  std::string data;
  EXPECT_TRUE(raw.ReadUntilClosed(std::chrono::seconds(3), &data));
  auto responses = ParseResponses(data);
  ASSERT_EQ(responses.size(), 1u) << data;
  EXPECT_EQ(responses[0].status, 413u);
}

TEST_F(ServerTest, HeadersOverLimitAre431) {
  StartServer();
  Client client("127.0.0.1", port(), 2.0);
  auto res = client.Get("/echo", {{"X-Padding", std::string(4096, 'p')}});
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 431u);
  EXPECT_EQ(ErrorCode(res->body), "headers_too_large");
  EXPECT_EQ(handler_.rejected(), std::vector<unsigned>{431});
}

TEST_F(ServerTest, GarbageIs400) {
  StartServer();
  RawConnection raw(port());
  ASSERT_TRUE(raw.Send(std::string("\x01\x02\x03 not http at all\r\n\r\n")));
  std::string data;
  EXPECT_TRUE(raw.ReadUntilClosed(std::chrono::seconds(3), &data));
  auto responses = ParseResponses(data);
  ASSERT_EQ(responses.size(), 1u) << data;
  EXPECT_EQ(responses[0].status, 400u);
  EXPECT_EQ(ErrorCode(responses[0].body), "bad_request");
  EXPECT_EQ(handler_.rejected(), std::vector<unsigned>{400});
}

TEST_F(ServerTest, SlowLorisGets408WithinTheRequestDeadline) {
  StartServer();
  RawConnection raw(port());
  const auto start = Clock::now();
  // A header trickled a line every 100 ms: each read makes progress, but
  // the deadline runs from the first byte.
  std::vector<std::string> trickle{"GET /slow HTTP/1.1\r\n"};
  for (int i = 0; i < 20; ++i) trickle.push_back("X-Slow: " + std::to_string(i) + "\r\n");
  std::string data;
  const bool closed =
      raw.ReadUntilClosed(std::chrono::seconds(3), &data, std::move(trickle), milliseconds(100));
  const auto elapsed = Clock::now() - start;
  EXPECT_TRUE(closed);
  EXPECT_LT(elapsed, milliseconds(1500));  // a per-read deadline would take > 2 s
  auto responses = ParseResponses(data);
  ASSERT_EQ(responses.size(), 1u) << data;
  EXPECT_EQ(responses[0].status, 408u);
  EXPECT_EQ(handler_.handled(), 0);
  EXPECT_EQ(handler_.rejected(), std::vector<unsigned>{408});
}

TEST_F(ServerTest, IdleConnectionIsClosedSilently) {
  StartServer();
  RawConnection raw(port());
  const auto start = Clock::now();
  std::string data;
  EXPECT_TRUE(raw.ReadUntilClosed(std::chrono::seconds(3), &data));
  EXPECT_GE(Clock::now() - start, milliseconds(250));
  EXPECT_EQ(data, "");
  EXPECT_TRUE(handler_.rejected().empty());
  EXPECT_TRUE(Eventually([&] { return server_->open_connections() == 0; }));
}

TEST_F(ServerTest, ClientReconnectsAfterIdleTimeout) {
  StartServer();
  Client client("127.0.0.1", port(), 2.0);
  ASSERT_TRUE(client.Get("/a").ok());
  ASSERT_TRUE(Eventually([&] { return server_->open_connections() == 0; }));
  auto res = client.Get("/b");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->body, "/b");
}

TEST_F(ServerTest, ResponseFromAnotherThread) {
  StartServer();
  Client client("127.0.0.1", port(), 2.0);
  const auto start = Clock::now();
  auto res = client.Post("/delay/150", "later");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_GE(Clock::now() - start, milliseconds(150));
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->body, "later");
  // The connection stays usable after a late answer.
  auto again = client.Get("/now");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->body, "/now");
  EXPECT_EQ(server_->open_connections(), 1u);
}

TEST_F(ServerTest, HandlerBugsAreAnswered500) {
  StartServer();
  Client client("127.0.0.1", port(), 2.0);
  for (const char* target : {"/drop", "/throw"}) {
    auto res = client.Get(target);
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->status, 500u) << target;
    EXPECT_EQ(ErrorCode(res->body), "internal") << target;
  }
  // The client still works: after /throw the connection is kept, after
  // /drop the 500 closes it and the client reconnects.
  auto res = client.Get("/after");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->body, "/after");
}

TEST_F(ServerTest, BeyondMaxConnectionsIs503) {
  ServerOptions options = FastOptions();
  options.max_connections = 2;
  options.idle_timeout_seconds = 5.0;
  StartServer(options);
  RawConnection a(port()), b(port());
  ASSERT_TRUE(Eventually([&] { return server_->open_connections() == 2; }));
  Client client("127.0.0.1", port(), 2.0);
  auto res = client.Get("/x");
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 503u);
  EXPECT_EQ(ErrorCode(res->body), "unavailable");
  EXPECT_FALSE(res->keep_alive);
  EXPECT_EQ(handler_.rejected(), std::vector<unsigned>{503});
  EXPECT_EQ(server_->open_connections(), 2u);
}

TEST_F(ServerTest, ShutdownFinishesInFlightRequestsAndClosesIdleOnes) {
  ServerOptions options = FastOptions();
  options.idle_timeout_seconds = 10.0;  // only Shutdown() may close the idle one
  StartServer(options);
  RawConnection idle(port());
  ASSERT_TRUE(Eventually([&] { return server_->open_connections() == 1; }));

  StatusOr<ClientResponse> res = Status::Internal("not sent");
  std::thread request([&] {
    Client client("127.0.0.1", port(), 3.0);
    res = client.Post("/delay/300", "in flight");
  });
  ASSERT_TRUE(Eventually([&] { return handler_.delayed_started() == 1; }));
  const auto start = Clock::now();
  server_->Shutdown();
  server_->Shutdown();  // idempotent
  std::string data;
  EXPECT_TRUE(idle.ReadUntilClosed(std::chrono::seconds(2), &data));
  EXPECT_EQ(data, "");
  server_->Wait();
  EXPECT_GE(Clock::now() - start, milliseconds(200));  // waited for the answer
  request.join();
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  EXPECT_EQ(res->status, 200u);
  EXPECT_EQ(res->body, "in flight");
  EXPECT_FALSE(res->keep_alive);
  EXPECT_EQ(server_->open_connections(), 0u);
  // Nobody is listening any more.
  Client late("127.0.0.1", port(), 1.0);
  EXPECT_FALSE(late.Get("/x").ok());
}

TEST_F(ServerTest, ManyConcurrentClients) {
  ServerOptions options = FastOptions();
  options.threads = 4;
  options.idle_timeout_seconds = 5.0;
  StartServer(options);
  constexpr int kThreads = 8;
  constexpr int kRequests = 200;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Client client("127.0.0.1", port(), 5.0);
      for (int i = 0; i < kRequests; ++i) {
        const std::string body = "client " + std::to_string(t) + " request " + std::to_string(i);
        // Every tenth request is answered from another thread.
        auto res = client.Post(i % 10 == 0 ? "/delay/0" : "/echo", body);
        if (res.ok() && res->status == 200 && res->body == body) good.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), kThreads * kRequests);
  EXPECT_EQ(handler_.handled(), kThreads * kRequests);
}

TEST_F(ServerTest, ExpectContinueGets100First) {
  StartServer();
  RawConnection raw(port());
  ASSERT_TRUE(
      raw.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
               "Connection: close\r\n\r\n"));
  std::this_thread::sleep_for(milliseconds(50));
  ASSERT_TRUE(raw.Send("hello"));
  std::string data;
  EXPECT_TRUE(raw.ReadUntilClosed(std::chrono::seconds(2), &data));
  ASSERT_TRUE(data.starts_with("HTTP/1.1 100 Continue\r\n\r\n")) << data;
  auto responses = ParseResponses(std::string_view(data).substr(25));
  ASSERT_EQ(responses.size(), 1u) << data;
  EXPECT_EQ(responses[0].body, "hello");
}

TEST_F(ServerTest, CreateRefusesBadAddressAndBusyPort) {
  StartServer();
  ServerOptions options = FastOptions();
  options.address = "not an address";
  auto bad = Server::Create(options, &handler_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);

  options = FastOptions();
  options.port = port();
  auto busy = Server::Create(options, &handler_);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), StatusCode::kIOError);
}

TEST(ClientTest, UnreachableServerIsIOError) {
  uint16_t port;
  {
    asio::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = acceptor.local_endpoint().port();
  }  // closed: nothing listens on `port` now
  Client client("127.0.0.1", port, 1.0);
  auto res = client.Get("/");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kIOError);
}

// The old failure: a Responder (and the strand executor inside it) that
// outlived the io_context was destroyed after the server, a use-after-free
// ASan saw in six tests. The server must not finish until nothing outside
// it holds a piece of it.
TEST_F(ServerTest, ServerOutlivesEveryResponderTheHandlerKeeps) {
  StartServer();
  {
    Client client("127.0.0.1", port(), 2.0);
    auto res = client.Get("/keep/300");
    ASSERT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_EQ(res->body, "/keep/300");
  }
  EXPECT_FALSE(handler_.kept_released());
  server_.reset();  // Shutdown() + Wait(): returns only once it is dropped
  EXPECT_TRUE(handler_.kept_released());
}

TEST_F(ServerTest, ClientTimesOut) {
  StartServer();
  Client client("127.0.0.1", port(), 0.1);
  const auto start = Clock::now();
  auto res = client.Get("/delay/500");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kIOError);
  EXPECT_LT(Clock::now() - start, milliseconds(400));
}

}  // namespace
}  // namespace streamrec::http
