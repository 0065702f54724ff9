// IvfTopNScan (ivf_index.h): the query side of the IVF index, the order
// a query reads its cells in and the int8 pass over them. The index's
// training and upkeep are in ivf_index.cc.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "engine/model/ivf_index.h"
#include "engine/model/quantized_items.h"
#include "engine/model/topn.h"

namespace streamrec::engine {
namespace {

using ConstRows =
    Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

// The cells by descending score (ties: lower cell first).
struct RankedCells {
  std::vector<std::pair<float, uint32_t>> order;  // (-score, cell): ascending sorts best first
  size_t sorted = 0;                              // order[0, sorted) is in final order

  // Makes order[0, k) final.
  void SortFirst(size_t k) {
    k = std::min(k, order.size());
    if (k <= sorted) return;
    std::partial_sort(order.begin() + sorted, order.begin() + k, order.end());
    sorted = k;
  }
};

RankedCells Rank(const float* centroids, const float* inv_norms, uint32_t lists, int dim,
                 const float* query, bool cosine) {
  const ConstRows c(centroids, lists, dim);
  const Eigen::VectorXf s = c * Eigen::Map<const Eigen::VectorXf>(query, dim);
  RankedCells r;
  r.order.resize(lists);
  for (uint32_t l = 0; l < lists; ++l) {
    const float score = cosine ? s[l] * inv_norms[l] : s[l];
    // A NaN score (a NaN query) ranks last, deterministically.
    r.order[l] = {std::isnan(score) ? std::numeric_limits<float>::infinity() : -score, l};
  }
  return r;
}

// The cells in the order a query reads them: by its score against their
// centroids, except that every kNormEvery-th read is the unread cell
// holding the longest row (inner-product queries only). Why: an item's
// inner product grows with its norm as much as with its direction, and in
// a young implicit model the longest vectors (the popular items) top
// most users' lists from cells whose centroids, averaged over many short
// rows, score low. Measured (bench scale's stream, 2M events, 310 cells,
// 19 read): the exact top 10 lie in the cells read for 75% by centroid
// score alone, 96% with one read in three by norm; at 5M events 97% and
// 100%.
class CellOrder {
 public:
  static constexpr uint32_t kNormEvery = 3;

  CellOrder(RankedCells by_score, const RankedCells* by_norm, uint32_t probe)
      : by_score_(std::move(by_score)),
        by_norm_(by_norm),
        probe_(probe),
        read_(by_score_.order.size(), 0) {}

  // The next cell to read (there must be one left).
  uint32_t Next() {
    const bool by_norm = by_norm_ != nullptr && count_ % kNormEvery == kNormEvery - 1;
    ++count_;
    if (by_norm) {
      for (;; ++norm_at_) {
        const uint32_t c = by_norm_->order[norm_at_].second;
        if (!read_[c]) return Take(c);
      }
    }
    for (;; ++score_at_) {
      by_score_.SortFirst(std::max<size_t>(probe_, score_at_ + 1));
      const uint32_t c = by_score_.order[score_at_].second;
      if (!read_[c]) return Take(c);
    }
  }
  bool Read(uint32_t c) const { return read_[c] != 0; }

 private:
  uint32_t Take(uint32_t c) {
    read_[c] = 1;
    return c;
  }

  RankedCells by_score_;
  const RankedCells* by_norm_;  // fully sorted; null: by score only
  size_t probe_;
  std::vector<uint8_t> read_;
  size_t score_at_ = 0, norm_at_ = 0, count_ = 0;
};

// Inner-product queries then score the longest rows (IvfIndex::Cell::tops)
// of the kTopCellsPerProbe x probe cells holding the longest rows that
// they did not read. Why: younger still (1M events of bench scale's
// stream), many of the popular items' long rows sit alone in cells whose
// centroids are near the origin (the row's distance to its centroid is
// about its own norm: k-means averages many short rows), one or two to a
// cell, more such cells than one read in three reaches. Share of the exact
// top 10 a query reaches there, 18 cells read of 288: centroid order 0.38;
// one read in three by norm 0.53; that plus the 4 longest rows of every
// cell 0.88; the 4 longest rows of the 48 longest cells with centroid
// order alone 0.83.
constexpr uint32_t kTopCellsPerProbe = 3;

// Pushes `item` with its exact score, as the first pass would push it
// were it eligible (items beyond the matrix the caller passed are not).
void PushTopRow(RowsView items, uint32_t n_items, int dim, uint32_t item, const ScanQuery& q,
                const ScanOptions& options, TopKHeap* heap) {
  if (item >= n_items || !Eligible(q, options.allowed, item)) return;
  const float s = ExactScore(items, dim, item, q.vector, options);
  if (s > heap->threshold()) heap->Push(item, s);
}

}  // namespace

void IvfTopNScan(const IvfIndex& index, RowsView items, uint32_t n_items, int dim,
                 std::span<const ScanQuery> queries, size_t n, const ScanOptions& options,
                 const IvfOptions& ivf, const QuantizedScanOptions& rescore,
                 std::vector<std::vector<ScoredItem>>* results) {
  const size_t nq = queries.size();
  results->assign(nq, {});
  if (nq == 0 || n == 0 || index.lists() == 0) return;
  assert(index.dim() == dim);
  const uint32_t lists = index.lists();
  const uint32_t probe = QueryProbe(index, ivf, options.cosine);

  // The cells by their longest row, longest first (ties: lower cell
  // first), for every query of the batch (CellOrder, and the longest rows
  // scored).
  RankedCells by_norm;
  if (!options.cosine) {
    by_norm.order.resize(lists);
    for (uint32_t l = 0; l < lists; ++l) by_norm.order[l] = {-index.cells_[l].MaxNorm(), l};
    by_norm.SortFirst(lists);
  }

  // Query by query, each reading its cells best first: the candidate
  // list's threshold rises at once and later cells push little. (Grouping
  // a batch's visits by cell saves little: a cell is ~sqrt(n) items, a few
  // tens of KB, and the queries of a batch share few of them.)
  for (size_t j = 0; j < nq; ++j) {
    const ScanQuery& q = queries[j];
    const size_t nj = QueryLength(q, n);
    const QuantizedQuery code = QuantizedQuery::Encode(q.vector, dim);
    CellOrder cells(Rank(index.centroids_.data(), index.inv_norms_.data(), lists, dim, q.vector,
                         options.cosine),
                    options.cosine ? nullptr : &by_norm, probe);
    TopKHeap heap(std::max(nj * rescore.candidate_factor, rescore.min_candidates));
    // Past the probed cells only while fewer than nj eligible items were
    // seen (a narrow filter, many exclusions): read on, best cell first.
    for (uint32_t k = 0; k < lists && (k < probe || heap.size() < nj); ++k) {
      const IvfIndex::Cell& c = index.cells_[cells.Next()];
      QuantizedCandidates(c.codes, c.ids.data(), code, q, options, &heap);
    }
    if (!options.cosine) {
      const size_t top_cells = std::min<size_t>(lists, size_t{kTopCellsPerProbe} * probe);
      for (size_t t = 0; t < top_cells; ++t) {
        const uint32_t l = by_norm.order[t].second;
        if (cells.Read(l)) continue;
        const IvfIndex::Cell& c = index.cells_[l];
        for (uint32_t k = 0; k < c.n_tops; ++k) {
          PushTopRow(items, n_items, dim, c.ids[c.tops[k]], q, options, &heap);
        }
      }
    }
    std::vector<ScoredItem> found = heap.TakeSorted();
    // Rows the index holds beyond the matrix the caller passed are not
    // items of this scan.
    std::erase_if(found, [n_items](const ScoredItem& s) { return s.item >= n_items; });
    (*results)[j] = RescoreExactly(items, dim, found, q.vector, options, nj);
  }
}

uint32_t QueryProbe(const IvfIndex& index, const IvfOptions& ivf, bool cosine) {
  const uint32_t lists = index.lists();
  const uint32_t measured = ivf.target_recall > 0.0f ? index.measured_probe(cosine) : 0;
  return std::min(lists, ivf.probe > 0 ? ivf.probe : measured > 0 ? measured : DefaultProbe(lists));
}

uint32_t MeasureProbe(const IvfIndex& index, RowsView items, uint32_t n, int dim,
                      std::span<const ScanQuery> queries, const ScanOptions& options, float target,
                      const QuantizedScanOptions& rescore, float* recall,
                      const std::atomic<bool>* stop) {
  constexpr size_t kTop = 10;
  const uint32_t lists = index.lists();
  *recall = -1.0f;
  if (lists == 0 || dim <= 0 || n == 0 || queries.empty()) return 0;
  std::vector<std::vector<ScoredItem>> exact, found;
  TopNScan(items, n, dim, queries, kTop, options, &exact);
  size_t total = 0;
  for (const auto& e : exact) total += e.size();
  if (total == 0) return 0;
  IvfOptions ivf;
  ivf.target_recall = 0.0f;  // the probe given, not a measured one
  // Recall@10 at `probe` cells.
  auto measure = [&](uint32_t probe) {
    ivf.probe = probe;
    IvfTopNScan(index, items, n, dim, queries, kTop, options, ivf, rescore, &found);
    size_t hits = 0;
    for (size_t j = 0; j < queries.size(); ++j) {
      for (const ScoredItem& e : exact[j]) {
        hits +=
            static_cast<size_t>(std::any_of(found[j].begin(), found[j].end(),
                                            [&](const ScoredItem& f) { return f.item == e.item; }));
      }
    }
    return static_cast<float>(static_cast<double>(hits) / static_cast<double>(total));
  };
  auto stopped = [stop] { return stop != nullptr && stop->load(std::memory_order_relaxed); };
  // Doubling from the default up to the first probe that reaches the
  // target (`hi`; every cell if none does), the one before it falling
  // short (`lo`; 0 where the default reaches it: kept, never fewer).
  uint32_t lo = 0, hi = DefaultProbe(lists);
  for (;; lo = hi, hi = std::min(lists, 2 * hi)) {
    if (stopped()) return 0;
    *recall = measure(hi);
    if (*recall >= target || hi >= lists) break;
  }
  if (*recall < target || lo == 0) return hi;
  // Then halving the gap while it is more than a sixteenth of the cells
  // found: a doubling overshoots by up to 2x (at 5M events of bench
  // scale, similar items reached 0.97 at 76 cells of 316 and fell short
  // at 38), and each cell a query need not read is bytes it does not.
  // Recall grows with the cells read, if not strictly (more cells can
  // push a true top-10 item out of the int8 candidates): the probe kept
  // is one measured to reach the target, with the recall measured there.
  while (hi - lo > std::max<uint32_t>(1, hi / 16)) {
    if (stopped()) return 0;
    const uint32_t mid = lo + (hi - lo) / 2;
    const float r = measure(mid);
    if (r >= target) {
      hi = mid;
      *recall = r;
    } else {
      lo = mid;
    }
  }
  return hi;
}

}  // namespace streamrec::engine
