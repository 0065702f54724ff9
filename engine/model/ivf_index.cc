#include "engine/model/ivf_index.h"

#include <fmt/format.h>

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <utility>

#include "engine/core/growth.h"

namespace streamrec::engine {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstRows = Eigen::Map<const RowMatrix>;

// Rows scored against the centroids at once: bounds the score block
// (rows x lists floats) while Build files a million items.
constexpr uint32_t kAssignChunk = 4096;

// The best and the next best of `s` (ties to the lower index; next -1
// for a single score).
template <typename Scores>
void BestTwo(const Scores& s, Eigen::Index* best, Eigen::Index* next) {
  *best = 0;
  *next = -1;
  for (Eigen::Index l = 1; l < s.size(); ++l) {
    if (s[l] > s[*best]) {
      *next = *best;
      *best = l;
    } else if (*next < 0 || s[l] > s[*next]) {
      *next = l;
    }
  }
}

// For each of rows [0, n) of `x`, the centroid nearest in L2: argmax
// <x, c> - |c|^2/2, ties to the lower cell; with `next`, also the one
// after it (UINT32_MAX for a single centroid).
void AssignRows(RowsView x, uint32_t n, const ConstRows& centroids,
                const Eigen::Ref<const Eigen::VectorXf>& half_sq_norms, std::vector<uint32_t>* out,
                std::vector<uint32_t>* next = nullptr, const std::atomic<bool>* stop = nullptr) {
  out->resize(n);
  if (next) next->resize(n);
  const auto dim = static_cast<Eigen::Index>(centroids.cols());
  RowMatrix scores;
  std::vector<float> gathered;  // a paged view's chunk, together
  for (uint32_t r0 = 0; r0 < n; r0 += kAssignChunk) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) return;
    const uint32_t rows = std::min(kAssignChunk, n - r0);
    const ConstRows chunk(x.Block(r0, rows, static_cast<int>(dim), &gathered), rows, dim);
    scores.noalias() = chunk * centroids.transpose();
    scores.rowwise() -= half_sq_norms.transpose();
    for (uint32_t r = 0; r < rows; ++r) {
      Eigen::Index best = 0, after = -1;
      if (next) {
        BestTwo(scores.row(r), &best, &after);
        (*next)[r0 + r] = after < 0 ? UINT32_MAX : static_cast<uint32_t>(after);
      } else {
        scores.row(r).maxCoeff(&best);
      }
      (*out)[r0 + r] = static_cast<uint32_t>(best);
    }
  }
}

}  // namespace

float IvfIndex::Distance(const float* a, const float* b, int dim) {
  return (Eigen::Map<const Eigen::VectorXf>(a, dim) - Eigen::Map<const Eigen::VectorXf>(b, dim))
      .norm();
}

uint32_t DefaultProbe(uint32_t lists) { return std::min(lists, std::max<uint32_t>(8, lists / 16)); }

size_t IvfIndex::MemoryBytes() const {
  size_t bytes =
      (centroids_.capacity() + half_sq_norms_.capacity() + inv_norms_.capacity()) * sizeof(float) +
      (list_of_.capacity() + row_of_.capacity()) * sizeof(uint32_t) +
      margin_.capacity() * sizeof(float) + cells_.capacity() * sizeof(Cell);
  for (const Cell& c : cells_) {
    bytes += c.codes.MemoryBytes() + c.ids.capacity() * sizeof(uint32_t) +
             c.norms.capacity() * sizeof(float);
  }
  return bytes;
}

uint32_t IvfIndex::ListsFor(uint32_t n, const IvfOptions& options) {
  const auto auto_lists = static_cast<uint32_t>(std::lround(std::sqrt(double(n))));
  return std::min(n, options.lists > 0 ? options.lists : std::max<uint32_t>(16, auto_lists));
}

void IvfIndex::Build(RowsView items, uint32_t n, int dim, const IvfOptions& options) {
  Train(items, n, dim, options);
  FileAll(items, n);
}

void IvfIndex::Train(RowsView items, uint32_t n, int dim, const IvfOptions& options,
                     const std::atomic<bool>* stop) {
  *this = IvfIndex(dim);  // every field, the safe radii too
  trained_items_ = n;
  trained_with_ = options;
  if (n == 0 || dim <= 0) return;

  const uint32_t lists = ListsFor(n, options);
  // A fixed-seed sample of distinct rows; its first `lists` rows are the
  // initial centroids.
  std::mt19937_64 rng(options.seed);
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  const uint32_t sample = static_cast<uint32_t>(std::min<uint64_t>(
      n, std::max<uint64_t>(lists, uint64_t{lists} * options.kmeans_points_per_list)));
  for (uint32_t k = 0; k < sample; ++k) {
    std::swap(order[k], order[k + rng() % (n - k)]);
  }
  RowMatrix x(sample, dim);
  for (uint32_t k = 0; k < sample; ++k) {
    x.row(k) = Eigen::Map<const Eigen::RowVectorXf>(items.row(order[k], dim), dim);
  }
  RowMatrix c = x.topRows(lists);
  Eigen::VectorXf half;
  std::vector<uint32_t> assign;
  for (int it = 0; it < options.kmeans_iterations; ++it) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) return;
    half = 0.5f * c.rowwise().squaredNorm();
    AssignRows(x.data(), static_cast<uint32_t>(x.rows()), ConstRows(c.data(), lists, dim), half,
               &assign);
    RowMatrix sum = RowMatrix::Zero(lists, dim);
    std::vector<uint32_t> count(lists, 0);
    for (uint32_t k = 0; k < sample; ++k) {
      sum.row(assign[k]) += x.row(k);
      ++count[assign[k]];
    }
    for (uint32_t l = 0; l < lists; ++l) {
      // An empty cell restarts on a random sample point.
      c.row(l) = count[l] > 0 ? RowMatrix(sum.row(l) / float(count[l])) : x.row(rng() % sample);
    }
  }
  SetCentroids(std::vector<float>(c.data(), c.data() + size_t{lists} * dim));
  FileAll(items, 0);  // the cells, empty
}

bool IvfIndex::AllFinite(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

void IvfIndex::SetCentroids(std::vector<float> centroids) {
  centroids_ = std::move(centroids);
  const size_t lists = dim_ > 0 ? centroids_.size() / static_cast<size_t>(dim_) : 0;
  half_sq_norms_.resize(lists);
  inv_norms_.resize(lists);
  for (size_t l = 0; l < lists; ++l) {
    double sq = 0.0;
    for (int f = 0; f < dim_; ++f) {
      const double v = centroids_[l * static_cast<size_t>(dim_) + static_cast<size_t>(f)];
      sq += v * v;
    }
    half_sq_norms_[l] = static_cast<float>(0.5 * sq);
    inv_norms_[l] = sq > 0.0 ? static_cast<float>(1.0 / std::sqrt(sq)) : 0.0f;
  }
}

StatusOr<IvfIndex> IvfIndex::FromCentroids(int dim, uint32_t trained_items,
                                           const IvfOptions& options,
                                           std::vector<float> centroids) {
  if (dim <= 0) return Status::InvalidArgument(fmt::format("ivf dimension {}", dim));
  const uint32_t lists = ListsFor(trained_items, options);
  if (centroids.size() != size_t{lists} * static_cast<size_t>(dim)) {
    return Status::InvalidArgument(
        fmt::format("{} centroid floats where {} items train {} cells of {}", centroids.size(),
                    trained_items, lists, dim));
  }
  if (!AllFinite(centroids)) {
    return Status::InvalidArgument("a centroid is not finite");
  }
  IvfIndex index(dim);
  index.trained_items_ = trained_items;
  index.trained_with_ = options;
  if (lists == 0) return index;
  index.SetCentroids(std::move(centroids));
  index.FileAll(nullptr, 0);  // the cells, empty
  return index;
}

void IvfIndex::Adopt(const IvfIndex& trained, RowsView items, uint32_t n) {
  dim_ = trained.dim_;
  trained_items_ = trained.trained_items_;
  trained_with_ = trained.trained_with_;
  centroids_ = trained.centroids_;
  half_sq_norms_ = trained.half_sq_norms_;
  inv_norms_ = trained.inv_norms_;
  measured_ = trained.measured_;
  FileAll(items, n);
}

void IvfIndex::FileAll(RowsView items, uint32_t n) {
  SetSafeRadii();
  Fill(items, n, Assign(items, n));
}

void IvfIndex::SetSafeRadii() {
  const auto lists = static_cast<uint32_t>(half_sq_norms_.size());
  // |a - b|^2 = |a|^2 + |b|^2 - 2 a.b for every pair of centroids.
  safe_sq_radius_.assign(lists, 0.0f);
  if (lists <= 1) return;
  const ConstRows c(centroids_.data(), lists, dim_);
  const RowMatrix dots = c * c.transpose();
  for (uint32_t a = 0; a < lists; ++a) {
    float nearest = std::numeric_limits<float>::infinity();
    for (uint32_t b = 0; b < lists; ++b) {
      if (b == a) continue;
      nearest =
          std::min(nearest, 2.0f * (half_sq_norms_[a] + half_sq_norms_[b]) - 2.0f * dots(a, b));
    }
    // A quarter of the squared distance, less a margin for rounding: the
    // skip must never keep a row whose GEMV would have moved it.
    safe_sq_radius_[a] = std::max(0.0f, 0.25f * nearest * 0.999f - 1e-6f);
  }
}

IvfIndex::Filing IvfIndex::Assign(RowsView items, uint32_t n, const std::atomic<bool>* stop) const {
  Filing f;
  const auto lists = static_cast<uint32_t>(half_sq_norms_.size());
  if (n == 0 || lists == 0) return f;
  std::vector<uint32_t> next;
  AssignRows(items, n, ConstRows(centroids_.data(), lists, dim_),
             Eigen::Map<const Eigen::VectorXf>(half_sq_norms_.data(), lists), &f.cell, &next, stop);
  f.margin.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    if (stop != nullptr && (i & 4095) == 0 && stop->load(std::memory_order_relaxed)) return f;
    // Exactly, not from the scores: |row|^2 - 2 s loses digits for a row
    // near the centroids.
    f.margin[i] =
        next[i] == UINT32_MAX
            ? kUnknownMove
            : Distance(row_at(items, i), centroids_.data() + size_t{next[i]} * dim_, dim_);
  }
  return f;
}

void IvfIndex::Refile(RowsView items, uint32_t n, const Filing& earlier,
                      std::span<const float> moved) {
  SetSafeRadii();
  uint64_t searched = 0;
  const Filing f = Reassign(items, n, earlier, moved, &searched);
  full_searches_ += searched;
  Fill(items, n, f);
}

IvfIndex::Filing IvfIndex::Reassign(RowsView items, uint32_t n, const Filing& earlier,
                                    std::span<const float> moved, uint64_t* searched,
                                    const std::atomic<bool>* stop) const {
  assert(moved.size() == earlier.cell.size() && earlier.margin.size() == earlier.cell.size());
  assert(safe_sq_radius_.size() == lists());
  Filing f;
  f.cell.resize(n);
  f.margin.resize(n);
  std::vector<uint32_t> search;  // rows whose cell is not settled
  for (uint32_t i = 0; i < n; ++i) {
    if (i < earlier.cell.size()) {
      // Update's test: still nearest its cell if within the cell's safe
      // radius or nearer it than the bound on every other, the bound being
      // the earlier distance to the next nearest less the move since.
      const uint32_t own = earlier.cell[i];
      const float bound = earlier.margin[i] - moved[i];
      if (StaysIn(own, row_at(items, i), bound)) {
        f.cell[i] = own;
        f.margin[i] = bound;
        continue;
      }
    }
    search.push_back(i);
  }
  // The rest searched together, as Build files (one GEMM per chunk, where
  // a GEMV each took ~5x as long).
  if (searched != nullptr) *searched = search.size();
  RowMatrix rows(kAssignChunk, dim_);
  for (size_t s0 = 0; s0 < search.size(); s0 += kAssignChunk) {
    if (stop != nullptr && stop->load(std::memory_order_relaxed)) return f;
    const auto m = static_cast<uint32_t>(std::min<size_t>(kAssignChunk, search.size() - s0));
    for (uint32_t r = 0; r < m; ++r) {
      rows.row(r) = Eigen::Map<const Eigen::RowVectorXf>(row_at(items, search[s0 + r]), dim_);
    }
    const Filing found = Assign(rows.data(), m);
    for (uint32_t r = 0; r < m; ++r) {
      f.cell[search[s0 + r]] = found.cell[r];
      f.margin[search[s0 + r]] = found.margin[r];
    }
  }
  return f;
}

bool IvfIndex::StaysIn(uint32_t own, const float* row, float bound) const {
  const float sq = (Eigen::Map<const Eigen::VectorXf>(row, dim_) -
                    Eigen::Map<const Eigen::VectorXf>(centroids_.data() + size_t{own} * dim_, dim_))
                       .squaredNorm();
  // NaN (an unknown bound less an unknown move) fails the second test.
  return sq <= safe_sq_radius_[own] || std::sqrt(sq) <= 0.999f * bound - 1e-6f;
}

void IvfIndex::Fill(RowsView items, uint32_t n, const Filing& f) {
  const auto lists = static_cast<uint32_t>(half_sq_norms_.size());
  cells_.clear();
  cells_.resize(lists);
  for (Cell& cell : cells_) cell.codes = QuantizedItems(dim_);
  list_of_.clear();
  row_of_.clear();
  margin_.clear();
  if (n == 0 || lists == 0) return;
  std::vector<uint32_t> sizes(lists, 0);
  for (uint32_t i = 0; i < n; ++i) ++sizes[f.cell[i]];
  for (uint32_t l = 0; l < lists; ++l) {
    cells_[l].codes.Resize(sizes[l]);
    cells_[l].ids.reserve(sizes[l]);
    cells_[l].norms.reserve(sizes[l]);
  }
  list_of_.resize(n);
  row_of_.resize(n);
  margin_.assign(f.margin.begin(), f.margin.begin() + n);
  for (uint32_t i = 0; i < n; ++i) {
    Cell& cell = cells_[f.cell[i]];
    row_of_[i] = cell.Append(i, row_at(items, i), dim_);  // codes sized above
    list_of_[i] = f.cell[i];
  }
}

uint32_t IvfIndex::Nearest(const float* row, float* second) const {
  const ConstRows c(centroids_.data(), lists(), dim_);
  // The scores in a buffer kept per thread: a vector of `lists` floats
  // made per call (1.3 KB at 316 cells) was a malloc past glibc's small
  // bins, which first consolidates its fast bins (malloc_consolidate): a
  // malloc and that walk per search, ~2% of the model thread under
  // `bench scale`'s HTTP ingest. The same sums as before.
  thread_local Eigen::VectorXf s;
  s.resize(lists());
  s.noalias() = c * Eigen::Map<const Eigen::VectorXf>(row, dim_);
  s -= Eigen::Map<const Eigen::VectorXf>(half_sq_norms_.data(), lists());
  Eigen::Index best = 0, next = -1;
  BestTwo(s, &best, &next);
  *second = next < 0 ? kUnknownMove : Distance(row, centroids_.data() + next * dim_, dim_);
  return static_cast<uint32_t>(best);
}

void IvfIndex::File(uint32_t c, uint32_t i, const float* row) {
  Cell& cell = cells_[c];
  // A full cell grows by an eighth (engine/core/growth.h): FileAll files
  // cells at their size.
  if (cell.ids.size() == cell.ids.capacity()) {
    const size_t room = GrownCapacity(cell.ids.size());
    cell.ids.reserve(room);
    cell.norms.reserve(room);
    cell.codes.Reserve(static_cast<uint32_t>(room));
  }
  cell.codes.Resize(static_cast<uint32_t>(cell.ids.size()) + 1);
  row_of_[i] = cell.Append(i, row, dim_);
  list_of_[i] = c;
}

void IvfIndex::Unfile(uint32_t i, RowsView items) {
  Cell& cell = cells_[list_of_[i]];
  const uint32_t r = row_of_[i];
  const auto last = static_cast<uint32_t>(cell.ids.size() - 1);
  const auto tops_end = cell.tops.begin() + cell.n_tops;
  // Only the loss of one of the longest rows calls for a rescan; else the
  // row moved into r keeps its place in `tops` under its new index.
  const bool top = std::find(cell.tops.begin(), tops_end, r) != tops_end;
  if (!top) std::replace(cell.tops.begin(), tops_end, last, r);
  if (r != last) {
    const uint32_t moved = cell.ids[last];
    cell.codes.Set(r, row_at(items, moved));
    cell.ids[r] = moved;
    cell.norms[r] = Norm(row_at(items, moved), dim_);
    row_of_[moved] = r;
  }
  cell.ids.pop_back();
  cell.norms.pop_back();
  cell.codes.Resize(last);
  if (top) cell.RescanTops();
}

uint32_t IvfIndex::Cell::Append(uint32_t id, const float* row, int dim) {
  const auto r = static_cast<uint32_t>(ids.size());
  codes.Set(r, row);
  ids.push_back(id);
  norms.push_back(Norm(row, dim));
  OfferTop(r);
  return r;
}

void IvfIndex::Cell::SetRow(uint32_t r, const float* row, int dim) {
  codes.Set(r, row);
  const float was = norms[r];
  norms[r] = Norm(row, dim);
  if (!(norms[r] < was)) {
    OfferTop(r);
  } else if (std::find(tops.begin(), tops.begin() + n_tops, r) != tops.begin() + n_tops) {
    RescanTops();  // one of the longest got shorter: another may pass it
  }
}

void IvfIndex::Cell::OfferTop(uint32_t r) {
  uint32_t at =
      static_cast<uint32_t>(std::find(tops.begin(), tops.begin() + n_tops, r) - tops.begin());
  if (at == n_tops) {  // not there yet
    if (n_tops < kTops) {
      ++n_tops;
    } else if (!Longer(r, tops[kTops - 1])) {
      return;
    } else {
      at = kTops - 1;
    }
    tops[at] = r;
  }
  for (; at > 0 && Longer(tops[at], tops[at - 1]); --at) std::swap(tops[at], tops[at - 1]);
}

void IvfIndex::Cell::RescanTops() {
  // OfferTop for every row, less its search of `tops` (no row is there
  // yet) and with the common case first: a full `tops` that the row does
  // not beat. The rows of a cell shrinking its longest row (SetRow) are all
  // read again, so this loop is most of an update that does so.
  n_tops = 0;
  const auto n = static_cast<uint32_t>(ids.size());
  for (uint32_t r = 0; r < n; ++r) {
    uint32_t at = n_tops;
    if (at == kTops) {
      if (!Longer(r, tops[kTops - 1])) continue;
      at = kTops - 1;
    } else {
      ++n_tops;
    }
    for (; at > 0 && Longer(r, tops[at - 1]); --at) tops[at] = tops[at - 1];
    tops[at] = r;
  }
}

float IvfIndex::Norm(const float* row, int dim) {
  // In index order, in float: the same bits for the same row wherever it
  // is computed (a restored index files its rows afresh).
  float sq = 0.0f;
  for (int f = 0; f < dim; ++f) sq += row[f] * row[f];
  const float norm = std::sqrt(sq);
  return std::isnan(norm) ? 0.0f : norm;
}

void IvfIndex::Update(uint32_t i, RowsView items, float moved) {
  assert(lists() > 0 && i <= size());
  const float* row = row_at(items, i);
  if (i < size()) {
    // No other centroid can be nearer, so only the codes change (k flops
    // instead of lists x k): while the row is within its cell's safe
    // radius, or nearer its own centroid than its bound on every other
    // (with a margin for rounding: the skip must never keep a row the GEMV
    // would have moved by more than a rounding's worth).
    const uint32_t own = list_of_[i];
    margin_[i] -= moved;
    if (StaysIn(own, row, margin_[i])) {
      cells_[own].SetRow(row_of_[i], row, dim_);
      return;
    }
  }
  float second = 0.0f;
  const uint32_t c = Nearest(row, &second);
  ++full_searches_;
  if (i == size()) {
    list_of_.push_back(0);
    row_of_.push_back(0);
    margin_.push_back(second);
    File(c, i, row);
    return;
  }
  margin_[i] = second;
  if (c == list_of_[i]) {
    cells_[c].SetRow(row_of_[i], row, dim_);
  } else {
    Unfile(i, items);
    File(c, i, row);
  }
}

}  // namespace streamrec::engine
