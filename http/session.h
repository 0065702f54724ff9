// Session: one HTTP/1.1 connection of the Server (http/server.h), after
// Beast's advanced_server example: a beast::tcp_stream on its own strand,
// do_x/on_x pairs, one request in flight (read -> handle -> write -> read).
//
// Deadlines. Waiting for the first byte of a request is idle time
// (idle_timeout, then close silently). From that first byte the whole
// request, headers and body, must arrive within read_timeout (slow-loris
// defence: a steady_timer that cancels the read, then 408 and close).
// Every write has write_timeout (tcp_stream's own timer: close).
//
// Shutdown. An idle connection is closed at once. A request being read,
// handled or written is finished (the read still bounded by read_timeout)
// and answered with Connection: close. The Responder holds tracked work on
// the io_context, so the server threads wait for a Handler that answers
// late.
//
// Private to http/: only server.cc creates sessions.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/core/mutex.h"
#include "http/handler.h"
#include "http/server.h"

namespace streamrec::http {

class Session;

// What every session of one Server shares. Outlives the io_context and so
// every session (Server::Impl declares it first).
//
// Thread-safety: options and handler are immutable; the counters are
// atomic; the registry is guarded by `mu`.
struct ServerContext {
  ServerContext(const ServerOptions& o, Handler* h) : options(o), handler(h) {}

  // Adds `session` so Shutdown() can reach it; false once shutting down.
  bool Register(uint64_t id, const std::shared_ptr<Session>& session);
  void Unregister(uint64_t id);
  // Counts a connection from `address` against max_connections_per_address;
  // false (nothing counted) if it is at the limit.
  bool AcquireAddress(const std::string& address);
  void ReleaseAddress(const std::string& address);
  // Reserves `bytes` of max_body_bytes_in_flight; false (nothing reserved)
  // if it would pass the budget.
  bool ReserveBody(size_t bytes);
  void ReleaseBody(size_t bytes);
  // Sets `shutting_down` and returns the sessions open at that moment.
  std::vector<std::shared_ptr<Session>> BeginShutdown();

  const ServerOptions options;
  Handler* const handler;
  // Sessions counted against max_connections (not the ones refused).
  std::atomic<size_t> open_connections{0};
  std::atomic<bool> shutting_down{false};
  std::atomic<uint64_t> next_session_id{1};
  // Connections over a limit being read for a probe (see Session::Refuse).
  std::atomic<size_t> refused_connections{0};
  std::atomic<size_t> body_bytes_in_flight{0};

  Mutex mu;
  // Weak: the registry must not keep a closed connection alive.
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions GUARDED_BY(mu);
  std::unordered_map<std::string, size_t> per_address GUARDED_BY(mu);
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `counted`: holds a slot of open_connections, released on destruction.
  // `address`: the client's, counted against max_connections_per_address
  // (released on destruction) unless empty.
  Session(boost::asio::ip::tcp::socket&& socket, ServerContext* context, bool counted,
          std::string address);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  uint64_t id() const { return id_; }
  // The connection's strand; may be read from any thread.
  boost::asio::any_io_executor executor() { return stream_.get_executor(); }
  // Starts serving requests. Call once, after make_shared.
  void Run();
  // For a connection over a limit, instead of Run(): reads one request
  // under a short deadline and serves it only if it is a health probe
  // (GET /healthz or /readyz); anything else is answered 503 with
  // `message`. Then closes.
  void Refuse(std::string message);
  // Posted by Server::Shutdown onto the strand: closes the connection if it
  // is idle; otherwise the response in progress goes out with
  // Connection: close.
  void OnShutdown();

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kClosing };
  struct PendingResponse;  // what a Responder holds

  void DoWaitForRequest();
  void OnFirstBytes(boost::beast::error_code ec, size_t bytes);
  void DoReadHeader();
  void OnReadHeader(boost::beast::error_code ec, size_t bytes);
  void DoWriteContinue();
  void OnWriteContinue(boost::beast::error_code ec, size_t bytes);
  void DoReadBody();
  void OnReadBody(boost::beast::error_code ec, size_t bytes);
  void OnReadDeadline(boost::beast::error_code ec);
  void OnReadError(boost::beast::error_code ec);
  void DoHandle();
  void DoWrite(Response res);
  void OnWrite(bool close, boost::beast::error_code ec, size_t bytes);
  // A refusal the Handler never sees: counts it, writes the JSON error with
  // Connection: close, then closes (after draining what the client is still
  // sending if `linger`, so it reads the error rather than a reset).
  void DoReject(boost::beast::http::status status, std::string_view code, std::string_view message,
                bool linger);
  void DoRejectWith(Response res, bool linger);
  void DoLinger();
  void OnLinger(boost::beast::error_code ec, size_t bytes);
  void DoClose();
  // Checks the framing and limits of a header just read: false after
  // answering the request itself (a reject is under way).
  bool CheckHeader();
  // Drops trailer fields a chunked body added to the request's header.
  void DropTrailers();
  void ReleaseBody();

  ServerContext* const context_;
  const ServerOptions& options_;
  const uint64_t id_;
  const bool counted_;
  const std::string address_;  // counted per address; empty if not

  // Everything below is touched only on the strand.
  boost::beast::tcp_stream stream_;
  boost::asio::steady_timer read_deadline_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<Request::body_type>> parser_;
  std::optional<Response> response_;  // the one being written
  State state_ = State::kIdle;
  bool read_deadline_fired_ = false;
  bool linger_ = false;  // drain the connection before closing it
  bool closed_ = false;
  unsigned version_ = 11;    // of the request being served
  bool keep_alive_ = true;   // the request allows another after it
  bool probe_only_ = false;  // Refuse(): serve health probes only
  std::string refuse_message_;
  // The header of a chunked request as read, before trailers.
  std::optional<RequestHeader> chunked_header_;
  size_t body_reserved_ = 0;  // of max_body_bytes_in_flight
};

}  // namespace streamrec::http
