// `streamrec bench scale` (issue 11): the figures that decide whether one
// process holds a catalogue of a given size, measured in one process on one
// fixed-seed synthetic stream (500k users x 100k items x 5M events by
// default):
//   1. append: the stream written to a fresh event log, in the configured
//      durability (events/s; generation not timed);
//   2. recovery from the log alone (LiveStore::Open, no snapshot), then the
//      process's RSS and peak RSS against the raw factors, (users + items)
//      x rank x 4 bytes;
//   3. a snapshot written, the store closed and reopened from it;
//   4. the real HTTP server over that store, driven by keep-alive client
//      connections: recommendations for random known users, then similar
//      items for random items (req/s, latency percentiles);
//   5. recall@10 of Recommender::RecommendForUser against an exact top-10
//      computed here with engine::TopN over the model's item factors, for
//      ~1000 random users that get model recommendations; and HR@10 of the
//      served lists on the stream's next events (a hold-out the store never
//      saw), beside the popular list's: recall says the index serves what
//      the model ranks, the hold-out whether the model ranks well;
//   6. durable ingest over HTTP, batches of 1000 events for known ids;
//   6b. with --retrain: a batch retrain of the whole log (LiveStore::
//      Retrain, the configured algorithm) while one client POSTs single
//      events: its time, the process's peak RSS while it ran, and how long
//      those writes waited (the install holds the model thread);
//   7. a crash under ingest (bench_crash.h): the store served by a child
//      process on the configured snapshot schedule, killed with SIGKILL
//      under that ingest, and reopened here: its recovery time, the log it
//      replayed after the newest snapshot, and the acknowledged events it
//      lacks (must be none).
// It prints progress to stderr and one table (figure | value) to stdout,
// and removes its database afterwards.
//
// Thread-safety: BenchScale runs threads of its own; call it from one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "tools/config/config.h"

namespace streamrec::tools {

struct ScaleBenchOptions {
  // The synthetic stream (tools/data/synthetic.h): ids user<k>, item<j>.
  uint32_t users = 500'000;
  uint32_t items = 100'000;
  uint64_t events = 5'000'000;
  uint64_t seed = 1;
  // Model, durability, HTTP threads and limits: a loaded --config, or the
  // built-in defaults (those of config/streamrec.conf). BenchScale runs it
  // as UseForBenchmark (tools/bench/http_load.h) says.
  Config config = DefaultConfig();
  // The text `config` was loaded from (empty: the defaults): the crash
  // stage's server process reads it, with config's rank.
  std::string config_text;
  // An existing directory; the database goes in a subdirectory of it.
  std::string dir = "/tmp";
  // Client connections of the read load (the ingest uses a quarter of
  // them, at least 2) and seconds per load.
  int connections = 16;
  double seconds = 10.0;
  // Users whose recommendations the recall check compares (fewer when the
  // stream has fewer users with model recommendations).
  size_t recall_users = 1000;
  // Events of the stream after the loaded ones that the hold-out check
  // scores (0: events / 10, at most 500k), for at most holdout_users of
  // their users (the first to appear).
  uint64_t holdout_events = 0;
  size_t holdout_users = 20'000;
  // Seconds of ingest before the crash stage's kill (0: no crash stage),
  // and the API key it sends when the configuration has keys (the server
  // it kills enforces them): one with the write and admin scopes.
  double crash_seconds = 20.0;
  std::string crash_api_key;
  // Stage 6b: a retrain under single-event writes (off by default: minutes
  // at the default size).
  bool retrain = false;
};

// Runs the stages (6b and 7 as asked) and prints the table. Returns the exit code: 0, or 1
// if a stage failed or a load saw errors (the first one is printed).
int BenchScale(const ScaleBenchOptions& options);

}  // namespace streamrec::tools
