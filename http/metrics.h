// HttpMetrics: Prometheus counters and histograms for the HTTP layer,
// lock-free (atomics in fixed arrays indexed by route and status), and the
// text exposition of them plus the store's gauges.
//
// Thread-safety: Record() from any thread; Render() from any thread (it
// reads the atomics one by one, so a scrape may see a request counted
// whose latency is not yet, which Prometheus tolerates).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "storage/live_store.h"

namespace streamrec::http {

// Route labels: the route patterns of http/api.h plus the two pseudo
// routes for requests that matched nothing and requests the transport
// refused.
enum class RouteId : uint8_t {
  kEvents,
  kRecommendations,
  kSessionRecommendations,
  kRows,
  kUserEvents,
  kDeleteUser,
  kSimilar,
  kPopular,
  kGetItem,
  kPutItem,
  kDeleteItem,
  kSnapshot,
  kRetrain,
  kStatus,
  kDrift,
  kHealthz,
  kReadyz,
  kMetrics,
  kDashboard,
  kOpenApi,
  kNotFound,   // no route matched (404/405)
  kTransport,  // refused by the transport before routing
  kCount,
};
std::string_view RouteLabel(RouteId r);  // "/v1/events", ...

class HttpMetrics {
 public:
  // Latency bucket upper bounds, seconds (plus +Inf).
  static constexpr std::array<double, 14> kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};

  void Record(RouteId route, unsigned status, double seconds);
  void RecordEvents(uint64_t accepted, uint64_t duplicates);

  // Total requests recorded for a route and status (tests).
  uint64_t requests(RouteId route, unsigned status) const;

  // Prometheus text format 0.0.4: streamrec_http_requests_total{route,
  // status}, streamrec_http_request_duration_seconds{route} (histogram),
  // streamrec_events_ingested_total, streamrec_events_duplicate_total, and
  // from `store`: streamrec_events_applied_total, streamrec_log_seq,
  // streamrec_applied_seq, streamrec_pending_events, streamrec_model_users,
  // streamrec_model_items, streamrec_model_bytes, streamrec_snapshot_seq,
  // streamrec_snapshot_age_seconds, streamrec_retrain_running, the
  // uptime and, unless drift is off, streamrec_drift_psi{dimension},
  // streamrec_drift_enough_data{dimension},
  // streamrec_drift_kl{dimension}, streamrec_drift_other_share{dimension,
  // side}, streamrec_drift_window_events, streamrec_drift_reference_events
  // and streamrec_drift_reference_frozen.
  std::string Render(const storage::LiveStatus& store) const;

 private:
  static constexpr size_t kRoutes = static_cast<size_t>(RouteId::kCount);
  static constexpr size_t kStatuses = 600;  // index = HTTP status code
  std::array<std::array<std::atomic<uint64_t>, kStatuses>, kRoutes> requests_{};
  std::array<std::array<std::atomic<uint64_t>, kBuckets.size() + 1>, kRoutes> buckets_{};
  std::array<std::atomic<uint64_t>, kRoutes> latency_sum_ns_{};
  std::atomic<uint64_t> events_ingested_{0};
  std::atomic<uint64_t> events_duplicate_{0};
};

}  // namespace streamrec::http
