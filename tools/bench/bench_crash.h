// bench scale's crash stage: what a server that dies under ingest costs at
// its next start, measured rather than computed.
//
// The store bench scale holds open is closed and this binary's `serve`
// opens it as a child process, with the configured snapshot schedule (the
// bench's own server runs without one, UseForBenchmark). Durable ingest
// runs against it; after `seconds` the child is killed with SIGKILL, with
// requests in flight, and the store is opened again here, timed. The
// figures: the events acknowledged, the snapshots the killed server wrote,
// the reopen's time and how much of it was log replayed after the newest
// snapshot, and whether every acknowledged event came back.
//
// Thread-safety: CrashUnderIngest runs threads of its own; call it from
// one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/core/status.h"
#include "tools/bench/bench_http.h"
#include "tools/bench/http_load.h"
#include "tools/config/config.h"

namespace streamrec::tools {

struct CrashOptions {
  // What the reopen here runs (the bench's own: UseForBenchmark's).
  Config config;
  // The configuration file the child serves with: its text (empty: the
  // built-in defaults) and the rank to serve at (replaces a rank line, or
  // is added), so that the child's model is the store's.
  std::string config_text;
  int rank = 64;
  // The ingest: ids and API key, batch size, connections, seconds until the
  // kill.
  HttpBenchOptions ingest;
  size_t batch = 1000;
  int connections = 4;
  double seconds = 20.0;
  // An existing directory for the child's configuration file and log.
  std::string scratch = "/tmp";
};

struct CrashFigures {
  uint64_t seq_at_start = 0;        // applied when the child opened the store
  double child_open_seconds = 0.0;  // from its start until it listened
  double ingest_seconds = 0.0;      // from the first request to the kill
  uint64_t acked_events = 0;
  uint64_t acked_seq = 0;  // the highest last_seq acknowledged
  uint64_t failed = 0;     // requests not answered 200 (those in flight at the kill)
  std::string first_error;
  // The child's resident set and its event log's share of it (RocksDB's
  // memtables and caches), from its /v1/admin/status: once it listened
  // (the store opened from the snapshot the bench's close wrote, and no
  // request served yet) and just before the kill. The server alone in its
  // process: the bench's own RSS also holds what its earlier stages left.
  uint64_t open_resident_bytes = 0, open_log_bytes = 0;
  uint64_t kill_resident_bytes = 0, kill_log_bytes = 0;
  // From the child's /v1/admin/status just before the kill.
  uint64_t scheduled_snapshots = 0;  // written by the child, on its schedule
  // Events between the store's newest two snapshots when the child was
  // killed (the child's, and the one it opened from; 0: it wrote none):
  // about the most log a crash just before the next one would replay.
  uint64_t snapshot_gap = 0;
  // The reopen after the kill.
  double recovery_seconds = 0.0;
  double model_recovery_seconds = 0.0;  // of it, the model's (snapshot and log replay)
  uint64_t snapshot_seq = 0;            // the snapshot it started from
  uint64_t replayed = 0;                // events of the log applied after it
  uint64_t recovered_seq = 0;
  std::string snapshot_skipped;
  // Acknowledged events the reopened store lacks: seqs in
  // (recovered_seq, acked_seq]. Must be 0.
  uint64_t lost = 0;
};

// Runs the stage on the store s->store (open; its server is stopped first)
// and leaves s->store reopened after the kill. An error if the child could
// not be started or the store not reopened; lost events are a figure, not
// an error (the caller decides).
StatusOr<CrashFigures> CrashUnderIngest(const CrashOptions& options, ScratchServer* s);

}  // namespace streamrec::tools
