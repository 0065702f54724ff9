#include "engine/model/popularity.h"

#include <algorithm>
#include <cmath>

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
  anchor_ms_ = new_anchor_ms;
}

void Popularity::Add(uint32_t item, float weight, int64_t ts_ms) {
  if (item >= scores_.size()) scores_.resize(item + 1, 0.0);
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
  scores_[item] += weight * std::exp2(exponent);
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
  const double now_factor = NowFactor();
  size_t p = 0;
  for (uint32_t i = 0; i < scores_.size(); ++i) {
    while (p < exclude.size() && exclude[p] < i) ++p;
    if (p < exclude.size() && exclude[p] == i) continue;
    if (allowed != nullptr && allowed[i] == 0) continue;
    if (scores_[i] <= 0.0) continue;
    heap.Push(i, static_cast<float>(scores_[i] * now_factor));
  }
  return heap.TakeSorted();
}

void Popularity::Restore(int64_t anchor_ms, int64_t newest_ts_ms, std::vector<double> scores,
                         bool has_anchor) {
  anchor_ms_ = anchor_ms;
  newest_ts_ms_ = newest_ts_ms;
  has_anchor_ = has_anchor;
  scores_ = std::move(scores);
}

}  // namespace streamrec::engine
