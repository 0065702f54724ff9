// What the transport tests share: a Handler that echoes and can answer
// late, a raw socket for malformed and slow clients, a response parser,
// and the ServerTest fixture (a real Server on an ephemeral loopback port,
// deadlines a fraction of a second).
#pragma once

#include "http/server.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/json/parse.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"
#include "http/errors.h"

namespace streamrec::http {


namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Echoes the body (or the target when there is none). Targets under
// /delay/<ms> are answered from another thread after <ms> milliseconds, as
// the store does for writes. Counts what the transport refused.
class TestHandler : public Handler {
 public:
  ~TestHandler() override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : workers_) t.join();
  }

  void Handle(Request req, Responder respond) override {
    handled_.fetch_add(1);
    const std::string target(req.target());
    if (target.starts_with("/delay/")) {
      const int ms = std::stoi(target.substr(7));
      delayed_started_.fetch_add(1);
      std::lock_guard<std::mutex> lock(mu_);
      workers_.emplace_back([req = std::move(req), respond = std::move(respond), ms]() mutable {
        std::this_thread::sleep_for(milliseconds(ms));
        respond(Echo(req));
      });
      return;
    }
    if (target.starts_with("/keep/")) {
      // Answers at once but holds the Responder for <ms> more, as the
      // store does when it frees a queued op after running its callback.
      const int ms = std::stoi(target.substr(6));
      respond(Echo(req));
      std::lock_guard<std::mutex> lock(mu_);
      workers_.emplace_back([this, respond = std::move(respond), ms]() mutable {
        std::this_thread::sleep_for(milliseconds(ms));
        // Set before the drop: Server::Wait() may return as soon as it goes.
        kept_released_.store(true);
        Responder dropped = std::move(respond);
      });
      return;
    }
    if (target == "/drop") return;  // a buggy handler: never answers
    if (target == "/throw") throw std::runtime_error("handler bug");
    respond(Echo(req));
  }

  // "/locked" needs no body read to be refused, as a missing API key.
  std::optional<Response> CheckHeader(const RequestHeader& header) override {
    if (header.target() != "/locked") return std::nullopt;
    Response res{bhttp::status::unauthorized, header.version()};
    res.body() = "locked";
    return res;
  }

  void OnRejected(unsigned status) override {
    std::lock_guard<std::mutex> lock(mu_);
    rejected_.push_back(status);
  }

  std::vector<unsigned> rejected() const {
    std::lock_guard<std::mutex> lock(mu_);
    return rejected_;
  }
  int handled() const { return handled_.load(); }
  int delayed_started() const { return delayed_started_.load(); }
  bool kept_released() const { return kept_released_.load(); }

 private:
  static Response Echo(const Request& req) {
    Response res{bhttp::status::ok, req.version()};
    res.set(bhttp::field::content_type, "text/plain");
    res.set("X-Method", req.method_string());
    res.keep_alive(req.keep_alive());
    res.body() = req.body().empty() ? std::string(req.target()) : req.body();
    if (req.find("X-Secret") != req.end()) res.set("X-Saw-Secret", req["X-Secret"]);
    return res;
  }

  std::atomic<int> handled_{0};
  std::atomic<int> delayed_started_{0};
  std::atomic<bool> kept_released_{false};
  mutable std::mutex mu_;
  std::vector<unsigned> rejected_;    // GUARDED_BY(mu_)
  std::vector<std::thread> workers_;  // GUARDED_BY(mu_)
};

// A plain socket that can send anything and read until the server closes.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }

  bool Send(std::string_view data) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(data.data(), data.size()), ec);
    return !ec;
  }

  // Reads until the server closes the connection (true) or `timeout`
  // passes (false); `*data` gets what arrived. Meanwhile sends `trickle`,
  // one piece every `interval`, from this same thread (a socket is not
  // safe to use from two).
  bool ReadUntilClosed(Clock::duration timeout, std::string* data,
                       std::vector<std::string> trickle = {},
                       Clock::duration interval = Clock::duration::zero()) {
    bool closed = false;
    asio::steady_timer timer(ioc_);
    size_t next = 0;
    std::function<void()> send_next = [&] {
      if (closed || next == trickle.size()) return;
      boost::system::error_code ec;
      asio::write(socket_, asio::buffer(trickle[next++]), ec);
      if (ec) return;
      timer.expires_after(interval);
      timer.async_wait([&](const boost::system::error_code& wait_ec) {
        if (!wait_ec) send_next();
      });
    };
    std::function<void()> read_more = [&] {
      socket_.async_read_some(asio::buffer(chunk_),
                              [&](const boost::system::error_code& ec, size_t n) {
                                data->append(chunk_, n);
                                if (ec) {
                                  closed = ec != asio::error::operation_aborted;
                                  timer.cancel();
                                  return;
                                }
                                read_more();
                              });
    };
    send_next();
    read_more();
    ioc_.restart();
    ioc_.run_for(timeout);
    if (!ioc_.stopped()) {
      socket_.cancel();
      timer.cancel();
      ioc_.restart();
      ioc_.run();
    }
    return closed;
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  char chunk_[4096];
};

struct ParsedResponse {
  unsigned status = 0;
  std::string body;
  bool keep_alive = true;
};

// Every complete response in `data`, in order.
inline std::vector<ParsedResponse> ParseResponses(std::string_view data) {
  std::vector<ParsedResponse> out;
  while (!data.empty()) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    boost::system::error_code ec;
    const size_t used = parser.put(asio::buffer(data.data(), data.size()), ec);
    if (ec || !parser.is_done()) break;
    auto res = parser.release();
    out.push_back({res.result_int(), res.body(), res.keep_alive()});
    data.remove_prefix(used);
  }
  return out;
}

inline std::string ErrorCode(const std::string& body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return "<not json: " + body + ">";
  return std::string(v.at("error").at("code").as_string());
}

// Polls `pred` for up to two seconds.
template <typename Pred>
bool Eventually(Pred pred) {
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return pred();
}

class ServerTest : public ::testing::Test {
 protected:
  static ServerOptions FastOptions() {
    ServerOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    o.threads = 2;
    o.body_limit = 1024;
    o.header_limit = 1024;
    o.read_timeout_seconds = 0.3;
    o.write_timeout_seconds = 1.0;
    o.idle_timeout_seconds = 0.3;
    o.max_connections = 64;
    return o;
  }

  void StartServer(const ServerOptions& options = FastOptions()) {
    auto server = Server::Create(options, &handler_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    server_->Start();
  }

  uint16_t port() const { return server_->port(); }

  TestHandler handler_;  // outlives server_
  std::unique_ptr<Server> server_;
};

// Sends `request` on a fresh connection and returns what came back before
// the server closed it (or 3 s passed).
inline std::vector<ParsedResponse> Exchange(uint16_t port, const std::string& request,
                                     bool* closed = nullptr, std::string* raw = nullptr) {
  RawConnection conn(port);
  EXPECT_TRUE(conn.Send(request));
  std::string data;
  const bool was_closed = conn.ReadUntilClosed(std::chrono::seconds(3), &data);
  if (closed) *closed = was_closed;
  if (raw) *raw = data;
  return ParseResponses(data);
}

}  // namespace streamrec::http
