#include "http/session.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <exception>
#include <limits>
#include <utility>

#include "http/errors.h"

namespace streamrec::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using error_code = boost::system::error_code;

namespace {

std::chrono::steady_clock::duration Seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(std::max(s, 0.0)));
}

// How long a refused connection is drained before it is closed: enough for
// the client to finish sending a request we will not read, so that it sees
// our error instead of a TCP reset.
constexpr double kLingerSeconds = 1.0;
// Read size while waiting for a request's first bytes, and while draining.
constexpr size_t kReadChunk = 4096;

bool IsBeastHttpError(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

}  // namespace

// ---- ServerContext -------------------------------------------------------

bool ServerContext::Register(uint64_t id, const std::shared_ptr<Session>& session) {
  std::lock_guard<std::mutex> lock(mu);
  if (shutting_down.load(std::memory_order_relaxed)) return false;
  sessions.emplace(id, session);
  return true;
}

void ServerContext::Unregister(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu);
  sessions.erase(id);
}

std::vector<std::shared_ptr<Session>> ServerContext::BeginShutdown() {
  std::vector<std::shared_ptr<Session>> open;
  std::lock_guard<std::mutex> lock(mu);
  if (shutting_down.exchange(true)) return open;
  open.reserve(sessions.size());
  for (auto& [id, weak] : sessions) {
    // A session may be mid-destruction (waiting on `mu` to unregister);
    // lock() then fails and it needs no shutdown.
    if (auto s = weak.lock()) open.push_back(std::move(s));
  }
  // The caller drops `open` after releasing `mu`: the last reference to a
  // session may go with it, and ~Session takes `mu`.
  return open;
}

// ---- Session -------------------------------------------------------------

// The Responder's state. The first call moves the session and the work
// guard out, so a Responder kept (or called again) after that holds nothing
// and is harmless; until then the work guard keeps the io_context running,
// which is how Shutdown() waits for in-flight requests. A Responder dropped
// uncalled (a Handler bug) answers 500 rather than leave the client hanging.
struct Session::PendingResponse {
  ~PendingResponse() {
    if (!session) return;
    asio::post(strand, [session = std::move(session), work = std::move(work)] {
      session->DoWrite(ErrorResponse(bhttp::status::internal_server_error, "internal",
                                     "the request was dropped without a response", 11, false));
    });
  }

  // Posts the write of `res` to the strand; false if already answered.
  bool Respond(Response res) {
    if (called.exchange(true, std::memory_order_acq_rel)) return false;
    asio::post(strand, [session = std::move(session), work = std::move(work),
                        res = std::move(res)]() mutable { session->DoWrite(std::move(res)); });
    return true;
  }

  std::atomic<bool> called{false};
  std::shared_ptr<Session> session;
  asio::any_io_executor strand;
  asio::any_io_executor work;  // outstanding_work.tracked
};

Session::Session(asio::ip::tcp::socket&& socket, ServerContext* context, bool counted)
    : context_(context),
      options_(context->options),
      id_(context->next_session_id.fetch_add(1, std::memory_order_relaxed)),
      counted_(counted),
      stream_(std::move(socket)),
      read_deadline_(stream_.get_executor()) {}

Session::~Session() {
  context_->Unregister(id_);
  if (counted_) context_->open_connections.fetch_sub(1, std::memory_order_relaxed);
}

void Session::Run() {
  // The socket came from the acceptor with this session's strand as its
  // executor; start on it (Beast's advanced_server does the same).
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&Session::DoWaitForRequest, shared_from_this()));
}

void Session::Refuse() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    self->DoReject(bhttp::status::service_unavailable, "unavailable",
                   "too many connections; retry later", /*linger=*/true);
  });
}

void Session::OnShutdown() {
  // Busy sessions see shutting_down when they come to write or read next.
  if (state_ == State::kIdle) DoClose();
}

void Session::DoWaitForRequest() {
  if (closed_) return;
  state_ = State::kIdle;
  if (context_->shutting_down.load(std::memory_order_relaxed)) return DoClose();
  if (buffer_.size() > 0) return DoReadHeader();  // pipelined: already here
  stream_.expires_after(Seconds(options_.idle_timeout_seconds));
  stream_.async_read_some(buffer_.prepare(kReadChunk),
                          beast::bind_front_handler(&Session::OnFirstBytes, shared_from_this()));
}

void Session::OnFirstBytes(beast::error_code ec, size_t bytes) {
  // timeout: idle too long; eof: the client is done; operation_aborted:
  // closed by Shutdown. All end the connection without a reply.
  if (ec) return DoClose();
  buffer_.commit(bytes);
  DoReadHeader();
}

void Session::DoReadHeader() {
  state_ = State::kReading;
  read_deadline_fired_ = false;
  stream_.expires_never();  // read_deadline_ times the request instead
  read_deadline_.expires_after(Seconds(options_.read_timeout_seconds));
  read_deadline_.async_wait(
      beast::bind_front_handler(&Session::OnReadDeadline, shared_from_this()));

  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(
      std::min<size_t>(options_.header_limit, std::numeric_limits<uint32_t>::max())));
  parser_->body_limit(options_.body_limit);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&Session::OnReadHeader, shared_from_this()));
}

void Session::OnReadHeader(beast::error_code ec, size_t) {
  if (ec) return OnReadError(ec);
  // Beast also refuses an oversized Content-Length, as body_limit; checked
  // here too so the 413 never depends on how the parser reports it.
  const auto length = parser_->content_length();
  if (length && *length > options_.body_limit) return OnReadError(bhttp::error::body_limit);
  const auto& header = parser_->get();
  if (beast::iequals(header[bhttp::field::expect], "100-continue") && !parser_->is_done()) {
    return DoWriteContinue();
  }
  DoReadBody();
}

void Session::DoWriteContinue() {
  static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  stream_.expires_after(Seconds(options_.write_timeout_seconds));
  asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                    beast::bind_front_handler(&Session::OnWriteContinue, shared_from_this()));
}

void Session::OnWriteContinue(beast::error_code ec, size_t) {
  if (ec) return OnReadError(ec);
  stream_.expires_never();
  DoReadBody();
}

void Session::DoReadBody() {
  if (parser_->is_done()) return DoHandle();
  bhttp::async_read(stream_, buffer_, *parser_,
                    beast::bind_front_handler(&Session::OnReadBody, shared_from_this()));
}

void Session::OnReadBody(beast::error_code ec, size_t) {
  if (ec) return OnReadError(ec);
  DoHandle();
}

void Session::OnReadDeadline(beast::error_code ec) {
  if (ec == asio::error::operation_aborted) return;
  // A wait that completed just as the request did (or a stale one from an
  // earlier request) finds the state moved on or the expiry in the future.
  if (state_ != State::kReading ||
      read_deadline_.expiry() > asio::steady_timer::clock_type::now()) {
    return;
  }
  read_deadline_fired_ = true;
  // Cancel, not close: the 408 still has to be written.
  error_code ignored;  // cancel fails only on a closed socket: nothing to stop
  stream_.socket().cancel(ignored);
}

void Session::OnReadError(beast::error_code ec) {
  read_deadline_.cancel();
  if (read_deadline_fired_) {
    return DoReject(bhttp::status::request_timeout, "request_timeout",
                    fmt::format("request not received within {} s", options_.read_timeout_seconds),
                    /*linger=*/false);
  }
  if (ec == bhttp::error::body_limit) {
    return DoReject(bhttp::status::payload_too_large, "payload_too_large",
                    fmt::format("request body exceeds {} bytes", options_.body_limit),
                    /*linger=*/true);
  }
  if (ec == bhttp::error::header_limit) {
    return DoReject(bhttp::status::request_header_fields_too_large, "headers_too_large",
                    fmt::format("request line and headers exceed {} bytes", options_.header_limit),
                    /*linger=*/true);
  }
  // The client went away mid-request: nobody to answer.
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) return DoClose();
  if (IsBeastHttpError(ec)) {
    return DoReject(bhttp::status::bad_request, "bad_request",
                    fmt::format("malformed HTTP request: {}", ec.message()), /*linger=*/true);
  }
  DoClose();  // a socket error: the connection is unusable
}

void Session::DoHandle() {
  state_ = State::kHandling;
  read_deadline_.cancel();
  Request req = parser_->release();
  parser_.reset();
  version_ = req.version();
  keep_alive_ = req.keep_alive();

  auto pending = std::make_shared<PendingResponse>();
  pending->session = shared_from_this();
  pending->strand = stream_.get_executor();
  pending->work = asio::prefer(pending->strand, asio::execution::outstanding_work.tracked);
  Responder respond = [pending](Response res) {
    const bool first = pending->Respond(std::move(res));
    assert(first && "Responder called twice");
    (void)first;
  };

  try {
    context_->handler->Handle(std::move(req), respond);
  } catch (const std::exception& e) {
    // Handlers report failures as responses; one that throws is a bug, but
    // it must not take a server thread down. Answered unless it already was.
    std::fprintf(stderr, "streamrec http: handler threw: %s\n", e.what());
    pending->Respond(ErrorResponse(bhttp::status::internal_server_error, "internal",
                                   "the request handler failed", version_, keep_alive_));
  } catch (...) {
    std::fprintf(stderr, "streamrec http: handler threw a non-std exception\n");
    pending->Respond(ErrorResponse(bhttp::status::internal_server_error, "internal",
                                   "the request handler failed", version_, keep_alive_));
  }
}

void Session::DoWrite(Response res) {
  state_ = State::kWriting;
  // The request's version decides the keep-alive spelling (HTTP/1.0 needs
  // "Connection: keep-alive"), so read the handler's wish before setting it.
  const bool handler_keep_alive = res.keep_alive();
  res.version(version_);
  res.keep_alive(handler_keep_alive && keep_alive_ &&
                 !context_->shutting_down.load(std::memory_order_relaxed));
  if (res.find(bhttp::field::server) == res.end()) res.set(bhttp::field::server, "streamrec");
  res.prepare_payload();
  const bool close = !res.keep_alive();
  response_.emplace(std::move(res));
  stream_.expires_after(Seconds(options_.write_timeout_seconds));
  bhttp::async_write(stream_, *response_,
                     beast::bind_front_handler(&Session::OnWrite, shared_from_this(), close));
}

void Session::OnWrite(bool close, beast::error_code ec, size_t) {
  response_.reset();
  if (ec) return DoClose();  // write deadline or the client went away
  if (close) return linger_ ? DoLinger() : DoClose();
  DoWaitForRequest();
}

void Session::DoReject(bhttp::status status, std::string_view code, std::string_view message,
                       bool linger) {
  try {
    context_->handler->OnRejected(static_cast<unsigned>(status));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "streamrec http: OnRejected threw: %s\n", e.what());
  }
  parser_.reset();
  linger_ = linger;
  keep_alive_ = false;
  version_ = 11;
  DoWrite(ErrorResponse(status, code, message, version_, /*keep_alive=*/false));
}

void Session::DoLinger() {
  state_ = State::kClosing;
  error_code ignored;  // a reset peer: nothing left to drain
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(Seconds(std::min(kLingerSeconds, options_.read_timeout_seconds)));
  buffer_.clear();
  stream_.async_read_some(buffer_.prepare(kReadChunk),
                          beast::bind_front_handler(&Session::OnLinger, shared_from_this()));
}

void Session::OnLinger(beast::error_code ec, size_t) {
  if (ec) return DoClose();  // eof (the client closed), timeout, or reset
  stream_.async_read_some(buffer_.prepare(kReadChunk),
                          beast::bind_front_handler(&Session::OnLinger, shared_from_this()));
}

void Session::DoClose() {
  state_ = State::kClosing;
  if (closed_) return;
  closed_ = true;
  read_deadline_.cancel();
  error_code ignored;  // shutting down a socket the peer reset fails harmlessly
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream_.close();  // cancels a pending idle read (Shutdown)
}

}  // namespace streamrec::http
