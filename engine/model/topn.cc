#include "engine/model/topn.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

namespace streamrec::engine {
namespace {

// Heap comparator: the "largest" element (root) is the worst-ranked one.
bool WorseFirst(const ScoredItem& a, const ScoredItem& b) { return RanksBefore(a, b); }

// Sets scores of excluded ids in [begin, end) to -inf. `pos` is the caller's
// cursor into `ids` (sorted), advanced past the block.
void MaskExcluded(std::span<const uint32_t> ids, size_t* pos, uint32_t begin, uint32_t end,
                  float* scores) {
  size_t p = *pos;
  while (p < ids.size() && ids[p] < begin) ++p;
  for (; p < ids.size() && ids[p] < end; ++p) {
    scores[ids[p] - begin] = -std::numeric_limits<float>::infinity();
  }
  *pos = p;
}

}  // namespace

void TopKHeap::Push(uint32_t item, float score) {
  if (k_ == 0 || std::isnan(score)) return;
  const ScoredItem x{item, score};
  if (heap_.size() < k_) {
    heap_.push_back(x);
    std::push_heap(heap_.begin(), heap_.end(), WorseFirst);
    return;
  }
  if (!RanksBefore(x, heap_.front())) return;
  std::pop_heap(heap_.begin(), heap_.end(), WorseFirst);
  heap_.back() = x;
  std::push_heap(heap_.begin(), heap_.end(), WorseFirst);
}

std::vector<ScoredItem> TopKHeap::TakeSorted() {
  std::sort_heap(heap_.begin(), heap_.end(), WorseFirst);
  std::vector<ScoredItem> out;
  out.swap(heap_);
  return out;
}

void TopNScan(RowsView items, uint32_t n_items, int dim, std::span<const ScanQuery> queries,
              size_t n, const ScanOptions& options, std::vector<std::vector<ScoredItem>>* results) {
  using ColMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
  using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const size_t nq = queries.size();
  results->assign(nq, {});
  if (nq == 0) return;

  // Q: dim x nq, one query per column.
  ColMatrix q(dim, nq);
  for (size_t j = 0; j < nq; ++j) {
    q.col(j) = Eigen::Map<const Eigen::VectorXf>(queries[j].vector, dim);
  }
  std::vector<TopKHeap> heaps;
  heaps.reserve(nq);
  for (const ScanQuery& q : queries) heaps.emplace_back(QueryLength(q, n));
  std::vector<size_t> cursor_a(nq, 0), cursor_b(nq, 0);
  // Never larger than the catalog: the score buffer is block x nq floats.
  const size_t block = std::clamp<size_t>(options.block_rows, 1, std::max<uint32_t>(n_items, 1));
  // scores: block x nq, column-major so each query's scores are contiguous.
  ColMatrix scores(block, nq);
  Eigen::VectorXf inv_norm(block);
  std::vector<float> gathered;  // a paged view's block, together

  for (uint32_t begin = 0; begin < n_items; begin += block) {
    const uint32_t end = static_cast<uint32_t>(std::min<size_t>(n_items, begin + block));
    const Eigen::Index rows = end - begin;
    Eigen::Map<const RowMatrix> b(items.Block(begin, end - begin, dim, &gathered), rows, dim);
    auto s = scores.topRows(rows);
    s.noalias() = b * q;
    if (options.cosine) {
      for (Eigen::Index r = 0; r < rows; ++r) {
        const float norm = b.row(r).norm();
        inv_norm[r] = norm > 0.0f ? 1.0f / norm : std::numeric_limits<float>::quiet_NaN();
      }
      s.array().colwise() *= inv_norm.head(rows).array();
    }
    if (options.item_bias != nullptr) {
      s.colwise() += Eigen::Map<const Eigen::VectorXf>(options.item_bias + begin, rows);
    }
    for (size_t j = 0; j < nq; ++j) {
      float* col = s.col(j).data();
      MaskExcluded(queries[j].exclude_a, &cursor_a[j], begin, end, col);
      MaskExcluded(queries[j].exclude_b, &cursor_b[j], begin, end, col);
      TopKHeap& heap = heaps[j];
      float thr = heap.threshold();
      const uint8_t* allowed = options.allowed;
      for (Eigen::Index r = 0; r < rows; ++r) {
        // Items arrive in ascending id order, so an equal score never beats
        // a kept one: a strict > is the whole tie rule here.
        if (col[r] > thr && (allowed == nullptr || allowed[begin + r] != 0)) {
          heap.Push(begin + static_cast<uint32_t>(r), col[r]);
          thr = heap.threshold();
        }
      }
    }
  }
  for (size_t j = 0; j < nq; ++j) (*results)[j] = heaps[j].TakeSorted();
}

std::vector<ScoredItem> TopN(RowsView items, uint32_t n_items, int dim, const ScanQuery& query,
                             size_t n, const ScanOptions& options) {
  std::vector<std::vector<ScoredItem>> out;
  TopNScan(items, n_items, dim, std::span<const ScanQuery>(&query, 1), n, options, &out);
  return std::move(out[0]);
}

}  // namespace streamrec::engine
