#include "http/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>

#include "engine/live/drift.h"

namespace streamrec::http {
namespace {

// Taken when the program is loaded: what the uptime gauge counts from.
const std::chrono::steady_clock::time_point kProcessStart = std::chrono::steady_clock::now();

// The method a route serves, rendered as a label so that the three routes
// on /v1/items/{item} stay three series; empty for the pseudo routes.
std::string_view RouteMethod(RouteId r) {
  switch (r) {
    case RouteId::kEvents:
    case RouteId::kSessionRecommendations:
    case RouteId::kSnapshot:
    case RouteId::kRetrain:
      return "POST";
    case RouteId::kPutItem:
      return "PUT";
    case RouteId::kDeleteUser:
    case RouteId::kDeleteItem:
      return "DELETE";
    case RouteId::kRecommendations:
    case RouteId::kRows:
    case RouteId::kUserEvents:
    case RouteId::kSimilar:
    case RouteId::kPopular:
    case RouteId::kGetItem:
    case RouteId::kStatus:
    case RouteId::kDrift:
    case RouteId::kHealthz:
    case RouteId::kReadyz:
    case RouteId::kMetrics:
    case RouteId::kDashboard:
    case RouteId::kOpenApi:
      return "GET";
    case RouteId::kNotFound:
    case RouteId::kTransport:
    case RouteId::kCount:
      break;
  }
  return {};
}

std::string Labels(RouteId r) {
  const std::string_view method = RouteMethod(r);
  if (method.empty()) return fmt::format("route=\"{}\"", RouteLabel(r));
  return fmt::format("route=\"{}\",method=\"{}\"", RouteLabel(r), method);
}

void Header(std::string* out, std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

template <typename T>
void Sample(std::string* out, std::string_view name, std::string_view type, std::string_view help,
            T value) {
  Header(out, name, type, help);
  fmt::format_to(std::back_inserter(*out), "{} {}\n", name, value);
}

// A gauge value as Prometheus spells it (fmt writes "inf").
std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

void RenderDrift(const storage::LiveDriftStatus& d, std::string* out) {
  auto it = std::back_inserter(*out);
  const auto& dims = d.report.dimensions;
  Header(out, "streamrec_drift_psi", "gauge",
         "Population stability index of the recent window against the drift reference "
         "(< 0.1 stable, > 0.25 major shift; 0 until the reference is complete).");
  for (const engine::DimensionDrift& x : dims) {
    fmt::format_to(it, "streamrec_drift_psi{{dimension=\"{}\"}} {}\n",
                   engine::DriftDimensionName(x.dimension), Number(x.psi));
  }
  Header(out, "streamrec_drift_enough_data", "gauge",
         "1 when the window holds enough events for its PSI to tell drift from chance (the PSI "
         "two samples of one distribution show at these sizes is at most 0.05); alert on "
         "streamrec_drift_psi only where this is 1.");
  for (const engine::DimensionDrift& x : dims) {
    fmt::format_to(it, "streamrec_drift_enough_data{{dimension=\"{}\"}} {}\n",
                   engine::DriftDimensionName(x.dimension), x.enough_data ? 1 : 0);
  }
  Header(out, "streamrec_drift_kl", "gauge",
         "KL divergence (nats) of the recent window from the drift reference.");
  for (const engine::DimensionDrift& x : dims) {
    fmt::format_to(it, "streamrec_drift_kl{{dimension=\"{}\"}} {}\n",
                   engine::DriftDimensionName(x.dimension), Number(x.kl));
  }
  Header(out, "streamrec_drift_other_share", "gauge",
         "Share of events in the shared \"other\" bucket (values outside the reference's "
         "top_n), in the reference and in the recent window.");
  for (const engine::DimensionDrift& x : dims) {
    const std::string_view name = engine::DriftDimensionName(x.dimension);
    fmt::format_to(it, "streamrec_drift_other_share{{dimension=\"{}\",side=\"reference\"}} {}\n",
                   name, Number(x.other_reference));
    fmt::format_to(it, "streamrec_drift_other_share{{dimension=\"{}\",side=\"window\"}} {}\n", name,
                   Number(x.other_window));
  }
  Sample(out, "streamrec_drift_window_events", "gauge",
         "Events in the drift window compared with the reference (up to its size).",
         d.report.window_events);
  Sample(out, "streamrec_drift_reference_events", "gauge",
         "Events in the drift reference (a fresh server's grows to reference_events, then "
         "freezes).",
         d.reference_events);
  Sample(out, "streamrec_drift_reference_frozen", "gauge",
         "1 once the drift reference is complete and the window is compared with it.",
         d.frozen ? 1 : 0);
}

}  // namespace

std::string_view RouteLabel(RouteId r) {
  switch (r) {
    case RouteId::kEvents:
      return "/v1/events";
    case RouteId::kRecommendations:
      return "/v1/users/{user}/recommendations";
    case RouteId::kSessionRecommendations:
      return "/v1/recommendations";
    case RouteId::kRows:
      return "/v1/users/{user}/rows";
    case RouteId::kUserEvents:
      return "/v1/users/{user}/events";
    case RouteId::kDeleteUser:
      return "/v1/users/{user}";
    case RouteId::kSimilar:
      return "/v1/items/{item}/similar";
    case RouteId::kPopular:
      return "/v1/items/popular";
    case RouteId::kGetItem:
    case RouteId::kPutItem:
    case RouteId::kDeleteItem:
      return "/v1/items/{item}";
    case RouteId::kSnapshot:
      return "/v1/admin/snapshot";
    case RouteId::kRetrain:
      return "/v1/admin/retrain";
    case RouteId::kStatus:
      return "/v1/admin/status";
    case RouteId::kDrift:
      return "/v1/admin/drift";
    case RouteId::kHealthz:
      return "/healthz";
    case RouteId::kReadyz:
      return "/readyz";
    case RouteId::kMetrics:
      return "/metrics";
    case RouteId::kDashboard:
      return "/dashboard";
    case RouteId::kOpenApi:
      return "/openapi.json";
    case RouteId::kNotFound:
      return "unmatched";
    case RouteId::kTransport:
      return "transport";
    case RouteId::kCount:
      break;
  }
  return "unknown";
}

void HttpMetrics::Record(RouteId route, unsigned status, double seconds) {
  const size_t r = std::min(static_cast<size_t>(route), kRoutes - 1);
  const size_t s = std::min<size_t>(status, kStatuses - 1);
  requests_[r][s].fetch_add(1, std::memory_order_relaxed);
  if (!(seconds >= 0.0)) seconds = 0.0;  // NaN or a clock that went back
  const size_t b = std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds) - kBuckets.begin();
  buckets_[r][b].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_[r].fetch_add(static_cast<uint64_t>(std::llround(seconds * 1e9)),
                               std::memory_order_relaxed);
}

void HttpMetrics::RecordEvents(uint64_t accepted, uint64_t duplicates) {
  events_ingested_.fetch_add(accepted, std::memory_order_relaxed);
  events_duplicate_.fetch_add(duplicates, std::memory_order_relaxed);
}

uint64_t HttpMetrics::requests(RouteId route, unsigned status) const {
  const size_t r = std::min(static_cast<size_t>(route), kRoutes - 1);
  return requests_[r][std::min<size_t>(status, kStatuses - 1)].load(std::memory_order_relaxed);
}

std::string HttpMetrics::Render(const storage::LiveStatus& store) const {
  std::string out;
  out.reserve(8192);
  auto it = std::back_inserter(out);

  Header(&out, "streamrec_http_requests_total", "counter",
         "HTTP requests answered, by route, method and status.");
  for (size_t r = 0; r < kRoutes; ++r) {
    const std::string labels = Labels(static_cast<RouteId>(r));
    for (size_t s = 0; s < kStatuses; ++s) {
      const uint64_t n = requests_[r][s].load(std::memory_order_relaxed);
      if (n != 0)
        fmt::format_to(it, "streamrec_http_requests_total{{{},status=\"{}\"}} {}\n", labels, s, n);
    }
  }

  // The transport's refusals carry no latency: no histogram for them.
  Header(&out, "streamrec_http_request_duration_seconds", "histogram",
         "Time from a request reaching the API to its response being handed to the transport.");
  for (size_t r = 0; r < kRoutes; ++r) {
    if (static_cast<RouteId>(r) == RouteId::kTransport) continue;
    uint64_t cumulative = 0;
    std::array<uint64_t, kBuckets.size() + 1> counts;
    for (size_t b = 0; b < counts.size(); ++b) {
      counts[b] = buckets_[r][b].load(std::memory_order_relaxed);
    }
    uint64_t total = 0;
    for (uint64_t c : counts) total += c;
    if (total == 0) continue;
    const std::string labels = Labels(static_cast<RouteId>(r));
    for (size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += counts[b];
      fmt::format_to(it, "streamrec_http_request_duration_seconds_bucket{{{},le=\"{}\"}} {}\n",
                     labels, kBuckets[b], cumulative);
    }
    fmt::format_to(it, "streamrec_http_request_duration_seconds_bucket{{{},le=\"+Inf\"}} {}\n",
                   labels, total);
    fmt::format_to(it, "streamrec_http_request_duration_seconds_sum{{{}}} {}\n", labels,
                   static_cast<double>(latency_sum_ns_[r].load(std::memory_order_relaxed)) * 1e-9);
    fmt::format_to(it, "streamrec_http_request_duration_seconds_count{{{}}} {}\n", labels, total);
  }

  Sample(&out, "streamrec_events_ingested_total", "counter",
         "Events newly stored through POST /v1/events.",
         events_ingested_.load(std::memory_order_relaxed));
  Sample(&out, "streamrec_events_duplicate_total", "counter",
         "Events whose event_id was already stored with the same payload.",
         events_duplicate_.load(std::memory_order_relaxed));
  Sample(&out, "streamrec_events_applied_total", "counter",
         "Events the served model has learned from since it was built.", store.events_applied);
  Sample(&out, "streamrec_log_seq", "gauge", "Newest event seq in the durable log.",
         store.durable_seq);
  Sample(&out, "streamrec_applied_seq", "gauge", "Newest event seq visible to readers.",
         store.applied_seq);
  Sample(&out, "streamrec_pending_events", "gauge", "Events accepted but not yet acknowledged.",
         store.pending_events);
  Sample(&out, "streamrec_model_users", "gauge", "Users the model knows.", store.users);
  Sample(&out, "streamrec_model_items", "gauge", "Items the model knows.", store.items);
  Sample(&out, "streamrec_catalog_items", "gauge", "Items with metadata in the catalog.",
         store.catalog_items);
  Sample(&out, "streamrec_model_bytes", "gauge", "Bytes of one copy of the model's factors.",
         store.model_bytes);
  Sample(&out, "streamrec_log_memory_bytes", "gauge",
         "Bytes the event log holds in memory (memtables, table readers, block cache).",
         store.log_memory_bytes);
  Sample(&out, "streamrec_resident_bytes", "gauge", "The process's resident set, bytes.",
         store.memory.resident_bytes);
  Sample(&out, "streamrec_memory_releases_total", "counter",
         "Times freed heap memory was given back to the system (malloc_trim) since start.",
         store.memory.releases);
  Sample(&out, "streamrec_memory_released_bytes_total", "counter",
         "Resident bytes those releases gave back since start.", store.memory.released_bytes);
  Sample(&out, "streamrec_memory_release_max_seconds", "gauge",
         "The longest release's pause since start (threads allocating meanwhile wait).",
         store.memory.max_seconds);
  Sample(&out, "streamrec_snapshot_seq", "gauge", "Seq of the newest snapshot (0: none).",
         store.snapshot_seq);
  Sample(&out, "streamrec_snapshot_age_seconds", "gauge",
         "Seconds since the newest snapshot was written or loaded (-1: none).",
         store.snapshot_age_seconds);
  Sample(&out, "streamrec_snapshots_written_total", "counter", "Snapshots written since start.",
         store.snapshots_written);
  Sample(&out, "streamrec_retrain_running", "gauge", "1 while a batch retrain runs.",
         store.retrain.state == storage::RetrainState::kRunning ? 1 : 0);
  Sample(&out, "streamrec_retrain_runs_total", "counter", "Batch retrains started since start.",
         store.retrain.runs);
  if (store.drift.enabled) RenderDrift(store.drift, &out);  // absent when drift is off
  Sample(&out, "streamrec_store_read_only", "gauge",
         "1 while the database refuses writes after a disk error (see /v1/admin/status "
         "store.reason); they resume by themselves.",
         store.store.read_only ? 1 : 0);
  Sample(&out, "streamrec_store_errors_total", "counter",
         "Times the database stopped writes for a disk error since start.", store.store.errors);
  Sample(&out, "streamrec_purges_total", "counter",
         "Purges (flush + compaction of deleted users' key ranges) since start.",
         store.store.purges);
  Sample(&out, "streamrec_up", "gauge", "1 while the store takes writes, 0 once closed.",
         store.closed ? 0 : 1);
  Sample(&out, "streamrec_uptime_seconds", "gauge", "Seconds since the process started.",
         std::chrono::duration<double>(std::chrono::steady_clock::now() - kProcessStart).count());
  return out;
}

}  // namespace streamrec::http
