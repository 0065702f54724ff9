#include "engine/eval/metrics.h"

#include <algorithm>
#include <cmath>

namespace streamrec::engine {

void RatingAccumulator::Add(double predicted, double actual) {
  const double e = predicted - actual;
  sum_sq_ += e * e;
  sum_abs_ += std::abs(e);
  ++count_;
}

void RatingAccumulator::Merge(const RatingAccumulator& o) {
  sum_sq_ += o.sum_sq_;
  sum_abs_ += o.sum_abs_;
  count_ += o.count_;
}

RatingMetrics RatingAccumulator::Result() const {
  RatingMetrics m;
  m.count = count_;
  if (count_ == 0) return m;
  m.rmse = std::sqrt(sum_sq_ / static_cast<double>(count_));
  m.mae = sum_abs_ / static_cast<double>(count_);
  return m;
}

RankingAccumulator::RankingAccumulator(size_t k, size_t catalog_size)
    : k_(k), recommended_(catalog_size, 0) {}

void RankingAccumulator::AddUser(std::span<const uint32_t> ranked,
                                 std::span<const uint32_t> relevant) {
  if (relevant.empty() || k_ == 0) return;
  const size_t n = std::min(k_, ranked.size());
  size_t hits = 0;
  double dcg = 0.0, ap = 0.0, rr = 0.0;
  for (size_t r = 0; r < n; ++r) {
    const uint32_t item = ranked[r];
    if (item < recommended_.size()) recommended_[item] = 1;
    if (!std::binary_search(relevant.begin(), relevant.end(), item)) continue;
    ++hits;
    dcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
    ap += static_cast<double>(hits) / static_cast<double>(r + 1);
    if (rr == 0.0) rr = 1.0 / static_cast<double>(r + 1);
  }
  const size_t ideal = std::min(k_, relevant.size());
  double idcg = 0.0;
  for (size_t r = 0; r < ideal; ++r) idcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
  ++users_;
  precision_ += static_cast<double>(hits) / static_cast<double>(k_);
  recall_ += static_cast<double>(hits) / static_cast<double>(relevant.size());
  ndcg_ += dcg / idcg;
  map_ += ap / static_cast<double>(ideal);
  hit_ += hits > 0 ? 1.0 : 0.0;
  mrr_ += rr;
}

void RankingAccumulator::Merge(const RankingAccumulator& o) {
  users_ += o.users_;
  precision_ += o.precision_;
  recall_ += o.recall_;
  ndcg_ += o.ndcg_;
  map_ += o.map_;
  hit_ += o.hit_;
  mrr_ += o.mrr_;
  if (recommended_.size() < o.recommended_.size()) recommended_.resize(o.recommended_.size(), 0);
  for (size_t i = 0; i < o.recommended_.size(); ++i) recommended_[i] |= o.recommended_[i];
}

RankingMetrics RankingAccumulator::Result() const {
  RankingMetrics m;
  m.k = k_;
  m.users = users_;
  if (!recommended_.empty()) {
    const auto covered = std::count(recommended_.begin(), recommended_.end(), uint8_t{1});
    m.coverage = static_cast<double>(covered) / static_cast<double>(recommended_.size());
  }
  if (users_ == 0) return m;
  const double n = static_cast<double>(users_);
  m.precision = precision_ / n;
  m.recall = recall_ / n;
  m.ndcg = ndcg_ / n;
  m.map = map_ / n;
  m.hit_rate = hit_ / n;
  m.mrr = mrr_ / n;
  return m;
}

}  // namespace streamrec::engine
