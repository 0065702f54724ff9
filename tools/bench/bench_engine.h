// Engine micro-benchmarks behind `streamrec bench learner|apply|topn`:
// throughput of the online learner, the live model thread's apply path at
// size, and latency of exact top-N, the latter next to what a full read of
// the item matrix costs at this machine's measured memory bandwidth.
// Synthetic data only; results go to stdout.
//
// Thread-safety: the functions run on the calling thread; call from one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/event_types.h"
#include "engine/live/recommender.h"

namespace streamrec::tools {

// Applies `events` random ratings of `users` x `items` with rank-`rank`
// factors: the dense learner step, then Recommender::Apply under the
// rating, implicit and BPR objectives, `repeat` times on fresh models
// (the median and the range are shown: this machine's runs spread by
// ~10%). Returns the exit code.
int BenchLearner(uint64_t events, uint32_t users, uint32_t items, int rank, uint64_t seed,
                 int repeat = 1);

// `bench apply`: the live model thread's work per event, without the log
// or HTTP around it. `preload` events of the fixed-seed synthetic stream
// (users x items, tools/data/synthetic.h: skewed users and items) are
// replayed into a recommender as recovery does (ReplayPipeline), a second
// copy is made as LiveStore::Open makes it (the first's state, pages
// shared, one implicit updater), and the stream's next `events` are
// applied in runs of `run` the way the model thread applies a run of
// appends: each to the standby copy (Recommender::Apply), then each to the
// other (ApplyFollowing, FinishFollowing), the copies swapping roles per
// run as Left-Right's do. Prints the replay's rate and the thread CPU per
// event of each copy's part. Returns the exit code.
struct ApplyBenchOptions {
  engine::RecommenderOptions recommender;  // the configuration's
  engine::EventTypes types = engine::EventTypes::Defaults();
  uint32_t users = 500'000;
  uint32_t items = 100'000;
  uint64_t preload = 5'000'000;
  uint64_t events = 500'000;
  size_t run = 1000;
  uint64_t seed = 1;
};
int BenchApply(const ApplyBenchOptions& options);

struct TopNBenchOptions {
  std::vector<uint32_t> sizes;  // catalog sizes
  int rank = 64;
  size_t n = 10;
  size_t queries = 200;
  std::vector<size_t> batches;
  uint64_t seed = 1;
  // Clustered vectors (taste clusters, as trained factors have) instead of
  // Gaussian ones, which no index can partition (the hard case).
  bool clustered = false;
  // IVF cells read per query, one run each; empty: the default.
  std::vector<uint32_t> probes;
};

// For each catalog size: `queries` single top-`n` queries (latency
// percentiles), then the same queries in batches of each size in `batches`
// (sizes <= 1 skipped), for the exact scan, the int8 pass and the IVF
// index, with the recall of the last two. Returns the exit code (1 if a
// scan returned nothing).
int BenchTopN(const TopNBenchOptions& options);

}  // namespace streamrec::tools
