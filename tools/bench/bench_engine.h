// Engine micro-benchmarks behind `streamrec bench learner|topn`: throughput
// of the online learner and latency of exact top-N, the latter next to what
// a full read of the item matrix costs at this machine's measured memory
// bandwidth. Synthetic data only; results go to stdout.
//
// Thread-safety: the functions run on the calling thread; call from one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace streamrec::tools {

// Applies `events` random ratings of `users` x `items` with rank-`rank`
// factors: the dense learner step, then Recommender::Apply under the
// rating, implicit and BPR objectives, `repeat` times on fresh models
// (the median and the range are shown: this machine's runs spread by
// ~10%). Returns the exit code.
int BenchLearner(uint64_t events, uint32_t users, uint32_t items, int rank, uint64_t seed,
                 int repeat = 1);

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
