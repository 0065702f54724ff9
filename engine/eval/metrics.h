// Offline evaluation metrics: rating error (RMSE, MAE) and top-K ranking
// quality (Precision, Recall, NDCG, MAP, HR, MRR @K, catalog coverage).
//
// Ranking definitions (binary relevance, per user, then averaged over users
// with at least one relevant item):
//   precision@K = hits / K             recall@K = hits / |relevant|
//   NDCG@K      = Σ_hits 1/log2(rank+1) / Σ_{r=1..min(K,|rel|)} 1/log2(r+1)
//   MAP@K       = Σ_hits precision@rank / min(K, |relevant|)
//   HR@K        = 1 if any hit         MRR@K = 1 / rank of the first hit
//   coverage    = distinct items recommended / catalog size
//
// Thread-safety: accumulators are not synchronised; use one per thread and
// Merge().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace streamrec::engine {

struct RatingMetrics {
  double rmse = 0.0;
  double mae = 0.0;
  size_t count = 0;
};

class RatingAccumulator {
 public:
  void Add(double predicted, double actual);
  void Merge(const RatingAccumulator& other);
  RatingMetrics Result() const;

 private:
  double sum_sq_ = 0.0;
  double sum_abs_ = 0.0;
  size_t count_ = 0;
};

struct RankingMetrics {
  size_t k = 0;
  size_t users = 0;  // users with at least one relevant item
  double precision = 0.0;
  double recall = 0.0;
  double ndcg = 0.0;
  double map = 0.0;
  double hit_rate = 0.0;
  double mrr = 0.0;
  double coverage = 0.0;
};

class RankingAccumulator {
 public:
  // k: list length judged; catalog_size: denominator of coverage.
  RankingAccumulator(size_t k, size_t catalog_size);

  // ranked: the recommended items, best first, no duplicates (only the
  // first k count).
  // relevant: the user's held-out items, sorted ascending, no duplicates.
  // A user with no relevant items is ignored.
  void AddUser(std::span<const uint32_t> ranked, std::span<const uint32_t> relevant);
  void Merge(const RankingAccumulator& other);
  RankingMetrics Result() const;

 private:
  size_t k_;
  size_t users_ = 0;
  double precision_ = 0.0, recall_ = 0.0, ndcg_ = 0.0, map_ = 0.0, hit_ = 0.0, mrr_ = 0.0;
  std::vector<uint8_t> recommended_;  // catalog_size flags
};

}  // namespace streamrec::engine
