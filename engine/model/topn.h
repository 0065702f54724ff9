// Top-N retrieval: exact maximum-inner-product (or cosine) search over the
// item matrix, in the faiss shape: a const, batched scan with caller-owned
// outputs and a small heap that breaks ties by id.
//
// Thread-safety: pure functions over const inputs; safe from any thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "engine/model/rows_view.h"

namespace streamrec::engine {

struct ScoredItem {
  uint32_t item = 0;
  float score = 0.0f;
  bool operator==(const ScoredItem&) const = default;
};

// a ranks before b: higher score, then lower id. NaN never ranks.
inline bool RanksBefore(const ScoredItem& a, const ScoredItem& b) {
  return a.score > b.score || (a.score == b.score && a.item < b.item);
}

// Keeps the k best items pushed so far (RanksBefore order).
class TopKHeap {
 public:
  // k may exceed the number of items pushed (even SIZE_MAX): memory grows
  // with what is kept, not with k.
  explicit TopKHeap(size_t k) : k_(k) { heap_.reserve(std::min<size_t>(k, 1024)); }

  // Score an item must beat to enter (ties already lose to earlier, lower
  // ids when items are pushed in ascending id order). +inf when k == 0.
  float threshold() const {
    if (k_ == 0) return std::numeric_limits<float>::infinity();
    return heap_.size() < k_ ? -std::numeric_limits<float>::infinity() : heap_.front().score;
  }
  void Push(uint32_t item, float score);
  size_t size() const { return heap_.size(); }
  // The kept items, best first. Leaves the heap empty.
  std::vector<ScoredItem> TakeSorted();

 private:
  size_t k_;
  std::vector<ScoredItem> heap_;  // root = the worst kept item
};

struct ScanQuery {
  const float* vector = nullptr;  // size dim
  // Items never returned for this query; each list sorted ascending, may
  // hold duplicates and ids beyond the catalog.
  std::span<const uint32_t> exclude_a;
  std::span<const uint32_t> exclude_b;
  // This query's list length when non-zero and below the call's n. The
  // exact scan's answer is the same either way (the best n' of the best n
  // are the best n'); the approximate ones size their candidate lists by
  // it, so a query is answered alike alone and in any batch.
  size_t n = 0;
};

// Whether `item` may be returned for `query` under ScanOptions::allowed
// (`allowed`, or null for all): what the approximate passes check for each
// item they push.
inline bool Eligible(const ScanQuery& query, const uint8_t* allowed, uint32_t item) {
  if (allowed != nullptr && allowed[item] == 0) return false;
  return !std::binary_search(query.exclude_a.begin(), query.exclude_a.end(), item) &&
         !std::binary_search(query.exclude_b.begin(), query.exclude_b.end(), item);
}

// The list length `query` asks for in a call for n.
inline size_t QueryLength(const ScanQuery& query, size_t n) {
  return query.n > 0 ? std::min(query.n, n) : n;
}

struct ScanOptions {
  // Added to every item's score (the item bias of a rating model); size
  // n_items, or null.
  const float* item_bias = nullptr;
  // Cosine instead of inner product: scores are divided by the item's norm
  // (queries should be unit length). Zero-norm items are skipped.
  bool cosine = false;
  // Eligibility per item (non-zero = may be returned); size n_items, or null
  // for all. Hidden items and category filters arrive here.
  const uint8_t* allowed = nullptr;
  // Rows scored per block: big enough for an efficient GEMM, small enough
  // that the score block stays in L1/L2.
  size_t block_rows = 1024;
};

// For each query, the n best items of `items` (n_items rows of dim; a
// paged view is scanned a block of block_rows at a time, copied together).
// results: resized to queries.size(), each at most QueryLength(query, n)
// items, best first.
void TopNScan(RowsView items, uint32_t n_items, int dim, std::span<const ScanQuery> queries,
              size_t n, const ScanOptions& options, std::vector<std::vector<ScoredItem>>* results);

// Single-query convenience wrapper.
std::vector<ScoredItem> TopN(RowsView items, uint32_t n_items, int dim, const ScanQuery& query,
                             size_t n, const ScanOptions& options);

}  // namespace streamrec::engine
