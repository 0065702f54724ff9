// Item and query vectors for the top-N tests: shaped like a trained
// model's (taste clusters, popularity-like norms) or plain Gaussian.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/random.h"

namespace streamrec::engine::testdata {

// `n` vectors from kClusters taste clusters whose centres `centre_seed`
// fixes: each its cluster's centre plus noise, scaled by a norm in
// [0.2, 1.2). Vectors drawn with one centre seed and different `seed`s
// share the clusters (items and the users who like them).
inline std::vector<float> ClusteredVectors(uint32_t n, int dim, uint64_t centre_seed,
                                           uint64_t seed) {
  constexpr int kClusters = 24;
  SplitMix64 centre_rng(centre_seed);
  std::vector<float> centres(size_t{kClusters} * dim);
  for (float& x : centres) x = centre_rng.NextGaussian();
  SplitMix64 rng(seed);
  std::vector<float> out(size_t{n} * dim);
  for (uint32_t i = 0; i < n; ++i) {
    const size_t c = rng.Uniform(kClusters);
    const float norm = 0.2f + static_cast<float>(rng.NextDouble());
    for (int f = 0; f < dim; ++f) {
      out[size_t{i} * dim + f] = norm * (centres[c * dim + f] + 0.7f * rng.NextGaussian());
    }
  }
  return out;
}

// Clustered vectors with their own clusters (seeded by `seed`).
inline std::vector<float> ModelLikeItems(uint32_t n, int dim, uint64_t seed) {
  return ClusteredVectors(n, dim, seed, seed + 0x9e3779b97f4a7c15ULL);
}

inline std::vector<float> GaussianItems(uint32_t n, int dim, uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<float> items(size_t{n} * dim);
  for (float& x : items) x = rng.NextGaussian();
  return items;
}

}  // namespace streamrec::engine::testdata
