// Server: the listener and the thread pool. Connections are served by
// Session (http/session.h).

#include "http/server.h"

#include <fmt/format.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "engine/core/thread_name.h"
#include "http/session.h"

namespace streamrec::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

// Pause before accepting again after a failed accept (EMFILE, ENOBUFS):
// retrying at once would spin while the condition lasts.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
// Connections over a limit being read for a health probe at once.
constexpr size_t kMaxRefused = 256;

// Accepts connections and hands each to a Session on a strand of its own.
// Thread-safety: everything runs on the acceptor's strand.
class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(asio::io_context& ioc, ServerContext* context)
      : ioc_(ioc),
        context_(context),
        acceptor_(asio::make_strand(ioc)),
        retry_timer_(acceptor_.get_executor()) {}

  // Binds and listens; before any thread runs, so not yet on the strand.
  Status Open(const tcp::endpoint& endpoint) {
    error_code ec;
    const auto fail = [&](std::string_view what) {
      return Status::IOError(fmt::format("http server: {} {}:{}: {}", what,
                                         endpoint.address().to_string(), endpoint.port(),
                                         ec.message()));
    };
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return fail("open");
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) return fail("set reuse_address on");
    acceptor_.bind(endpoint, ec);
    if (ec) return fail("bind");
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen on");
    const tcp::endpoint local = acceptor_.local_endpoint(ec);
    if (ec) return fail("local_endpoint of");
    port_ = local.port();
    return Status::OK();
  }

  uint16_t port() const { return port_; }

  void Run() {
    asio::dispatch(acceptor_.get_executor(),
                   beast::bind_front_handler(&Listener::DoAccept, shared_from_this()));
  }

  // From any thread.
  void Close() {
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      error_code ignored;  // closing a closed acceptor: already done
      self->acceptor_.close(ignored);
      self->retry_timer_.cancel();
    });
  }

 private:
  void DoAccept() {
    if (!acceptor_.is_open()) return;
    // Each connection gets its own strand.
    acceptor_.async_accept(asio::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::OnAccept, shared_from_this()));
  }

  void OnAccept(error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;  // Close()
    if (ec) {
      std::fprintf(stderr, "streamrec http: accept failed, retrying: %s\n", ec.message().c_str());
      retry_timer_.expires_after(kAcceptRetryDelay);
      retry_timer_.async_wait([self = shared_from_this()](error_code wait_ec) {
        if (!wait_ec) self->DoAccept();
      });
      return;
    }
    Admit(std::move(socket));
    DoAccept();
  }

  // Serves `socket`, or, over a limit, lets it ask for a health probe only.
  void Admit(tcp::socket socket) {
    error_code ec;
    const tcp::endpoint peer = socket.remote_endpoint(ec);
    if (ec) return;  // already gone: dropping the socket closes it
    std::string address;
    if (context_->options.max_connections_per_address > 0) {
      address = peer.address().to_string();
      if (!context_->AcquireAddress(address)) {
        return Refuse(std::move(socket), "too many connections from your address; retry later");
      }
    }
    if (context_->open_connections.load(std::memory_order_relaxed) >=
        context_->options.max_connections) {
      if (!address.empty()) context_->ReleaseAddress(address);
      return Refuse(std::move(socket), "too many connections; retry later");
    }
    // Only this strand adds to the count, so load-then-add cannot
    // overshoot max_connections.
    context_->open_connections.fetch_add(1, std::memory_order_relaxed);
    auto session = std::make_shared<Session>(std::move(socket), context_, /*counted=*/true,
                                             std::move(address));
    // Not registered once shutting down: dropping it closes the socket.
    if (context_->Register(session->id(), session)) session->Run();
  }

  // Refused sessions hold no slot; each lives at most one short read, a
  // write and a short linger. Past kMaxRefused of them the socket is closed
  // at once, so a flood cannot pile them up either.
  void Refuse(tcp::socket socket, std::string message) {
    if (context_->refused_connections.load(std::memory_order_relaxed) >= kMaxRefused) return;
    std::make_shared<Session>(std::move(socket), context_, /*counted=*/false, std::string())
        ->Refuse(std::move(message));
  }

  asio::io_context& ioc_;
  ServerContext* const context_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
  uint16_t port_ = 0;
};

}  // namespace

struct Server::Impl {
  Impl(const ServerOptions& options, Handler* handler)
      : context(options, handler), ioc(options.threads) {}

  // Declared first so it is destroyed last: sessions still queued in the
  // io_context are destroyed with it and unregister from `context`.
  ServerContext context;
  asio::io_context ioc;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  bool started = false;
};

StatusOr<std::unique_ptr<Server>> Server::Create(const ServerOptions& options, Handler* handler) {
  if (handler == nullptr) return Status::InvalidArgument("http server: no handler");
  if (options.threads < 1) {
    return Status::InvalidArgument(
        fmt::format("http server: threads must be at least 1, not {}", options.threads));
  }
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.address, ec);
  if (ec) {
    return Status::InvalidArgument(
        fmt::format("http server: bad address '{}': {}", options.address, ec.message()));
  }
  auto impl = std::make_unique<Impl>(options, handler);
  impl->listener = std::make_shared<Listener>(impl->ioc, &impl->context);
  STREAMREC_RETURN_IF_ERROR(impl->listener->Open(tcp::endpoint(address, options.port)));
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  Shutdown();
  Wait();
}

uint16_t Server::port() const { return impl_->listener->port(); }

void Server::Start() {
  if (impl_->started) return;
  impl_->started = true;
  impl_->listener->Run();
  const int n = impl_->context.options.threads;
  impl_->threads.reserve(n);
  for (int i = 0; i < n; ++i) {
    impl_->threads.emplace_back([ioc = &impl_->ioc] {
      engine::NameThisThread("sr-http");
      // Handlers catch what they can; anything else is logged and the
      // thread goes back to serving rather than taking the process down.
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (const std::exception& e) {
          std::fprintf(stderr, "streamrec http: server thread caught: %s\n", e.what());
        }
      }
    });
  }
}

void Server::Shutdown() {
  // Only posts: safe from a signal handler running on one of our threads.
  std::vector<std::shared_ptr<Session>> open = impl_->context.BeginShutdown();
  impl_->listener->Close();
  for (auto& session : open) {
    asio::post(session->executor(), [session] { session->OnShutdown(); });
  }
  // `open` is released here, outside the registry lock (see BeginShutdown).
}

void Server::Wait() {
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
}

size_t Server::open_connections() const {
  return impl_->context.open_connections.load(std::memory_order_relaxed);
}

}  // namespace streamrec::http
