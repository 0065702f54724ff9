#include "tools/bench/bench_crash.h"

#include <fmt/format.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "http/client.h"
#include "tools/bench/bench_util.h"
#include "tools/bench/serve_process.h"

namespace streamrec::tools {
namespace {

namespace json = boost::json;

// Removes a directory on every path out.
struct RemovedAfter {
  std::filesystem::path dir;
  ~RemovedAfter() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

// The highest "last_seq" of the acknowledgements seen by each connection.
class AckedSeqs {
 public:
  explicit AckedSeqs(int connections) : per_(connections, 0) {}
  // Called by connection c's thread only.
  void Note(int c, const std::string& body) {
    boost::system::error_code ec;
    const json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return;
    const json::value* seq = v.as_object().if_contains("last_seq");
    if (seq != nullptr && seq->is_number()) {
      per_[c] = std::max(per_[c], seq->to_number<uint64_t>());
    }
  }
  // After the connections have finished.
  uint64_t Max() const { return *std::max_element(per_.begin(), per_.end()); }

 private:
  std::vector<uint64_t> per_;
};

// The child's /v1/admin/status.
StatusOr<json::value> ChildStatus(const Endpoint& ep, const HttpBenchOptions& o) {
  http::Client c(ep.host, ep.port);
  auto r = c.Get("/v1/admin/status", AuthHeaders(o));
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return Status::Unavailable(fmt::format("status answered {}: {:.200}", r->status, r->body));
  }
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec || !v.is_object()) return Status::Internal("status answered no JSON object");
  return v;
}

// The child's resident bytes and its event log's, from its status `v`.
Status MemoryFrom(const json::value& v, uint64_t* resident, uint64_t* log) {
  try {
    *resident = v.at("memory").at("resident_bytes").to_number<uint64_t>();
    *log = v.at("log_memory_bytes").to_number<uint64_t>();
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("status answered no memory figures: {}", e.what()));
  }
  return Status::OK();
}

// The snapshots the child wrote, and its memory, from its status.
Status ReadChildStatus(const Endpoint& ep, const HttpBenchOptions& o, CrashFigures* f) {
  StatusOr<json::value> status = ChildStatus(ep, o);
  if (!status.ok()) return status.status();
  const json::value& v = *status;
  STREAMREC_RETURN_IF_ERROR(MemoryFrom(v, &f->kill_resident_bytes, &f->kill_log_bytes));
  try {
    f->scheduled_snapshots = 0;
    const json::array& history = v.at("snapshot_history").as_array();
    for (const json::value& x : history) {
      if (x.at("reason").as_string() == "schedule") ++f->scheduled_snapshots;
    }
    // The store's newest two: the child's, after the one it opened from
    // (written by the close before it started, at seq_at_start).
    std::vector<uint64_t> seqs = {f->seq_at_start};
    for (const json::value& x : history) seqs.push_back(x.at("seq").to_number<uint64_t>());
    f->snapshot_gap = seqs.size() >= 2 ? seqs.back() - seqs[seqs.size() - 2] : 0;
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("status answered no snapshot history: {}", e.what()));
  }
  return Status::OK();
}

}  // namespace

StatusOr<CrashFigures> CrashUnderIngest(const CrashOptions& o, ScratchServer* s) {
  CrashFigures f;
  s->StopServer();
  f.seq_at_start = s->store->status().applied_seq;
  STREAMREC_RETURN_IF_ERROR(s->store->Close());
  s->store.reset();

  const RemovedAfter aside{FreshScratchDir(o.scratch, "scale-crash")};
  std::filesystem::create_directories(aside.dir);
  const std::string conf = (aside.dir / "streamrec.conf").string();
  std::ofstream(conf) << WithConfigKey(o.config_text, "model", "rank", std::to_string(o.rank));
  const auto t0 = BenchClock::now();
  // The bench talks to its servers without a key: keys from the
  // environment would lock it out.
  auto child = ServeProcess::Start(
      {"--config", conf, "--address", "127.0.0.1", "--port", "0", "--data-dir", s->dir.string()},
      (aside.dir / "serve.log").string(), {kApiKeysEnv});
  if (!child.ok()) return child.status();
  StatusOr<uint16_t> port = (*child)->WaitListening(t0 + std::chrono::minutes(30));
  if (!port.ok()) return port.status();
  f.child_open_seconds = Since(t0);
  const Endpoint ep{"127.0.0.1", *port};
  {
    StatusOr<json::value> opened = ChildStatus(ep, o.ingest);
    if (!opened.ok()) return opened.status();
    STREAMREC_RETURN_IF_ERROR(MemoryFrom(*opened, &f.open_resident_bytes, &f.open_log_bytes));
  }

  AckedSeqs acked(o.connections);
  std::atomic<bool> stop{false};
  LoadHooks hooks;
  hooks.on_ok = [&acked](int c, const std::string& body) { acked.Note(c, body); };
  hooks.stop = &stop;
  const auto started = BenchClock::now();
  // The load's own deadline is far off: the kill ends it.
  auto load = std::async(std::launch::async, [&] {
    return IngestLoad(o.ingest, ep, o.batch, o.connections, o.seconds + 3600, hooks);
  });
  std::this_thread::sleep_until(started + std::chrono::duration_cast<BenchClock::duration>(
                                              std::chrono::duration<double>(o.seconds)));
  const Status read = ReadChildStatus(ep, o.ingest, &f);
  // The connections send nothing after the kill, where a refused connect
  // would read as a request cut off; those waiting on an answer are.
  stop.store(true);
  (*child)->Stop(SIGKILL);
  f.ingest_seconds = Since(started);
  const LoadTotals t = load.get();
  if (!read.ok()) return read;
  f.acked_events = t.units;
  f.failed = t.errors;
  f.first_error = t.first_error;
  f.acked_seq = acked.Max();

  const auto t1 = BenchClock::now();
  auto store = storage::LiveStore::Open(s->dir.string(), o.config.live, o.config.recommender,
                                        o.config.types);
  if (!store.ok()) return store.status();
  f.recovery_seconds = Since(t1);
  s->store = std::move(store).value();
  const storage::LiveStatus st = s->store->status();
  f.snapshot_seq = st.recovery.snapshot_seq;
  f.replayed = st.recovery.replayed;
  f.model_recovery_seconds = st.recovery.seconds;
  f.recovered_seq = st.applied_seq;
  f.snapshot_skipped = st.recovery.snapshot_skipped;
  f.lost = f.acked_seq > f.recovered_seq ? f.acked_seq - f.recovered_seq : 0;
  return f;
}

}  // namespace streamrec::tools
