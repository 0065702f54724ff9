// Storage benchmarks behind `streamrec bench log|recovery`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/live/recommender.h"

namespace streamrec::tools {

// Append throughput in both durability modes for each batch size.
int BenchLog(const std::string& dir, const std::vector<size_t>& batches, int threads,
             double seconds);
// Time to reopen and rebuild the model (`options`) from a log of `events`:
// from the log alone, from a snapshot halfway, from one at its end.
int BenchRecovery(const std::string& dir, uint64_t events,
                  const engine::RecommenderOptions& options);

}  // namespace streamrec::tools
