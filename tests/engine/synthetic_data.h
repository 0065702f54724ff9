// Seeded synthetic rating data shared by the learner, trainer and
// recommender tests: a planted low-rank matrix with biases and noise.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/random.h"
#include "engine/train/batch_trainer.h"

namespace streamrec::engine::testdata {

struct LowRankOptions {
  uint32_t num_users = 300;
  uint32_t num_items = 200;
  int rank = 4;                // rank of the planted factors
  float factor_stddev = 0.7f;  // entries of the planted user/item factors
  float bias_stddev = 0.3f;    // planted user and item biases
  float noise_stddev = 0.2f;   // added to every rating
  double density = 0.25;       // probability that a (user, item) is rated
  double test_fraction = 0.1;  // share of the ratings held out
  uint64_t seed = 1;
};

struct LowRankData {
  uint32_t num_users = 0;
  uint32_t num_items = 0;
  // Ratings 3 + b_u + b_i + p_u·q_i + noise, clipped to [1, 5]; weight 1.
  // `train` is in a seeded random order (a plausible event-log order).
  std::vector<TrainingExample> train;
  std::vector<TrainingExample> test;
};

inline LowRankData MakeLowRank(const LowRankOptions& o = {}) {
  SplitMix64 rng(o.seed);
  const size_t k = static_cast<size_t>(o.rank);
  std::vector<float> p(size_t{o.num_users} * k), q(size_t{o.num_items} * k);
  std::vector<float> bu(o.num_users), bi(o.num_items);
  for (float& v : p) v = o.factor_stddev * rng.NextGaussian();
  for (float& v : q) v = o.factor_stddev * rng.NextGaussian();
  for (float& v : bu) v = o.bias_stddev * rng.NextGaussian();
  for (float& v : bi) v = o.bias_stddev * rng.NextGaussian();
  LowRankData d;
  d.num_users = o.num_users;
  d.num_items = o.num_items;
  for (uint32_t u = 0; u < o.num_users; ++u) {
    for (uint32_t i = 0; i < o.num_items; ++i) {
      if (rng.NextDouble() >= o.density) continue;
      float r = 3.0f + bu[u] + bi[i];
      for (size_t f = 0; f < k; ++f) r += p[u * k + f] * q[i * k + f];
      r += o.noise_stddev * rng.NextGaussian();
      r = std::clamp(r, 1.0f, 5.0f);
      const TrainingExample x{u, i, r, 1.0f};
      (rng.NextDouble() < o.test_fraction ? d.test : d.train).push_back(x);
    }
  }
  // Fisher-Yates with the seeded generator: users interleave as in a log.
  for (size_t n = d.train.size(); n > 1; --n) {
    std::swap(d.train[n - 1], d.train[rng.Uniform(n)]);
  }
  return d;
}

inline double MeanTarget(std::span<const TrainingExample> data) {
  double sum = 0.0;
  for (const auto& x : data) sum += x.target;
  return data.empty() ? 0.0 : sum / static_cast<double>(data.size());
}

// RMSE on `test` of always predicting the mean of `train`: the bar a model
// must clear to have learned anything.
inline double GlobalMeanRmse(std::span<const TrainingExample> train,
                             std::span<const TrainingExample> test) {
  const double mean = MeanTarget(train);
  double se = 0.0;
  for (const auto& x : test) se += (x.target - mean) * (x.target - mean);
  return std::sqrt(se / static_cast<double>(test.size()));
}

}  // namespace streamrec::engine::testdata
