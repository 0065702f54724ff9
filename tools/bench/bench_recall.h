// Recall@n of what a live store serves against an exact scan of its model
// (`bench scale`'s stage 5): recommendations for users with model
// recommendations, and similar items (cosine), each over random known ids.
// And the hit rate of what it serves on the events that come after those
// it holds (a hold-out), beside the popular list's: whether the model it
// learned is worth serving, which recall against its own exact scan cannot
// say.
//
// Thread-safety: reads the store through LiveStore::Read; call it from
// one thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "storage/live_store.h"

namespace streamrec::tools {

struct ServedRecall {
  double recall = 0.0;  // of recommendations
  size_t users = 0;     // compared (cold-start users, served popular items, are skipped)
  double similar_recall = 0.0;
  size_t items = 0;
  // The top-N path served, and for the IVF index the cells a query reads
  // ([cosine]) of all and the recall its training measured (-1: none).
  std::string topn;
  uint32_t ivf_lists = 0;
  std::array<uint32_t, 2> ivf_probe{};
  std::array<float, 2> ivf_measured_recall{-1.0f, -1.0f};
};

// Up to `samples` users and `samples` items, drawn from `users` and `items`
// with `seed`: each served top-n against the exact one (engine::TopN over
// every item, scored as the served path scores).
ServedRecall MeasureServedRecall(const storage::LiveStore& store,
                                 const std::vector<std::string>& users,
                                 const std::vector<std::string>& items, size_t samples,
                                 uint64_t seed, size_t n);

// HR@n on a hold-out: a hold-out event (user, item) is scored when the
// store knows both, the user has not had the item (the seen list), and it
// is the pair's first event in the hold-out; it is a hit when the item is
// in the user's served list (RecommendForUser: the model's, or the popular
// list for a cold user), and, for the baseline, in the n most popular
// items the user has not had.
struct HoldoutHitRate {
  double served = 0.0;
  double popular = 0.0;
  size_t scored = 0;       // hold-out events scored
  size_t users = 0;        // users with one or more
  size_t model_users = 0;  // of them answered by the model (the rest: cold, popular)
};

// `holdout`: each user's hold-out items in order (duplicates allowed).
HoldoutHitRate MeasureHoldoutHitRate(
    const storage::LiveStore& store,
    const std::vector<std::pair<std::string, std::vector<std::string>>>& holdout, size_t n);

}  // namespace streamrec::tools
