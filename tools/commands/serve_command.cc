// `streamrec serve`: the engine as an HTTP service. Opens the database
// (LiveStore: snapshot + log tail), serves the API (http/api.h) until
// SIGINT or SIGTERM, then shuts down in order: stop taking requests and
// finish those in flight, then close the store (which writes a snapshot),
// so the next start replays nothing.
//
// Signals: SIGINT and SIGTERM are blocked before any thread exists, so every
// thread inherits the mask and only the main thread's sigwait() sees them;
// no handler ever runs in the middle of the server's code. A second signal
// during shutdown exits at once (the log is durable, so nothing
// acknowledged is lost; the next start replays it).
#include <arpa/inet.h>
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>

#include <boost/program_options.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "http/api.h"
#include "http/auth.h"
#include "http/server.h"
#include "storage/jetstream/jetstream_log.h"
#include "storage/live_store.h"
#include "storage/replica_image.h"
#include "tools/cli/command_line.h"
#include "tools/commands/commands.h"
#include "tools/config/config.h"

namespace streamrec::tools {
namespace {

namespace po = boost::program_options;

constexpr const char* kHelp =
    "streamrec serve: the recommendation engine as an HTTP service\n\n"
    "  streamrec serve [--config config/streamrec.conf] [--port 8080] [--data-dir DIR]\n\n"
    "Serves the HTTP API (README.md, \"Serving\") on the database in --data-dir\n"
    "(created if missing) until SIGINT or SIGTERM, then finishes the requests in\n"
    "flight, writes a snapshot and exits 0. Settings come from --config ([server],\n"
    "[api], [events], [storage], [model], ...); the flags below override it.\n"
    "API keys also come from $STREAMREC_API_KEYS (NAME:SCOPES:SECRET, ...).\n"
    "Without keys, authentication is off and only a loopback address is allowed.\n\n"
    "Exit status: 0 after a clean shutdown, 1 if the database cannot be opened or\n"
    "the port bound, 2 for bad flags or configuration.\n\nOptions";

constexpr std::string_view kServe = "serve";

// Prints a line on stdout at once: tests and scripts wait for these.
template <typename... Args>
void Say(fmt::format_string<Args...> f, Args&&... args) {
  fmt::print(stdout, "streamrec: {}\n", fmt::format(f, std::forward<Args>(args)...));
  std::fflush(stdout);
}

// 127.0.0.0/8, ::1, ::ffff:127.x.y.z, or "localhost".
bool IsLoopback(const std::string& address) {
  if (address == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, address.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

std::string HostForUrl(const std::string& address) {
  return address.find(':') != std::string::npos ? fmt::format("[{}]", address) : address;
}

std::string RecoveryLine(const storage::LiveStatus& s) {
  const storage::RecoveryResult& r = s.recovery;
  std::string how;
  if (r.snapshot_seq > 0) {
    how = fmt::format("snapshot at seq {} + {} events replayed", r.snapshot_seq, r.replayed);
    if (!r.snapshot_skipped.empty()) how += fmt::format(" (newer skipped: {})", r.snapshot_skipped);
  } else if (!r.snapshot_skipped.empty()) {
    how = fmt::format("{} events replayed (snapshot skipped: {})", r.replayed, r.snapshot_skipped);
  } else {
    how = fmt::format("{} events replayed (no snapshot)", r.replayed);
  }
  return fmt::format(
      "model: {} objective, {} users, {} items, seq {}, rank {}; recovered in {:.3f} s from {}",
      engine::ObjectiveName(s.objective), s.users, s.items, s.applied_seq, s.rank, r.seconds, how);
}

struct ServeFlags {
  std::string config_path;  // empty: built-in defaults
  // Overrides of the configuration, each applied only when given.
  std::string address;
  int port = -1;
  std::string data_dir;
  int threads = 0;
  bool address_given = false;
  bool port_given = false;
  bool data_dir_given = false;
  bool threads_given = false;
};

// Returns the exit code to stop with, or nullopt to go on.
std::optional<int> ParseServe(int argc, const char* const* argv, ServeFlags* f) {
  po::options_description desc(kHelp);
  desc.add_options()("help,h", "show this help")("config", po::value(&f->config_path),
                                                 "configuration file (default: built-in defaults)")(
      "address", po::value(&f->address), "address to bind (overrides [server] address)")(
      "port", po::value(&f->port), "TCP port, 0 for an ephemeral one (overrides [server] port)")(
      "data-dir", po::value(&f->data_dir), "database directory (overrides [server] data_dir)")(
      "threads", po::value(&f->threads), "HTTP server threads (overrides [server] threads)");
  po::variables_map vm;
  if (auto rc = ParseCommandLine(kServe, argc, argv, desc, nullptr, &vm)) return rc;
  f->address_given = vm.count("address") > 0;
  f->port_given = vm.count("port") > 0;
  f->data_dir_given = vm.count("data-dir") > 0;
  f->threads_given = vm.count("threads") > 0;
  return std::nullopt;
}

// The flags over the configuration (--config, $STREAMREC_API_KEYS).
StatusOr<Config> ApplyServeFlags(const ServeFlags& f) {
  Config config = DefaultConfig();
  if (!f.config_path.empty()) {
    StatusOr<Config> loaded = LoadConfig(f.config_path);
    if (!loaded.ok()) return Status::InvalidArgument(loaded.status().message());
    config = std::move(loaded).value();
  }
  if (Status st = ApplyApiKeysFromEnv(&config); !st.ok()) {
    return Status::InvalidArgument(st.message());
  }
  if (Status st = http::ValidateApiKeys(config.api.keys); !st.ok()) {
    return Status::InvalidArgument(st.message());
  }
  if (f.address_given) {
    if (f.address.empty()) return Status::InvalidArgument("--address must not be empty");
    config.server.address = f.address;
  }
  if (f.port_given) {
    if (f.port < 0 || f.port > 65535)
      return Status::InvalidArgument("--port must be in [0, 65535]");
    config.server.port = static_cast<uint16_t>(f.port);
  }
  if (f.data_dir_given) {
    if (f.data_dir.empty()) return Status::InvalidArgument("--data-dir must not be empty");
    config.data_dir = f.data_dir;
  }
  if (f.threads_given) {
    if (f.threads < 1 || f.threads > 1024) {
      return Status::InvalidArgument("--threads must be in [1, 1024]");
    }
    config.server.threads = f.threads;
  }
  return config;
}

// The configuration to serve with. Every problem is bad usage
// (InvalidArgument, exit 2), whatever its code.
StatusOr<Config> ValidateServe(const ServeFlags& f) {
  StatusOr<Config> config = ApplyServeFlags(f);
  if (!config.ok()) return config;
  // eval and replay may train any algorithm; the server's retrain must fit
  // its live model, and a config that says otherwise is refused at start
  // rather than at the first retrain.
  if (Status st = storage::CheckRetrainAlgorithm(config->recommender.objective,
                                                 config->live.training.algorithm);
      !st.ok()) {
    return Status::InvalidArgument(
        fmt::format("{} ([model] objective = {})", st.message(),
                    engine::ObjectiveName(config->recommender.objective)));
  }
  if (config->api.keys.empty() && !IsLoopback(config->server.address)) {
    return Status::InvalidArgument(fmt::format(
        "refusing to serve on '{}' without API keys: anyone who can reach it could write and "
        "delete data. Configure keys ([api] keys or ${}) or bind a loopback address "
        "(--address 127.0.0.1)",
        config->server.address, kApiKeysEnv));
  }
  return config;
}

// Waits for SIGINT/SIGTERM (blocked in every thread); returns its number.
int WaitForSignal(const sigset_t& set) {
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

// SIGINT and SIGTERM, blocked in the calling thread (and so in every thread
// started after).
sigset_t BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// What the server serves, once it listens. "listening on" comes last:
// tests and scripts wait for it, and then every other line is there.
void Announce(const Config& config, const storage::LiveStore& store, uint16_t port) {
  Say("data dir {}; {}", config.data_dir, RecoveryLine(store.status()));
  Say("event types: {}", config.types.Names());
  if (const storage::LiveStatus s = store.status(); s.cluster.enabled) {
    Say("cluster: {}; applied through stream seq {}", s.cluster.stream,
        s.cluster.applied_stream_seq);
  }
  if (config.api.keys.empty()) {
    Say("auth off: no API keys configured, so serving on loopback only");
  } else {
    std::string names;
    for (const http::ApiKey& k : config.api.keys) {
      names += fmt::format("{}{} ({})", names.empty() ? "" : ", ", k.name, ScopeNames(k.scopes));
    }
    Say("auth on: {} API key(s): {}", config.api.keys.size(), names);
  }
  Say("listening on http://{}:{}", HostForUrl(config.server.address), port);
}

// Closes the store (its final snapshot); returns the exit code.
int CloseStore(storage::LiveStore* store) {
  Status closed = store->Close();
  if (!closed.ok()) {
    fmt::print(stderr, "streamrec serve: closing the database: {}\n", closed.message());
    return kExitFailure;
  }
  const storage::LiveStatus s = store->status();
  Say("stopped: log at seq {}, snapshot at seq {}, database closed", s.durable_seq, s.snapshot_seq);
  return kExitOk;
}

// Serves until the first of `signals`; returns the exit code.
int ExecuteServe(const Config& config, const sigset_t& signals) {
  storage::LiveStoreOptions live = config.live;
  if (config.cluster.enabled()) {
    storage::JetStreamOptions js;
    js.urls = config.cluster.nats;
    js.stream = config.cluster.stream;
    js.replicas = config.cluster.replicas;
    js.publish_timeout = std::chrono::milliseconds(
        static_cast<int64_t>(config.cluster.publish_timeout_seconds * 1000));
    auto log = storage::JetStreamLog::Open(js);
    if (!log.ok()) {
      fmt::print(stderr, "streamrec serve: cannot join the cluster: {}\n", log.status().message());
      return kExitFailure;
    }
    live.cluster = std::shared_ptr<storage::ReplicatedLog>(std::move(log).value());
    live.cluster_take_in_wait = std::chrono::milliseconds(
        static_cast<int64_t>(config.cluster.apply_timeout_seconds * 1000));
    // Behind where the stream now starts (new, or down while a DELETE
    // trimmed it): the newest image replaces the local database.
    auto image = storage::LoadImageIfBehind(live.cluster.get(), config.data_dir, live.store.log);
    if (!image.ok()) {
      fmt::print(stderr, "streamrec serve: cannot catch up with the cluster: {}\n",
                 image.status().message());
      return kExitFailure;
    }
    if (image->loaded) {
      Say("cluster: the stream starts at seq {} (this database was at {}): loaded the image of "
          "seq {} ({} files, {:.1f} MB) in {:.1f} s",
          image->stream_first, image->local_seq, image->image.seq, image->image.files,
          image->image.bytes / 1e6, image->seconds);
    }
  }
  auto store = storage::LiveStore::Open(config.data_dir, live, config.recommender, config.types);
  if (!store.ok()) {
    fmt::print(stderr, "streamrec serve: cannot open database '{}': {}\n", config.data_dir,
               store.status().message());
    return kExitFailure;
  }
  auto api = std::make_unique<http::Api>(store->get(), config.api);
  auto server = http::Server::Create(config.server, api.get());
  if (!server.ok()) {
    fmt::print(stderr, "streamrec serve: cannot listen on {}:{}: {}\n", config.server.address,
               config.server.port, server.status().message());
    Status closed = (*store)->Close();
    if (!closed.ok()) fmt::print(stderr, "streamrec serve: closing: {}\n", closed.message());
    return server.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  (*server)->Start();
  Announce(config, **store, (*server)->port());

  const int sig = WaitForSignal(signals);
  Say("{}: shutting down (finishing requests in flight, then a snapshot)",
      sig == SIGINT ? "SIGINT" : "SIGTERM");
  // A second signal: the operator will not wait. Nothing acknowledged is
  // lost (the log is durable); the next start replays what the snapshot
  // lacks.
  std::thread([signals] {
    WaitForSignal(signals);
    fmt::print(stderr, "streamrec serve: second signal, exiting without a snapshot\n");
    std::_Exit(1);
  }).detach();
  // Shutdown order (http/session.cc, PendingResponse): stop accepting and
  // close idle connections; Wait() returns only when every request has
  // been answered and the store has dropped every callback the API gave it
  // (each holds tracked work on the server's io_context), so nothing of the
  // HTTP layer is left in the store when the server is destroyed; then the
  // API; then the store, which writes its final snapshot.
  (*server)->Shutdown();
  (*server)->Wait();
  server->reset();
  api.reset();
  return CloseStore(store->get());
}

}  // namespace

int RunServe(int argc, const char* const* argv) {
  // Before any thread starts (the store's and the server's inherit it).
  const sigset_t signals = BlockShutdownSignals();
  ServeFlags f;
  if (auto rc = ParseServe(argc, argv, &f)) return *rc;
  StatusOr<Config> config = ValidateServe(f);
  if (!config.ok()) return Fail(kServe, config.status());
  return ExecuteServe(*config, signals);
}

}  // namespace streamrec::tools
