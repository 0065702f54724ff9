// Synthetic event streams with planted structure, from a fixed seed: for the
// demo and for tests that must not depend on MovieLens.
//
// Items fall into `clusters` (their category, "c<k>"); each user has a
// favourite cluster. An event picks a user (skewed activity), then the
// favourite cluster with probability `loyalty` or a random one, then an item
// of that cluster (Zipf-skewed popularity). Ratings are high inside the
// favourite cluster and low outside; implicit types follow a funnel (many
// views, few purchases). Timestamps increase by `step_ms` per event.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tools/data/event_file.h"

namespace streamrec::tools {

struct SyntheticOptions {
  uint32_t users = 5000;
  uint32_t items = 2000;
  uint64_t events = 100000;
  uint32_t clusters = 10;
  double loyalty = 0.7;          // P(event in the user's favourite cluster)
  double rating_fraction = 0.5;  // share of events that are ratings
  uint64_t seed = 1;
  int64_t start_ms = 1'700'000'000'000;
  int64_t step_ms = 1000;
};

std::vector<EventRecord> GenerateSynthetic(const SyntheticOptions& options);
// The same stream, one event at a time and never held whole (bench scale's
// millions of events): fn(event) for each, in order.
void ForEachSynthetic(const SyntheticOptions& options, const std::function<void(EventRecord)>& fn);

// The planted ground truth, for tests and the demo's explanations.
uint32_t SyntheticFavouriteCluster(const SyntheticOptions& options, uint32_t user);
uint32_t SyntheticItemCluster(const SyntheticOptions& options, uint32_t item);
std::string SyntheticUserId(uint32_t user);
std::string SyntheticItemId(uint32_t item);

}  // namespace streamrec::tools
