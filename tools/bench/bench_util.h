// What every benchmark in tools/bench measures with: seconds since a start
// on the steady clock, the nearest-rank percentile of a sample, the wall
// clock (for ids unique to a run), and a spread of request numbers over ids.
//
// Thread-safety: pure functions.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/random.h"

namespace streamrec::tools {

using BenchClock = std::chrono::steady_clock;

inline double Since(BenchClock::time_point t0) {
  return std::chrono::duration<double>(BenchClock::now() - t0).count();
}

// n mixed (engine::Mix64) so that n % m is uniform over [0, m) for any run
// of n, whatever their stride: a plain n * odd % m keeps n's factors of two,
// and request numbers 64k + t (connection t) reached one user in 32 per
// connection at 500k users (one in 8 with 4 connections).
inline uint64_t Spread(uint64_t n) { return engine::Mix64(n); }

inline double Ms(BenchClock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// The value at rank round(p · (n − 1)) of the sorted sample (p in [0, 1]);
// 0 for an empty one.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1,
                    static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

}  // namespace streamrec::tools
