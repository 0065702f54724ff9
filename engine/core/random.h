// SplitMix64: a tiny, fast, fully specified PRNG. Used instead of <random>
// engines+distributions because std::normal_distribution differs between
// standard libraries, and models must be bit-identical across rebuilds.
//
// Thread-safety: a value type; one instance per thread.
#pragma once

#include <cmath>
#include <cstdint>

namespace streamrec::engine {

// SplitMix64's finaliser: a bijection of 64-bit values whose every output
// bit depends on every input bit, so consecutive or strided inputs come out
// spread uniformly (hash table homes, load generators' picks).
constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The top 53 bits of `bits` as a double uniform in [0, 1).
constexpr double UnitInterval(uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() { return Mix64(state_ += 0x9E3779B97F4A7C15ull); }
  // Uniform in [0, 1).
  double NextDouble() { return UnitInterval(Next()); }
  // Uniform in [0, n).
  uint64_t Uniform(uint64_t n) { return Next() % n; }
  // Standard normal by Box-Muller; each pair of uniforms yields two normals
  // (the second is kept for the next call), halving the log/sqrt/trig cost.
  float NextGaussian() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = NextDouble();
    const double u2 = NextDouble();
    if (u1 < 1e-300) u1 = 1e-300;
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 6.283185307179586 * u2;
    spare_ = static_cast<float>(r * std::sin(theta));
    has_spare_ = true;
    return static_cast<float>(r * std::cos(theta));
  }

 private:
  uint64_t state_;
  float spare_ = 0.0f;
  bool has_spare_ = false;
};

}  // namespace streamrec::engine
