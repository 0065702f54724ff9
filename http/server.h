// Server: the HTTP/1.1 transport on Boost.Beast + Asio, after Beast's
// async server examples. One io_context run by `threads` threads, a strand
// per connection, keep-alive, explicit body and header limits, a deadline
// on every read and write, and an idle timeout between requests. Each
// complete request goes to the Handler (http/handler.h); the transport
// itself answers only what never reaches it (413, 431, 400, 408, 501, 503),
// with the same JSON error shape.
//
// Framing is strict (RFC 9112): a Transfer-Encoding other than a lone final
// "chunked" is 400 (501 for a known coding before it) and closes the
// connection, so a body can never be read as a second request; trailer
// fields of a chunked body are dropped, never merged into the headers; an
// HTTP/1.1 request without exactly one Host is 400.
//
// Overload. Beyond max_connections, or max_connections_per_address from one
// address, a connection is still read for one request under a short
// deadline: GET /healthz and /readyz are served, so probes keep working
// while one client holds every slot; anything else gets 503.
//
// Shutdown(): stop accepting, close idle connections, let in-flight
// requests finish and their responses be written (with Connection: close),
// then the io_context runs out of work and Wait() returns.
//
// Thread-safety: Shutdown() may be called from any thread (or an Asio
// signal handler); the rest from the owning thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/core/status.h"
#include "http/handler.h"

namespace streamrec::http {

struct ServerOptions {
  // Address to bind. With no API keys configured, `streamrec serve`
  // refuses anything but loopback.
  std::string address = "127.0.0.1";
  // 0 picks an ephemeral port (tests); port() tells which.
  uint16_t port = 8080;
  // Threads running the io_context. Requests are CPU work (JSON, top-N
  // scans); ingest waits for disk off these threads.
  int threads = 2;
  // Largest request body, bytes: 413 beyond it. A 1000-event batch is
  // ~150 KB of JSON.
  size_t body_limit = 8u << 20;
  // Largest request line + headers, bytes: 431 beyond it.
  size_t header_limit = 16u << 10;
  // A request must arrive whole within this many seconds of its first
  // byte (slow-loris defence): 408 and close otherwise.
  double read_timeout_seconds = 30.0;
  // A response must be written within this many seconds.
  double write_timeout_seconds = 30.0;
  // A keep-alive connection with no request for this long is closed.
  double idle_timeout_seconds = 60.0;
  // Connections held at once; further ones are accepted and closed at once
  // (with a 503 written) so the accept queue cannot grow without bound.
  size_t max_connections = 4096;
  // Connections held at once from one client address (0: no limit), so one
  // client cannot take every slot. Behind a load balancer or proxy every
  // connection comes from its address: raise this (or 0) there.
  size_t max_connections_per_address = 1024;
  // Bytes of request bodies being read or handled at once, across all
  // connections. A request whose Content-Length (or, chunked, body_limit)
  // would pass it is answered 503 with Retry-After before its body is read,
  // so many large uploads cannot exhaust memory together.
  size_t max_body_bytes_in_flight = 256u << 20;
};

class Server {
 public:
  // Binds and listens (nothing is served until Start()). InvalidArgument for
  // a bad address, IOError if the port cannot be bound. `handler` must
  // outlive the server.
  static StatusOr<std::unique_ptr<Server>> Create(const ServerOptions& options, Handler* handler);
  ~Server();  // Shutdown() and Wait()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port (the ephemeral one if options.port was 0).
  uint16_t port() const;
  // Starts accepting on options.threads background threads.
  void Start();
  // See the class comment. Idempotent.
  void Shutdown();
  // Blocks until every server thread has exited (after Shutdown()).
  void Wait();
  // Connections open now (for /metrics and tests).
  size_t open_connections() const;

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace streamrec::http
