// bench scale's figures (tools/bench/bench_scale.h): what its stages
// measure (bench_scale.cc) and the table that prints them
// (bench_scale_table.cc). Internal to those two files.
//
// Thread-safety: plain data; PrintScaleTable writes stdout.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/live/recommender.h"
#include "tools/bench/bench_crash.h"
#include "tools/bench/bench_recall.h"
#include "tools/bench/bench_scale.h"
#include "tools/bench/http_load.h"

namespace streamrec::tools {

// Events per append to the log (one fsync each under durability sync).
inline constexpr size_t kAppendBatch = 10000;
// The n of every top-n the bench reads, and of its recall and HR.
inline constexpr size_t kRecallN = 10;

// Stage 6b: a retrain while one client POSTs single events.
struct RetrainFigures {
  double seconds = 0.0;        // from Retrain() until the install was done
  double train_seconds = 0.0;  // of it, the retrain thread's (its status)
  uint64_t examples = 0;
  std::string algorithm;
  double rss_before_mb = 0.0, peak_mb = 0.0, rss_after_mb = 0.0;  // peak 0: not measured
  LoadTotals writes;  // the single-event POSTs meanwhile
};

struct ScaleFigures {
  uint64_t last_seq = 0;  // of the stream in the log
  double append_seconds = 0.0;
  double log_recovery_seconds = 0.0;
  double rss_mb = 0.0, peak_rss_mb = 0.0, raw_mb = 0.0;
  double log_mb = 0.0;            // the event log's memtables, table readers and block cache
  uint64_t users = 0, items = 0;  // known to the model after recovery
  double snapshot_seconds = 0.0, snapshot_recovery_seconds = 0.0;
  // Of snapshot_seconds, the encode (with its waits on the store): what a
  // scheduled snapshot holds the model thread for.
  double snapshot_encode_seconds = 0.0;
  double snapshot_rss_mb = 0.0;  // after recovery from the snapshot
  // Peak RSS while the snapshot was written, and while the store reopened
  // from it (each from a reset peak; 0: the kernel could not reset it).
  double snapshot_write_peak_mb = 0.0, snapshot_open_peak_mb = 0.0;
  double heap_mb = 0.0, snapshot_heap_mb = 0.0;  // malloc's bytes in use, at the two RSS reads
  LoadTotals recommendations, similar, ingest;
  std::string ingest_cpu;  // CpuPerUnit over the ingest stage
  // RSS and malloc's bytes in use after it: ingest copies user pages,
  // grows rows and fills memtables, none of which the reads above see.
  double ingest_rss_mb = 0.0, ingest_heap_mb = 0.0;
  // The engine's parts and the event log's memory after it: where the
  // growth went.
  std::vector<engine::MemoryPart> ingest_memory;
  double ingest_log_mb = 0.0;
  int ingest_connections = 0;
  size_t ingest_batch = 0;
  double recall = 0.0;
  size_t recall_users = 0;
  double similar_recall = 0.0;  // the same for similar items (cosine)
  size_t similar_recall_items = 0;
  // The top-N path served, and for the IVF index the cells a query reads
  // of all and the recall its training measured (-1: none measured).
  std::string topn;
  uint32_t ivf_lists = 0;
  std::array<uint32_t, 2> ivf_probe{};  // [cosine]
  std::array<float, 2> ivf_measured_recall{-1.0f, -1.0f};
  uint64_t holdout_events = 0;
  HoldoutHitRate holdout;
  std::vector<engine::MemoryPart> memory;  // one engine copy's, after recovery
  std::optional<RetrainFigures> retrain;   // stage 6b, if run
  std::optional<CrashFigures> crash;       // stage 7, if run
};

// The table of every figure, on stdout.
void PrintScaleTable(const ScaleBenchOptions& o, const ScaleFigures& f);

}  // namespace streamrec::tools
