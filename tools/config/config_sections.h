// The parts of tools/config/config.cc's reader that live in their own
// files: the raw values of the range-checked keys, the [server]/[api]/
// [events]/[limits] checks (config_server.cc) and the [events] type lines
// (config_events.cc). Internal to tools_config.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/program_options/option.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/event_types.h"
#include "engine/core/status.h"
#include "tools/config/config.h"
#include "tools/config/config_model.h"

namespace streamrec::tools::config_internal {

// The prefix of an [events] type line's key as Boost.Program_options reads it.
inline constexpr std::string_view kTypePrefix = "events.type.";

// Values range-checked before they reach the option structs: read as wide
// signed integers so that "-1" is an error, not 2^64-1.
struct Raw {
  int64_t port = 0, threads = 0, body_limit = 0, header_limit = 0, max_connections = 0;
  int64_t max_connections_per_address = 0, max_body_bytes_in_flight = 0;
  int64_t max_pending_events = 0, max_batch_events = 0, max_json_depth = 0, max_results = 0;
  int64_t max_future_skew_seconds = 0, max_past_age_seconds = 0;
  int64_t max_wal_mb = 0;                                   // storage.max_wal_mb
  int64_t query_threads = 0, max_query_batch = 0;           // server.*
  int64_t query_batch_min_items = 0;
  double release_memory_seconds = 0;  // server.release_memory_*
  int64_t release_memory_growth_mb = 0;
  int64_t max_id_length = 0, max_users = 0, max_items = 0;  // [limits]
  int64_t max_new_ids_per_request = 0, max_new_ids_per_second = 0;
  std::vector<std::string> keys;
  bool default_types = true;
  std::string objective = kDefaultObjective;  // model.objective, as written
  std::string topn = "auto";                   // model.topn, as written
  std::string cluster_nats;                    // cluster.nats, as written
  int64_t cluster_replicas = 3;
  int64_t min_seq_wait_ms = 0;                 // api.min_seq_wait_ms
};

// Checks the range-checked keys of [server], [api], [events] and [limits]
// in `raw` and stores them into *c; `path` prefixes messages.
Status ApplyServerAndApi(const std::string& path, const Raw& raw, Config* c);

// 1-64 letters, digits, '_' or '-': event type and API key names.
bool ValidTypeName(std::string_view name);

// Builds the event-type registry from the built-ins (unless `defaults` is
// false) and the `events.type.<name>` lines, in file order.
StatusOr<engine::EventTypes> BuildTypes(const std::string& path, bool defaults,
                                        const std::vector<boost::program_options::option>& lines);

}  // namespace streamrec::tools::config_internal
