// Storage benchmarks behind `streamrec bench log|recovery`.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace streamrec::tools {

// Append throughput in both durability modes for each batch size.
int BenchLog(const std::string& dir, const std::vector<size_t>& batches, int threads,
             double seconds);
// Time to reopen and rebuild the model from a log of `events`, with and
// without a snapshot.
int BenchRecovery(const std::string& dir, uint64_t events, int rank);

}  // namespace streamrec::tools
