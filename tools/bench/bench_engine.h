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
// rating, implicit and BPR objectives. Returns the exit code.
int BenchLearner(uint64_t events, uint32_t users, uint32_t items, int rank, uint64_t seed);

// For each catalog size in `sizes`: `queries` single top-`n` queries
// (latency percentiles), then the same queries in batches of each size in
// `batches` (sizes <= 1 skipped). Returns the exit code (1 if a scan
// returned nothing).
int BenchTopN(const std::vector<uint32_t>& sizes, int rank, size_t n, size_t queries,
              const std::vector<size_t>& batches, uint64_t seed);

}  // namespace streamrec::tools
