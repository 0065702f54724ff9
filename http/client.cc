// Client: Beast's synchronous client example with timeouts. Beast only times
// asynchronous operations (basic_stream ignores expires_after for sync
// calls), so each step starts an async operation on a private io_context and
// runs that context until the operation completes: synchronous to the caller,
// with tcp_stream's deadline enforced.

#include "http/client.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <chrono>
#include <optional>
#include <utility>

namespace streamrec::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

std::chrono::steady_clock::duration ToDuration(double seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(std::max(seconds, 0.0)));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Errors that mean "the peer had closed this connection before we used it":
// the one case a request is retried on a fresh connection. A response that
// had begun to arrive is never retried (Beast reports partial_message then).
bool IsStaleConnection(const error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::connection_aborted;
}

}  // namespace

struct Client::Impl {
  Impl(std::string h, uint16_t p, double timeout)
      : host(std::move(h)), port(p), timeout(ToDuration(timeout)) {}

  // Runs the io_context until every started operation has completed.
  void RunPending() {
    ioc.restart();
    ioc.run();
  }

  Status Connect();
  // One write + read on the current connection. `stale` is set when the
  // failure means the server had closed the connection.
  Status Exchange(const bhttp::request<bhttp::string_body>& req, ClientResponse* out, bool* stale);
  void Disconnect() {
    if (!stream) return;
    error_code ec;
    stream->socket().shutdown(tcp::socket::shutdown_both, ec);
    // Closing a socket the peer already reset fails harmlessly; ignored.
    stream->close();
    stream.reset();
  }

  Status Error(std::string_view what, const error_code& ec) const {
    return Status::IOError(
        fmt::format("http client {}:{}: {}: {}", host, port, what, ec.message()));
  }

  const std::string host;
  const uint16_t port;
  const std::chrono::steady_clock::duration timeout;
  asio::io_context ioc{1};
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

Status Client::Impl::Connect() {
  Disconnect();
  buffer.clear();
  tcp::resolver resolver(ioc);
  error_code ec;
  const auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return Error("resolve", ec);

  stream.emplace(ioc);
  stream->expires_after(timeout);
  stream->async_connect(results, [&ec](const error_code& e, const tcp::endpoint&) { ec = e; });
  RunPending();
  if (ec) {
    stream.reset();
    return Error("connect", ec);
  }
  // Small requests and responses: do not wait for Nagle.
  error_code ignored;  // a socket option that cannot be set only costs latency
  stream->socket().set_option(tcp::no_delay(true), ignored);
  return Status::OK();
}

Status Client::Impl::Exchange(const bhttp::request<bhttp::string_body>& req, ClientResponse* out,
                              bool* stale) {
  *stale = false;
  error_code ec;
  // One deadline for the whole exchange: tcp_stream's timer covers every
  // async operation started until it is set again.
  stream->expires_after(timeout);
  bhttp::async_write(*stream, req, [&ec](const error_code& e, size_t) { ec = e; });
  RunPending();
  if (ec) {
    *stale = IsStaleConnection(ec);
    return Error("write", ec);
  }

  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(boost::none);  // our own server; its size is its business
  if (req.method() == bhttp::verb::head) parser.skip(true);
  bhttp::async_read(*stream, buffer, parser, [&ec](const error_code& e, size_t) { ec = e; });
  RunPending();
  if (ec) {
    *stale = IsStaleConnection(ec);
    return Error("read", ec);
  }

  bhttp::response<bhttp::string_body> res = parser.release();
  out->status = res.result_int();
  out->keep_alive = res.keep_alive();
  out->headers.clear();
  for (const auto& field : res) {
    std::string name = Lower(field.name_string());
    auto [it, inserted] = out->headers.try_emplace(std::move(name), field.value());
    if (!inserted) {
      // Repeated field: combined as RFC 9110 5.3 allows.
      it->second.append(", ");
      it->second.append(field.value());
    }
  }
  out->body = std::move(res.body());
  return Status::OK();
}

Client::Client(std::string host, uint16_t port, double timeout_seconds)
    : impl_(std::make_unique<Impl>(std::move(host), port, timeout_seconds)) {}

Client::~Client() { Close(); }

void Client::Close() { impl_->Disconnect(); }

StatusOr<ClientResponse> Client::Send(std::string_view method, std::string_view target,
                                      std::string_view body, std::string_view content_type,
                                      const std::map<std::string, std::string>& headers) {
  bhttp::request<bhttp::string_body> req;
  const bhttp::verb verb = bhttp::string_to_verb(method);
  if (verb == bhttp::verb::unknown) {
    req.method_string(method);
  } else {
    req.method(verb);
  }
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, fmt::format("{}:{}", impl_->host, impl_->port));
  req.set(bhttp::field::user_agent, "streamrec-client");
  if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = std::string(body);
  req.keep_alive(true);
  req.prepare_payload();

  // A reused connection may have been closed by the server (idle timeout,
  // shutdown) since the last request: then retry once on a new one.
  const bool reused = impl_->stream.has_value();
  if (!reused) STREAMREC_RETURN_IF_ERROR(impl_->Connect());

  ClientResponse response;
  bool stale = false;
  Status st = impl_->Exchange(req, &response, &stale);
  if (!st.ok() && reused && stale) {
    STREAMREC_RETURN_IF_ERROR(impl_->Connect());
    st = impl_->Exchange(req, &response, &stale);
  }
  if (!st.ok()) {
    impl_->Disconnect();
    return st;
  }
  if (!response.keep_alive) impl_->Disconnect();
  return response;
}

}  // namespace streamrec::http
