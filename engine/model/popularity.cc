#include "engine/model/popularity.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace streamrec::engine {
namespace {
// Rescale once an event's factor relative to the anchor exceeds 2^kMaxExp;
// doubles hold 2^1023, so sums of many such terms stay finite.
constexpr double kMaxExp = 256.0;

// to - from in double: exact for any realistic times (|t| < 2^53 ms, some
// 285,000 years) and never overflows, whatever int64s the events carry
// (INT64_MAX - INT64_MIN is no int64_t).
double Elapsed(int64_t to, int64_t from) {
  return static_cast<double>(to) - static_cast<double>(from);
}
}  // namespace

Popularity::Popularity(const PopularityOptions& options) : options_(options) {}

void Popularity::MoveAnchor(int64_t new_anchor_ms) {
  const double factor = std::exp2(-Elapsed(new_anchor_ms, anchor_ms_) / options_.half_life_ms);
  for (double& s : scores_) s *= factor;
  // Still each block's maximum: rounding is monotone, so the largest
  // product is the product of the largest.
  for (double& m : block_max_) m *= factor;
  anchor_ms_ = new_anchor_ms;
}

void Popularity::Reserve(uint32_t item) {
  if (item < scores_.size()) return;
  scores_.resize(size_t{item} + 1, 0.0);
  block_max_.resize((scores_.size() + kBlock - 1) / kBlock, 0.0);
}

void Popularity::RescanBlock(uint32_t b) {
  const size_t begin = size_t{b} * kBlock;
  const size_t end = std::min(scores_.size(), begin + kBlock);
  double m = 0.0;
  for (size_t i = begin; i < end; ++i) m = std::max(m, scores_[i]);
  block_max_[b] = m;
}

void Popularity::Add(uint32_t item, float weight, int64_t ts_ms) {
  Reserve(item);
  if (!has_anchor_) {
    anchor_ms_ = ts_ms;
    newest_ts_ms_ = ts_ms;
    has_anchor_ = true;
  }
  if (ts_ms > newest_ts_ms_) newest_ts_ms_ = ts_ms;
  double exponent = Elapsed(ts_ms, anchor_ms_) / options_.half_life_ms;
  if (exponent > kMaxExp) {
    MoveAnchor(ts_ms);
    exponent = 0.0;
  }
  double& s = scores_[item];
  s += weight * std::exp2(exponent);
  double& m = block_max_[item / kBlock];
  m = std::max(m, s);
}

void Popularity::Remove(uint32_t item, float weight, int64_t ts_ms) {
  if (item >= scores_.size() || !has_anchor_) return;
  // Relative to the current anchor: a rescale since the Add multiplied the
  // stored share by exactly the factor this exponent differs by.
  const double exponent = std::min(kMaxExp, Elapsed(ts_ms, anchor_ms_) / options_.half_life_ms);
  double& s = scores_[item];
  const double before = s;
  s -= weight * std::exp2(exponent);
  // What remains of a sum that held only the removed shares is rounding
  // (~1e-16 of it), not a score: make it the 0 a replay without them gives.
  if (s <= before * 1e-12) s = 0.0;
  if (before >= block_max_[item / kBlock]) RescanBlock(item / kBlock);
}

double Popularity::NowFactor() const {
  // The anchor never passes the newest event time; the clamp keeps a
  // restored state that says otherwise finite.
  return std::exp2(std::min(kMaxExp, -Elapsed(newest_ts_ms_, anchor_ms_) / options_.half_life_ms));
}

double Popularity::Score(uint32_t item) const {
  if (item >= scores_.size()) return 0.0;
  return scores_[item] * NowFactor();
}

std::vector<ScoredItem> Popularity::Top(size_t n, std::span<const uint32_t> exclude,
                                        const uint8_t* allowed) const {
  TopKHeap heap(n);
  if (n == 0) return heap.TakeSorted();
  const double now_factor = NowFactor();
  // The blocks holding a positive score, best first (a max-heap popped
  // as far as needed).
  std::vector<std::pair<double, uint32_t>> blocks;
  blocks.reserve(block_max_.size());
  for (uint32_t b = 0; b < block_max_.size(); ++b) {
    if (block_max_[b] > 0.0) blocks.emplace_back(block_max_[b], b);
  }
  std::make_heap(blocks.begin(), blocks.end());
  while (!blocks.empty()) {
    std::pop_heap(blocks.begin(), blocks.end());
    const auto [best, b] = blocks.back();
    blocks.pop_back();
    // No item of this block or a later one scores above `best`'s key
    // (rounding is monotone), so none ranks before the page's last once
    // that is higher: the page is what the whole catalog's scan gives.
    // (At an equal key a lower id could still rank before it: read on.)
    if (static_cast<float>(best * now_factor) < heap.threshold()) break;
    const uint32_t begin = b * kBlock;
    const auto end = static_cast<uint32_t>(std::min(scores_.size(), size_t{begin} + kBlock));
    auto p = std::lower_bound(exclude.begin(), exclude.end(), begin);
    for (uint32_t i = begin; i < end; ++i) {
      while (p != exclude.end() && *p < i) ++p;
      if (p != exclude.end() && *p == i) continue;
      if (allowed != nullptr && allowed[i] == 0) continue;
      if (scores_[i] <= 0.0) continue;
      heap.Push(i, static_cast<float>(scores_[i] * now_factor));
    }
  }
  return heap.TakeSorted();
}

void Popularity::Restore(int64_t anchor_ms, int64_t newest_ts_ms, std::vector<double> scores,
                         bool has_anchor) {
  anchor_ms_ = anchor_ms;
  newest_ts_ms_ = newest_ts_ms;
  has_anchor_ = has_anchor;
  scores_ = std::move(scores);
  block_max_.assign((scores_.size() + kBlock - 1) / kBlock, 0.0);
  for (uint32_t b = 0; b < block_max_.size(); ++b) RescanBlock(b);
}

}  // namespace streamrec::engine
