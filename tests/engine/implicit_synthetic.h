// Seeded implicit-feedback data with planted structure, for the iALS, BPR
// and online implicit tests: which items a user touches (not how they rate
// them) carries the signal, so a ranking model can beat popularity only by
// learning it.
//
// Users and items each belong to one of `clusters` tastes. A user interacts
// with each item of their cluster with probability in_cluster and with each
// other item with probability out_cluster, both scaled by the item's
// popularity (Zipf-like over item ids), so popularity alone is a real
// baseline. Events have a type weight (view .1, click .25, cart .5,
// purchase 1) as strength and an implied-rating target.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/core/random.h"
#include "engine/eval/evaluation.h"
#include "engine/model/mf_model.h"
#include "engine/train/batch_trainer.h"

namespace streamrec::engine::testdata {

struct ClusteredOptions {
  uint32_t num_users = 400;
  uint32_t num_items = 300;
  uint32_t clusters = 6;
  double in_cluster = 0.35;
  double out_cluster = 0.03;
  double test_fraction = 0.25;
  uint64_t seed = 5;
};

inline uint32_t UserCluster(const ClusteredOptions& o, uint32_t u) { return u % o.clusters; }
inline uint32_t ItemCluster(const ClusteredOptions& o, uint32_t i) {
  return (i * 7 + 3) % o.clusters;
}

inline EvalSplit MakeClustered(const ClusteredOptions& o = {}) {
  SplitMix64 rng(o.seed);
  constexpr float kWeights[] = {0.1f, 0.25f, 0.5f, 1.0f};
  constexpr float kTargets[] = {3.5f, 4.0f, 4.5f, 5.0f};
  EvalSplit s;
  s.num_users = o.num_users;
  s.num_items = o.num_items;
  for (uint32_t u = 0; u < o.num_users; ++u) {
    for (uint32_t i = 0; i < o.num_items; ++i) {
      // Popularity: 1 for the first items, decaying to ~0.3 for the last.
      const double pop = 1.0 / std::sqrt(1.0 + 10.0 * i / o.num_items);
      const double p =
          pop * (UserCluster(o, u) == ItemCluster(o, i) ? o.in_cluster : o.out_cluster);
      if (rng.NextDouble() >= p) continue;
      const auto type = static_cast<size_t>(rng.Uniform(4));
      const TrainingExample x{u, i, kTargets[type], kWeights[type]};
      (rng.NextDouble() < o.test_fraction ? s.test : s.train).push_back(x);
    }
  }
  for (size_t n = s.train.size(); n > 1; --n) std::swap(s.train[n - 1], s.train[rng.Uniform(n)]);
  return s;
}

// Share of user u's top-n (excluding `seen`) that lies in u's cluster.
inline double InClusterShare(const ClusteredOptions& o, uint32_t u,
                             const std::vector<uint32_t>& top) {
  if (top.empty()) return 0.0;
  const auto n = std::count_if(top.begin(), top.end(),
                               [&](uint32_t i) { return ItemCluster(o, i) == UserCluster(o, u); });
  return static_cast<double>(n) / static_cast<double>(top.size());
}

// A model sized for `s`, rows at their seeded initial vectors.
inline MFModel ModelFor(const EvalSplit& s, int rank = 16, uint64_t seed = 42) {
  ModelOptions o;
  o.rank = rank;
  o.seed = seed;
  MFModel m(o);
  m.EnsureUsers(s.num_users);
  m.EnsureItems(s.num_items);
  return m;
}

// Byte-wise equality of every factor and bias.
inline bool SameParameters(const MFModel& a, const MFModel& b) {
  if (a.num_users() != b.num_users() || a.num_items() != b.num_items() || a.rank() != b.rank()) {
    return false;
  }
  const size_t k = static_cast<size_t>(a.rank());
  const RowMatrixXf ua = a.UserRows(), ub = b.UserRows();
  return std::memcmp(ua.data(), ub.data(), sizeof(float) * k * a.num_users()) == 0 &&
         std::memcmp(a.ItemRows().data(), b.ItemRows().data(), sizeof(float) * k * a.num_items()) == 0 &&
         std::memcmp(a.user_biases(), b.user_biases(), sizeof(float) * a.num_users()) == 0 &&
         std::memcmp(a.item_biases(), b.item_biases(), sizeof(float) * a.num_items()) == 0;
}

}  // namespace streamrec::engine::testdata
