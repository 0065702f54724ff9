#include "tools/bench/bench_cluster.h"

#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "http/client.h"
#include "tools/bench/bench_util.h"
#include "tools/bench/http_load.h"
#include "tools/bench/serve_process.h"

namespace streamrec::tools {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

// The replica's /v1/admin/status, or an error.
StatusOr<json::object> ReplicaStatus(http::Client* c, const HttpBenchOptions& o) {
  auto r = c->Get("/v1/admin/status", AuthHeaders(o));
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return Status::Unavailable(fmt::format("status answered {}: {}", r->status, r->body));
  }
  json::value v = json::parse(r->body);
  if (!v.is_object() || !v.as_object().contains("cluster") ||
      !v.as_object().at("cluster").is_object()) {
    return Status::FailedPrecondition(
        "the server is not a cluster replica (no \"cluster\" status)");
  }
  return v.as_object();
}

uint64_t Field(const json::object& o, std::string_view a, std::string_view b = {}) {
  const json::value& v = b.empty() ? o.at(a) : o.at(a).at(b);
  return v.to_number<uint64_t>();
}

// ack on the first replica -> visible on the second (min_seq), and send ->
// visible, for o.lag_events single-event writes.
int MeasureLag(const ClusterBenchOptions& o, const Endpoint& writer, const Endpoint& reader) {
  http::Client w(writer.host, writer.port), r(reader.host, reader.port);
  const auto headers = AuthHeaders(o.http);
  std::vector<double> ack_ms, visible_ms, send_ms;
  uint64_t missed = 0;
  for (uint64_t k = 0; k < o.lag_events; ++k) {
    const std::string body =
        fmt::format(R"([{{"event_id":"lag-{}-{}","user":"{}{}","item":"item{}","type":"view"}}])",
                    getpid(), k, o.http.user_prefix, k % o.http.users, (k * 7919) % o.http.items);
    const auto t0 = Clock::now();
    auto ack = w.Post("/v1/events", body, headers);
    const auto t1 = Clock::now();
    if (!ack.ok() || ack->status != 200) {
      fmt::print(stderr, "bench cluster: write failed: {}\n",
                 ack.ok() ? ack->body : ack.status().ToString());
      return 1;
    }
    const uint64_t seq = json::parse(ack->body).at("last_seq").to_number<uint64_t>();
    auto seen = r.Get(fmt::format("/v1/items/popular?n=1&min_seq={}", seq), headers);
    const auto t2 = Clock::now();
    if (!seen.ok() || seen->status != 200) {
      ++missed;  // not applied within the server's min_seq_wait_ms
      continue;
    }
    send_ms.push_back(Ms(t2 - t0));
    ack_ms.push_back(Ms(t1 - t0));
    visible_ms.push_back(Ms(t2 - t1));
  }
  fmt::print("lag: {} single-event writes on {}:{}, read on {}:{} with min_seq\n", o.lag_events,
             writer.host, writer.port, reader.host, reader.port);
  fmt::print("  {:<34} {:>9} {:>9} {:>9} {:>9}\n", "ms", "p50", "p90", "p99", "max");
  PrintLatencyRow("POST on the first (ack)", ack_ms, 34);
  PrintLatencyRow("ack -> visible on the second", visible_ms, 34);
  PrintLatencyRow("send -> visible on the second", send_ms, 34);
  fmt::print("  {} of {} not visible on the second within its min_seq wait\n", missed,
             o.lag_events);
  std::fflush(stdout);
  return 0;
}

// Starts this binary's `serve` on an empty directory against o.nats and
// times it until it has applied the stream as far as the writer had.
int MeasureCatchUp(const ClusterBenchOptions& o, const Endpoint& writer) {
  http::Client w(writer.host, writer.port);
  StatusOr<json::object> before = ReplicaStatus(&w, o.http);
  if (!before.ok()) {
    fmt::print(stderr, "bench cluster: {}\n", before.status().ToString());
    return 1;
  }
  const uint64_t target = Field(*before, "cluster", "stream_last_seq");
  const uint64_t events = Field(*before, "applied_seq");
  const std::filesystem::path dir = FreshScratchDir(o.dir, "catchup");
  std::filesystem::create_directories(dir);
  const std::string conf =
      WithConfigKey(o.config.empty() ? "" : ReadTextFile(o.config), "cluster", "nats", o.nats);
  const std::string conf_path = (dir / "streamrec.conf").string();
  std::ofstream(conf_path) << conf;
  const auto t0 = Clock::now();
  auto started = ServeProcess::Start(
      {"--config", conf_path, "--port", "0", "--data-dir", (dir / "data").string()},
      (dir / "serve.log").string());
  if (!started.ok()) {
    fmt::print(stderr, "bench cluster: {}\n", started.status().message());
    return 1;
  }
  ServeProcess& serve = **started;
  int code = 1;
  const auto deadline = t0 + std::chrono::minutes(30);
  StatusOr<uint16_t> port = serve.WaitListening(deadline);
  if (!port.ok())
    fmt::print(stderr, "bench cluster: the new replica: {}\n", port.status().message());
  while (port.ok() && Clock::now() < deadline) {
    if (serve.Exited()) {
      fmt::print(stderr, "bench cluster: the new replica exited:\n{}\n", serve.ReadLog());
      break;
    }
    http::Client c("127.0.0.1", *port);
    StatusOr<json::object> s = ReplicaStatus(&c, o.http);
    if (s.ok() && Field(*s, "cluster", "applied_stream_seq") >= target) {
      const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      std::smatch image;
      const std::string log = serve.ReadLog();
      if (std::regex_search(log, image, std::regex(R"(loaded the image of seq ([0-9]+))"))) {
        // The stream was trimmed (a DELETE): the image, then the rest.
        fmt::print(
            "catch-up: a new replica from an empty data dir loaded the image of stream seq {} "
            "and applied the stream to seq {} ({} events in all) in {:.2f} s, start-up "
            "included\n",
            image[1].str(), target, events, seconds);
      } else {
        fmt::print(
            "catch-up: a new replica from an empty data dir applied {} stream messages ({} "
            "events) in {:.2f} s, start-up included: {:.0f} events/s, {:.0f} messages/s\n",
            target, events, seconds, static_cast<double>(events) / seconds,
            static_cast<double>(target) / seconds);
      }
      code = 0;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  serve.Stop(SIGTERM);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::fflush(stdout);
  return code;
}

// DELETEs o.delete_user on the writer and prints what it took: the
// forget on every replica, the image of the writer's database and the trim.
int MeasureDelete(const ClusterBenchOptions& o, const Endpoint& writer) {
  http::Client w(writer.host, writer.port);
  const auto t0 = Clock::now();
  auto r = w.Send("DELETE", "/v1/users/" + o.delete_user, {}, {}, AuthHeaders(o.http));
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (!r.ok() || r->status != 200) {
    fmt::print(stderr, "bench cluster: DELETE {}: {}\n", o.delete_user,
               r.ok() ? r->body : r.status().ToString());
    return 1;
  }
  StatusOr<json::object> s = ReplicaStatus(&w, o.http);
  if (!s.ok()) {
    fmt::print(stderr, "bench cluster: {}\n", s.status().ToString());
    return 1;
  }
  const json::object& images = s->at("cluster").at("images").as_object();
  fmt::print(
      "delete: DELETE /v1/users/{} answered in {:.0f} ms: forgotten on every replica, an image "
      "of stream seq {} ({:.1f} MB) stored and the stream trimmed through {} ({:.0f} ms of it)\n",
      o.delete_user, ms, Field(images, "last_seq"),
      static_cast<double>(Field(images, "last_bytes")) / 1e6, Field(images, "trimmed_through"),
      images.at("last_seconds").to_number<double>() * 1000);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int BenchCluster(const ClusterBenchOptions& o) {
  std::vector<Endpoint> eps;
  for (const std::string& url : o.replicas) {
    StatusOr<Endpoint> e = ParseUrl(url);
    if (!e.ok()) {
      fmt::print(stderr, "bench cluster: {}\n", e.status().message());
      return 2;
    }
    eps.push_back(*e);
  }
  for (const Endpoint& e : eps) {
    http::Client c(e.host, e.port);
    if (StatusOr<json::object> s = ReplicaStatus(&c, o.http); !s.ok()) {
      fmt::print(stderr, "bench cluster: {}:{}: {}\n", e.host, e.port, s.status().ToString());
      return 1;
    }
  }
  fmt::print("ingest through the cluster: POST on {}:{}, {} connection(s), {} s per batch size\n",
             eps[0].host, eps[0].port, o.connections, o.seconds);
  if (int rc = PrintIngestTable(o.http, eps[0], o.batches, o.connections, o.seconds); rc != 0) {
    return rc;
  }
  if (int rc = MeasureLag(o, eps[0], eps[1]); rc != 0) return rc;
  // The replicas agree once the second has applied what the first has.
  http::Client a(eps[0].host, eps[0].port), b(eps[1].host, eps[1].port);
  StatusOr<json::object> sa = ReplicaStatus(&a, o.http);
  if (sa.ok()) {
    const uint64_t seq = Field(*sa, "applied_seq");
    auto seen = b.Get(fmt::format("/v1/items/popular?n=1&min_seq={}", seq), AuthHeaders(o.http));
    auto ca = a.Get("/v1/admin/status?checksum=true", AuthHeaders(o.http));
    auto cb = b.Get("/v1/admin/status?checksum=true", AuthHeaders(o.http));
    if (seen.ok() && ca.ok() && cb.ok() && ca->status == 200 && cb->status == 200) {
      const json::value va = json::parse(ca->body), vb = json::parse(cb->body);
      fmt::print("agreement: first {} at stream seq {}, second {} at stream seq {}\n",
                 va.at("model_checksum").at("value").as_string().c_str(),
                 Field(va.as_object(), "model_checksum", "applied_stream_seq"),
                 vb.at("model_checksum").at("value").as_string().c_str(),
                 Field(vb.as_object(), "model_checksum", "applied_stream_seq"));
    }
  }
  if (!o.delete_user.empty()) {
    if (int rc = MeasureDelete(o, eps[0]); rc != 0) return rc;
  }
  if (!o.nats.empty()) return MeasureCatchUp(o, eps[0]);
  return 0;
}

}  // namespace streamrec::tools
