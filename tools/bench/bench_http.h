// Benchmarks of the whole service over HTTP, behind `streamrec bench
// freshness|ingest`: what an application sees, JSON, sockets, the log's
// fsync and the model thread included. Each runs against a server at --url,
// or against one it starts itself (LiveStore + Api + Server on a temporary
// database, preloaded with a synthetic stream, removed afterwards).
//
// Thread-safety: the functions run their own threads; call from one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace streamrec::tools {

struct HttpBenchOptions {
  // "host:port" (or "http://host:port") of a running server. Empty: start
  // one on 127.0.0.1 with an ephemeral port.
  std::string url;
  // Sent as "Authorization: Bearer <key>" if non-empty (a server with keys
  // needs read+write).
  std::string api_key;
  // Own server only: where its temporary database goes, its durability
  // modes ("sync", "process"; one run per mode), events of the synthetic
  // stream loaded before measuring, HTTP threads and model rank.
  std::string dir = "/tmp";
  std::vector<std::string> durability = {"sync"};
  uint64_t preload_events = 100000;
  int server_threads = 2;
  int rank = 64;
  // Users the requests are spread over: ids user_prefix + k, k < users
  // (the synthetic stream's ids by default).
  std::string user_prefix = "user";
  uint32_t users = 5000;
  uint32_t items = 2000;
  // With --url: take users and items from the server's status (its known
  // ids) where the caller did not set them, so that a run against a large
  // store spreads its events as the store's own stream did, not over its
  // first 5,000 users (whose rows then grow long and slow the model step
  // the run measures). Kept as above where the status cannot be read.
  bool users_from_server = false;
  bool items_from_server = false;
};

// The users and items a server's GET /v1/admin/status body reports
// ("users", "items"); nullopt for either that it lacks or that is 0.
struct ServerCounts {
  std::optional<uint32_t> users;
  std::optional<uint32_t> items;
};
ServerCounts ParseServerCounts(const std::string& status_body);

// For `events` iterations: take an item from a user's recommendations,
// POST one event for it (a batch of 1) and, as soon as the 200 arrives, GET
// the user's recommendations until they reflect it (seq >= the ack's
// last_seq and the item gone, since seen items are excluded). Prints the
// ack->visible and send->visible latency percentiles and how many GETs
// needed a retry. Returns the exit code.
int BenchFreshness(const HttpBenchOptions& options, uint64_t events);

// Durable ingest over HTTP: `connections` client threads, each with its
// own keep-alive connection, POST batches of each size for `seconds`.
// Prints events/s and request latency p50/p99 per batch size and
// durability mode. Returns the exit code.
int BenchIngest(const HttpBenchOptions& options, const std::vector<size_t>& batches,
                int connections, double seconds);

// The read features against plain recommendations, in one run: each of
// plain, explain=true, rows, an anonymous session (POST, 5 history items),
// diversity=0.3 and max_per_category=2 for `seconds` with `connections`
// client threads over random users. Prints req/s and p50/p99 per feature
// and what each adds to plain's p50/p99. Returns the exit code.
int BenchFeatures(const HttpBenchOptions& options, int connections, double seconds);

}  // namespace streamrec::tools
