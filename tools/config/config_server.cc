// The checks of the range-checked keys ([server], [api], [events],
// [limits]) and their conversion into the option structs.
#include <fmt/format.h>

#include <chrono>
#include <limits>
#include <utility>

#include "tools/config/config_sections.h"

namespace streamrec::tools::config_internal {

namespace {

// Checks lo <= v <= hi; the message names file and key.
Status InRange(const std::string& path, std::string_view key, int64_t v, int64_t lo, int64_t hi) {
  if (v >= lo && v <= hi) return Status::OK();
  return Status::InvalidArgument(
      fmt::format("{}: {} must be in [{}, {}], got {}", path, key, lo, hi, v));
}

}  // namespace

Status ApplyServerAndApi(const std::string& path, const Raw& raw, Config* c) {
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  constexpr int64_t kCentury = int64_t{100} * 366 * 86400;
  for (const Status& st : {
           InRange(path, "server.port", raw.port, 0, 65535),
           InRange(path, "server.threads", raw.threads, 1, 1024),
           InRange(path, "server.query_threads", raw.query_threads, 0, 1024),
           InRange(path, "server.max_query_batch", raw.max_query_batch, 1, 4096),
           InRange(path, "server.query_batch_min_items", raw.query_batch_min_items, 0, kMax),
           InRange(path, "server.body_limit", raw.body_limit, 1, int64_t{1} << 32),
           InRange(path, "server.header_limit", raw.header_limit, 1, int64_t{1} << 24),
           InRange(path, "server.max_connections", raw.max_connections, 1, kMax),
           InRange(path, "server.max_connections_per_address", raw.max_connections_per_address, 0,
                   kMax),
           InRange(path, "server.max_body_bytes_in_flight", raw.max_body_bytes_in_flight, 1,
                   int64_t{1} << 40),
           InRange(path, "server.max_pending_events", raw.max_pending_events, 1, kMax),
           InRange(path, "server.release_memory_growth_mb", raw.release_memory_growth_mb, 1,
                   int64_t{1} << 30),
           InRange(path, "api.max_batch_events", raw.max_batch_events, 1, kMax),
           InRange(path, "api.max_json_depth", raw.max_json_depth, 2, 1000),
           InRange(path, "api.max_results", raw.max_results, 1, kMax),
           // -1: no bound; at most a century either way.
           InRange(path, "events.max_future_skew_seconds", raw.max_future_skew_seconds, -1,
                   kCentury),
           InRange(path, "events.max_past_age_seconds", raw.max_past_age_seconds, 0, kCentury),
           InRange(path, "limits.max_id_length", raw.max_id_length, 1,
                   static_cast<int64_t>(engine::RecommenderOptions{}.max_id_length)),
           // Row indices are 32-bit (engine/core/id_map.h); 0: no cap.
           InRange(path, "limits.max_users", raw.max_users, 0, kMax),
           InRange(path, "limits.max_items", raw.max_items, 0, kMax),
           InRange(path, "limits.max_new_ids_per_request", raw.max_new_ids_per_request, 0, kMax),
           InRange(path, "limits.max_new_ids_per_second", raw.max_new_ids_per_second, 0, kMax),
       }) {
    if (!st.ok()) return st;
  }
  http::ServerOptions& s = c->server;
  for (auto [key, v] : {std::pair<std::string_view, double>{"read", s.read_timeout_seconds},
                        {"write", s.write_timeout_seconds},
                        {"idle", s.idle_timeout_seconds}}) {
    if (!(v > 0) || v > 86400) {
      return Status::InvalidArgument(
          fmt::format("{}: server.{}_timeout_seconds must be in (0, 86400]", path, key));
    }
  }
  // Kept in whole milliseconds: a value between 0 and 0.001 would round to
  // 0 and turn the releaser off without saying so.
  if (!(raw.release_memory_seconds >= 0) || raw.release_memory_seconds > 86400 ||
      (raw.release_memory_seconds > 0 && raw.release_memory_seconds < 0.001)) {
    return Status::InvalidArgument(fmt::format(
        "{}: server.release_memory_seconds must be 0 (never) or in [0.001, 86400]", path));
  }
  if (s.address.empty()) {
    return Status::InvalidArgument(fmt::format("{}: server.address must not be empty", path));
  }
  if (c->data_dir.empty()) {
    return Status::InvalidArgument(fmt::format("{}: server.data_dir must not be empty", path));
  }
  s.port = static_cast<uint16_t>(raw.port);
  s.threads = static_cast<int>(raw.threads);
  c->api.batching.threads = static_cast<int>(raw.query_threads);
  c->api.batching.max_batch = static_cast<size_t>(raw.max_query_batch);
  c->api.batching.min_items = static_cast<uint32_t>(raw.query_batch_min_items);
  s.body_limit = static_cast<size_t>(raw.body_limit);
  s.header_limit = static_cast<size_t>(raw.header_limit);
  s.max_connections = static_cast<size_t>(raw.max_connections);
  s.max_connections_per_address = static_cast<size_t>(raw.max_connections_per_address);
  s.max_body_bytes_in_flight = static_cast<size_t>(raw.max_body_bytes_in_flight);
  c->live.max_pending_events = static_cast<size_t>(raw.max_pending_events);
  c->live.memory.interval =
      std::chrono::milliseconds(static_cast<int64_t>(raw.release_memory_seconds * 1000));
  c->live.memory.min_growth_bytes = static_cast<uint64_t>(raw.release_memory_growth_mb) << 20;
  c->api.max_batch_events = static_cast<size_t>(raw.max_batch_events);
  c->api.max_json_depth = static_cast<int>(raw.max_json_depth);
  c->api.max_results = static_cast<size_t>(raw.max_results);
  c->api.max_future_skew_seconds = raw.max_future_skew_seconds;
  c->api.max_past_age_seconds = raw.max_past_age_seconds;
  c->api.max_id_length = static_cast<size_t>(raw.max_id_length);
  storage::IdLimits& ids = c->live.ids;
  ids.max_users = static_cast<uint64_t>(raw.max_users);
  ids.max_items = static_cast<uint64_t>(raw.max_items);
  ids.max_new_ids_per_request = static_cast<uint64_t>(raw.max_new_ids_per_request);
  ids.max_new_ids_per_second = static_cast<uint64_t>(raw.max_new_ids_per_second);
  if (ids.max_new_ids_per_second && ids.max_new_ids_per_request > ids.max_new_ids_per_second) {
    // A batch the bucket can never hold would get "retry shortly" forever.
    return Status::InvalidArgument(fmt::format(
        "{}: limits.max_new_ids_per_request ({}) must not exceed max_new_ids_per_second ({})", path,
        ids.max_new_ids_per_request, ids.max_new_ids_per_second));
  }
  if (ids.max_new_ids_per_second && ids.max_new_ids_per_request == 0) {
    ids.max_new_ids_per_request = ids.max_new_ids_per_second;
  }
  for (const std::string& spec : raw.keys) {
    auto keys = ParseApiKeys(spec, fmt::format("{}: api.keys", path));
    if (!keys.ok()) return keys.status();
    MergeApiKeys(std::move(keys).value(), &c->api.keys);
  }
  return Status::OK();
}

}  // namespace streamrec::tools::config_internal
