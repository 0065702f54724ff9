#include "tools/data/synthetic.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "engine/core/random.h"

namespace streamrec::tools {
namespace {

// Zipf(s=1)-like draw in [0, n): floor(n^u) - 1 gives P(k) ~ 1/(k+1).
uint32_t SkewedIndex(engine::SplitMix64* rng, uint32_t n) {
  const double x = std::pow(static_cast<double>(n) + 1.0, rng->NextDouble()) - 1.0;
  return std::min(n - 1, static_cast<uint32_t>(x));
}

}  // namespace

std::string SyntheticUserId(uint32_t user) { return fmt::format("user{}", user); }
std::string SyntheticItemId(uint32_t item) { return fmt::format("item{}", item); }

uint32_t SyntheticItemCluster(const SyntheticOptions& o, uint32_t item) {
  return item % std::max(1u, o.clusters);
}

uint32_t SyntheticFavouriteCluster(const SyntheticOptions& o, uint32_t user) {
  engine::SplitMix64 rng(o.seed * 0x632BE59BD9B4E019ull + user);
  return static_cast<uint32_t>(rng.Uniform(std::max(1u, o.clusters)));
}

std::vector<EventRecord> GenerateSynthetic(const SyntheticOptions& o) {
  std::vector<EventRecord> out;
  if (o.users == 0 || o.items == 0) return out;
  out.reserve(o.events);
  ForEachSynthetic(o, [&](EventRecord e) { out.push_back(std::move(e)); });
  return out;
}

void ForEachSynthetic(const SyntheticOptions& o, const std::function<void(EventRecord)>& fn) {
  if (o.users == 0 || o.items == 0) return;
  const uint32_t clusters = std::max(1u, std::min(o.clusters, o.items));
  const uint32_t per_cluster = (o.items + clusters - 1) / clusters;
  engine::SplitMix64 rng(o.seed);
  for (uint64_t n = 0; n < o.events; ++n) {
    // Activity skewed but bounded: density ~ x^(-1/3), so the busiest user
    // has well under 1% of the events, as in real logs.
    const uint32_t user =
        std::min(o.users - 1, static_cast<uint32_t>(o.users * std::pow(rng.NextDouble(), 1.5)));
    const uint32_t fav = SyntheticFavouriteCluster(o, user) % clusters;
    const bool loyal = rng.NextDouble() < o.loyalty;
    const uint32_t cluster = loyal ? fav : static_cast<uint32_t>(rng.Uniform(clusters));
    // Item ids of cluster c are c, c + clusters, c + 2*clusters, ...
    uint32_t item = cluster + clusters * SkewedIndex(&rng, per_cluster);
    if (item >= o.items) item = cluster;
    EventRecord e;
    e.ts_ms = o.start_ms + static_cast<int64_t>(n) * o.step_ms;
    e.user = SyntheticUserId(user);
    e.item = SyntheticItemId(item);
    if (rng.NextDouble() < o.rating_fraction) {
      e.type = "rating";
      const double base = cluster == fav ? 4.3 : 2.2;
      const double r = std::round(base + 0.8 * rng.NextGaussian());
      e.value = static_cast<float>(std::clamp(r, 1.0, 5.0));
    } else {
      const double f = rng.NextDouble();
      e.type = f < 0.6 ? "view" : f < 0.85 ? "click" : f < 0.95 ? "cart" : "purchase";
      e.value = 0.0f;
    }
    fn(std::move(e));
  }
}

}  // namespace streamrec::tools
