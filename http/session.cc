// Session (http/session.h): one connection's read -> check -> handle ->
// write cycle. ~480 lines in one file on purpose: the do_x/on_x pairs of one
// state machine read top to bottom, as in Beast's advanced server example.
// ServerContext, which the sessions share, is in server_context.cc.
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
#include <cctype>
#include <chrono>
#include <cstdio>
#include <exception>
#include <iterator>
#include <limits>
#include <string>
#include <utility>
#include <vector>

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
// How long a connection over a limit may take to send its one request.
constexpr double kProbeReadSeconds = 2.0;
// Retry-After, seconds, on the transport's own 503s.
constexpr std::string_view kRetryAfterSeconds = "1";
// Content codings RFC 9110 registers: a body sent with one is 501 (we do
// not decode them), anything else unknown is 400.
constexpr std::string_view kKnownCodings[] = {"gzip", "x-gzip", "deflate", "compress",
                                              "x-compress"};
// Read size while waiting for a request's first bytes, and while draining.
constexpr size_t kReadChunk = 4096;

bool IsBeastHttpError(const error_code& ec) {
  return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category();
}

}  // namespace

// ---- Session -------------------------------------------------------------

// The Responder's state, shared by every copy of the Responder the Handler
// (and through it the store) holds.
//
// Ownership and shutdown order. A PendingResponse keeps tracked work on the
// io_context from the moment the request is handed to the Handler until the
// last copy of its Responder is destroyed, not merely called: the store may
// drop a callback well after running it (a queued op freed later on its own
// thread). So the server threads keep running, and Server::Wait() keeps
// waiting, until nothing outside the server holds any executor or handler of
// it; only then can ~Server destroy the io_context. Members are destroyed in
// reverse order, so the strand reference goes before the work guard that
// lets the io_context stop.
//
// The first call posts the write and moves the session out; later calls are
// refused. A Responder dropped uncalled (a Handler bug) answers 500 rather
// than leave the client hanging.
struct Session::PendingResponse {
  ~PendingResponse() {
    if (!session) return;
    asio::post(strand, [session = std::move(session)] {
      session->DoWrite(ErrorResponse(bhttp::status::internal_server_error, "internal",
                                     "the request was dropped without a response", 11, false));
    });
  }

  // Posts the write of `res` to the strand; false if already answered.
  bool Respond(Response res) {
    if (called.exchange(true, std::memory_order_acq_rel)) return false;
    asio::post(strand, [session = std::move(session), res = std::move(res)]() mutable {
      session->DoWrite(std::move(res));
    });
    return true;
  }

  // Declared first, destroyed last: see the comment above.
  asio::any_io_executor work;  // outstanding_work.tracked
  std::atomic<bool> called{false};
  std::shared_ptr<Session> session;
  asio::any_io_executor strand;
};

Session::Session(asio::ip::tcp::socket&& socket, ServerContext* context, bool counted,
                 std::string address)
    : context_(context),
      options_(context->options),
      id_(context->next_session_id.fetch_add(1, std::memory_order_relaxed)),
      counted_(counted),
      address_(std::move(address)),
      stream_(std::move(socket)),
      read_deadline_(stream_.get_executor()) {}

Session::~Session() {
  context_->Unregister(id_);
  ReleaseBody();
  if (counted_) context_->open_connections.fetch_sub(1, std::memory_order_relaxed);
  if (!address_.empty()) context_->ReleaseAddress(address_);
  if (probe_only_) context_->refused_connections.fetch_sub(1, std::memory_order_relaxed);
}

void Session::Run() {
  // The socket came from the acceptor with this session's strand as its
  // executor; start on it (Beast's advanced_server does the same).
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&Session::DoWaitForRequest, shared_from_this()));
}

void Session::Refuse(std::string message) {
  probe_only_ = true;
  refuse_message_ = std::move(message);
  context_->refused_connections.fetch_add(1, std::memory_order_relaxed);
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&Session::DoReadHeader, shared_from_this()));
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
  read_deadline_.expires_after(
      Seconds(probe_only_ ? std::min(kProbeReadSeconds, options_.read_timeout_seconds)
                          : options_.read_timeout_seconds));
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
  if (!CheckHeader()) return;
  const auto& header = parser_->get();
  if (beast::iequals(header[bhttp::field::expect], "100-continue") && !parser_->is_done()) {
    return DoWriteContinue();
  }
  DoReadBody();
}

bool Session::CheckHeader() {
  const auto& header = parser_->get();
  const auto bad = [&](std::string message) {
    DoReject(bhttp::status::bad_request, "bad_request", message, /*linger=*/true);
    return false;
  };
  // RFC 9112 3.2: exactly one Host in an HTTP/1.1 request.
  if (header.version() >= 11) {
    const size_t hosts = header.count(bhttp::field::host);
    if (hosts == 0) return bad("an HTTP/1.1 request must carry a Host header");
    if (hosts > 1) return bad("more than one Host header");
  }
  // RFC 9112 6.1 and 6.3: only a final "chunked" frames a request body. Any
  // other Transfer-Encoding would leave the body to be read as the next
  // request (smuggling), so it is refused and the connection closed.
  std::vector<std::string> codings;
  const auto te = header.equal_range(bhttp::field::transfer_encoding);
  for (auto it = te.first; it != te.second; ++it) {
    std::string_view rest = it->value();
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      std::string_view coding = rest.substr(0, std::min(comma, rest.find(';')));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t')) {
        coding.remove_prefix(1);
      }
      while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t')) {
        coding.remove_suffix(1);
      }
      if (coding.empty()) continue;
      std::string lower(coding.substr(0, 40));
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      codings.push_back(std::move(lower));
    }
  }
  if (te.first != te.second) {
    if (codings.empty() || codings.back() != "chunked") {
      return bad("Transfer-Encoding must end in 'chunked'");
    }
    for (size_t i = 0; i + 1 < codings.size(); ++i) {
      const std::string& c = codings[i];
      if (std::find(std::begin(kKnownCodings), std::end(kKnownCodings), c) ==
          std::end(kKnownCodings)) {
        return bad(fmt::format("unknown Transfer-Encoding '{}'", c));
      }
      DoReject(bhttp::status::not_implemented, "not_implemented",
               fmt::format("Transfer-Encoding '{}' is not supported; send the body "
                           "with 'chunked' alone",
                           c),
               /*linger=*/true);
      return false;
    }
    chunked_header_.emplace(header.base());  // DropTrailers restores it
  }
  if (probe_only_) {
    const std::string_view target = header.target();
    const std::string_view path = target.substr(0, target.find('?'));
    if (header.method() == bhttp::verb::get && (path == "/healthz" || path == "/readyz")) {
      return true;
    }
    DoReject(bhttp::status::service_unavailable, "unavailable", refuse_message_,
             /*linger=*/true);
    return false;
  }
  if (parser_->is_done()) return true;  // no body follows
  // Before a byte of the body: the Handler's own check (authentication),
  // then the budget for bodies in flight.
  std::optional<Response> early;
  try {
    early = context_->handler->CheckHeader(header);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "streamrec http: CheckHeader threw: %s\n", e.what());
    early = ErrorResponse(bhttp::status::internal_server_error, "internal",
                          "the request handler failed", version_, false);
  }
  if (early) {
    DoRejectWith(std::move(*early), /*linger=*/true);
    return false;
  }
  const auto length = parser_->content_length();
  const size_t want = length ? static_cast<size_t>(*length) : options_.body_limit;
  if (!context_->ReserveBody(want)) {
    DoReject(bhttp::status::service_unavailable, "unavailable",
             "the server is receiving too many request bodies at once; retry later",
             /*linger=*/true);
    return false;
  }
  body_reserved_ = want;
  return true;
}

void Session::DropTrailers() {
  if (!chunked_header_) return;
  // Trailer fields (RFC 9112 7.1.2) are merged into the header by the
  // parser; none of them may act as a header (a key in a trailer must not
  // authenticate), so the header read before the body is put back.
  parser_->get().base() = std::move(*chunked_header_);
  chunked_header_.reset();
}

void Session::ReleaseBody() {
  if (body_reserved_ == 0) return;
  context_->ReleaseBody(body_reserved_);
  body_reserved_ = 0;
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
  DropTrailers();
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
  // Cancel, not close: the 408 still has to be written. The cancel stops
  // only a read pending now; between two reads of the header (one just
  // completed, its handler queued) it stops nothing, and the next read
  // would wait for the client. Shutting the receiving side makes every
  // later read end at once, so the 408 goes out either way.
  error_code ignored;  // both fail only on a closed socket: nothing to stop
  stream_.socket().cancel(ignored);
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_receive, ignored);
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
  // The request, body included, was moved into Handle and is gone with it.
  ReleaseBody();
}

void Session::DoWrite(Response res) {
  state_ = State::kWriting;
  // The request's version decides the keep-alive spelling (HTTP/1.0 needs
  // "Connection: keep-alive"), so read the handler's wish before setting it.
  const bool handler_keep_alive = res.keep_alive();
  res.version(version_);
  res.keep_alive(handler_keep_alive && keep_alive_ && !probe_only_ &&
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
  Response res = ErrorResponse(status, code, message, 11, /*keep_alive=*/false);
  if (status == bhttp::status::service_unavailable) {
    res.set(bhttp::field::retry_after, kRetryAfterSeconds);
  }
  DoRejectWith(std::move(res), linger);
}

void Session::DoRejectWith(Response res, bool linger) {
  parser_.reset();
  chunked_header_.reset();
  ReleaseBody();
  linger_ = linger;
  keep_alive_ = false;
  version_ = 11;
  res.keep_alive(false);
  DoWrite(std::move(res));
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
  ReleaseBody();
  read_deadline_.cancel();
  error_code ignored;  // shutting down a socket the peer reset fails harmlessly
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream_.close();  // cancels a pending idle read (Shutdown)
}

}  // namespace streamrec::http
