// ImplicitOnlineUpdater's row updates: which cells of a row an update
// reads (PickCells, and ItemMoves for a long item row), and the coordinate
// descent on one row against the other side's rows and Gramian
// (UpdateRow), with its SIMD helpers. Options, Gramians, hints (Prefetch)
// and the entry points (Apply, Step) are in implicit_online.cc; the
// history in implicit_history.cc.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "engine/core/random.h"
#include "engine/online/implicit_online.h"

#if defined(__AVX__)
#include <immintrin.h>
#endif

namespace streamrec::engine {
namespace {
#if defined(__AVX__)
// In-register transpose of an 8 x 8 float block (rows r[0..7]).
inline void Transpose8x8(__m256 r[8]) {
  __m256 t[8];
  for (int j = 0; j < 8; j += 2) {
    t[j] = _mm256_unpacklo_ps(r[j], r[j + 1]);
    t[j + 1] = _mm256_unpackhi_ps(r[j], r[j + 1]);
  }
  __m256 u[8];
  for (int j = 0; j < 8; j += 4) {
    u[j] = _mm256_shuffle_ps(t[j], t[j + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[j + 1] = _mm256_shuffle_ps(t[j], t[j + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[j + 2] = _mm256_shuffle_ps(t[j + 1], t[j + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[j + 3] = _mm256_shuffle_ps(t[j + 1], t[j + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int j = 0; j < 4; ++j) {
    r[j] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x20);
    r[j + 4] = _mm256_permute2f128_ps(u[j], u[j + 4], 0x31);
  }
}
#endif

// Eight floats as one value (the vector extension of GCC and Clang): an AVX
// register where the target has AVX, two SSE registers otherwise, from the
// same source. The row update's loops over the picked cells run on these,
// eight cells a step with the cells padded to a multiple of eight (zeros,
// which add nothing), so a row of 3 cells costs one step and no scalar tail.
// may_alias: they are read and written over float arrays (aligned to 32
// bytes; Load and Store below where not).
using F8 = float __attribute__((vector_size(32), may_alias));
using F4 = float __attribute__((vector_size(16)));

// The sum of v's lanes, as a tree: (0+4, 1+5, 2+6, 3+7), then pairs.
inline float Sum(const F8& v) {
  const F4 h =
      __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
  const F4 q = h + __builtin_shufflevector(h, h, 2, 3, 2, 3);
  return q[0] + q[1];
}

// Unaligned loads and stores of eight floats (memcpy: one unaligned move).
inline void Load(const float* p, F8* v) { std::memcpy(v, p, sizeof(F8)); }
inline void Store(const F8& v, float* p) { std::memcpy(p, &v, sizeof(F8)); }

// y[0, k) += s v[0, k) (and t u[0, k)), eight floats a step.
inline void Axpy(int k, float s, const float* v, float* y) {
  int r = 0;
  for (; r + 8 <= k; r += 8) {
    F8 yr, vr;
    Load(y + r, &yr);
    Load(v + r, &vr);
    Store(yr + s * vr, y + r);
  }
  for (; r < k; ++r) y[r] += s * v[r];
}
inline void Axpy2(int k, float s, const float* v, float t, const float* u, float* y) {
  int r = 0;
  for (; r + 8 <= k; r += 8) {
    F8 yr, vr, ur;
    Load(y + r, &yr);
    Load(v + r, &vr);
    Load(u + r, &ur);
    Store(yr + (s * vr + t * ur), y + r);
  }
  for (; r < k; ++r) y[r] += s * v[r] + t * u[r];
}

// out[f * stride + t] = row(ids[t])[f]: the picked rows (row(id): its k
// floats), gathered coordinate by coordinate (coordinate f of every row
// contiguous), which is how the coordinate loop reads them; the lanes [m,
// stride) of each coordinate are zeroed (out 32-byte aligned, stride a
// multiple of 8). 8 x 8 register transposes where AVX is available, the
// last group of eight filled up with `zeros` (k zero floats): most user
// rows hold fewer than 8 cells, and moving their floats one by one was
// ~12% of a user row's update.
template <typename Row>
void GatherColumns(const Row& row, int k, std::span<const uint32_t> ids, size_t stride,
                   const float* zeros, float* out) {
  const auto m = static_cast<uint32_t>(ids.size());
  uint32_t t = 0;
#if defined(__AVX__)
  for (; t < m; t += 8) {
    const float* src[8];
    for (uint32_t j = 0; j < 8; ++j) src[j] = t + j < m ? row(ids[t + j]) : zeros;
    int f = 0;
    for (; f + 8 <= k; f += 8) {
      __m256 r[8];
      for (int j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(src[j] + f);
      Transpose8x8(r);
      for (int j = 0; j < 8; ++j) _mm256_storeu_ps(out + size_t(f + j) * stride + t, r[j]);
    }
    for (; f < k; ++f) {
      for (int j = 0; j < 8; ++j) out[size_t(f) * stride + t + j] = src[j][f];
    }
  }
#else
  (void)zeros;
  if (m % 8 != 0) {
    // The last eight lanes of each coordinate zeroed first (the rows then
    // overwrite those below m).
    for (int f = 0; f < k; ++f) *reinterpret_cast<F8*>(out + size_t(f + 1) * stride - 8) = F8{};
  }
  for (; t < m; ++t) {
    const float* src = row(ids[t]);
    for (int f = 0; f < k; ++f) out[size_t(f) * stride + t] = src[f];
  }
#endif
}

// `p` rounded up to a 32-byte boundary (scratch holds 8 floats more than it needs).
inline F8* AlignedF8(std::vector<float>& scratch) {
  const auto at = reinterpret_cast<uintptr_t>(scratch.data());
  return reinterpret_cast<F8*>((at + 31) & ~uintptr_t{31});
}

}  // namespace

void ImplicitOnlineUpdater::UpdateRows(MFModel* model, uint32_t u, uint32_t i, CellPos pos) {
  if (row_updates_ >= options_.gramian_refresh_interval) Resync(*model);
  TrackNewRows(*model);
  // Reads through a const model: the non-const user_factors(u) is for
  // writing (it takes the page for this copy, MFModel).
  const MFModel& rows = *model;
  const RowsView items = rows.item_rows();
  const int k = rank_;
  auto user_row = [&](uint32_t v) { return rows.user_factors(v); };
  UpdateRow(
      model->user_factors(u), user_cells_.Row(u), pos.in_user, options_.max_user_cells,
      [&](uint32_t j) { return items.row(j, k); }, item_gramian_, &user_gramian_);
  if (!options_.update_items) return;
  const std::span<const Cell> cells(item_cells_[i]);
  float step = 0.0f;
  if (ItemMoves(i, static_cast<uint32_t>(cells.size()), row_updates_, &step)) {
    UpdateRow(model->item_factors(i), cells, pos.in_item, options_.max_item_cells, user_row,
              user_gramian_, &item_gramian_, step);
  } else {
    ++row_updates_;  // counted all the same: the clock Prefetch predicts the picks by
  }
}

bool ImplicitOnlineUpdater::ItemMoves(uint32_t i, uint32_t n, uint64_t updates, float* step) const {
  *step = 0.0f;
  const uint32_t m = std::min(n, options_.max_item_cells);
  const float floor = options_.min_item_step;
  if (m >= n || floor <= 0.0f) return true;
  const float share = static_cast<float>(m - 1) / static_cast<float>(n - 1);
  if (share >= floor) return true;
  *step = floor;
  const double draw = UnitInterval(Mix64(updates * 0x9E3779B97F4A7C15ull + i));
  return draw < double{share / floor};
}

ImplicitOnlineUpdater::Picks ImplicitOnlineUpdater::PickCells(uint32_t n, uint32_t max_cells,
                                                              uint64_t updates) {
  Picks p;
  p.n = n;
  p.m = std::min(n, max_cells);
  // Cells beyond the cap: a strided subset of the others, each standing for
  // (n-1)/(m-1) of them; the offset rotates so every cell takes its turn.
  p.stride = p.m < n ? static_cast<double>(n - 1) / (p.m - 1) : 1.0;
  p.offset =
      p.m < n ? static_cast<uint32_t>(updates % static_cast<uint64_t>(p.stride)) : uint32_t{0};
  return p;
}

uint32_t ImplicitOnlineUpdater::PickedIndex(const Picks& p, uint32_t t, uint32_t newest,
                                            float* weight) {
  if (weight) *weight = 1.0f;
  if (p.m == p.n) return t;
  if (t == p.m - 1) return newest;
  if (weight) *weight = static_cast<float>(p.stride);
  uint32_t idx = std::min(p.n - 2, p.offset + static_cast<uint32_t>(t * p.stride));
  if (idx >= newest) ++idx;  // skip the newest: it is the last slot
  return idx;
}

template <typename C, typename Row>
void ImplicitOnlineUpdater::UpdateRow(float* x, std::span<const C> cells, uint32_t newest,
                                      uint32_t max_cells, const Row& other,
                                      const Eigen::MatrixXf& other_gramian,
                                      Eigen::MatrixXf* own_gramian, float step) {
  const int k = rank_;
  const Picks p = PickCells(static_cast<uint32_t>(cells.size()), max_cells, row_updates_);
  const uint32_t n = p.n;
  const uint32_t m = p.m;
  // The cells in steps of eight (F8), padded with zeros.
  const uint32_t w = (m + 7) / 8;
  const size_t stride = size_t{w} * 8;
  Eigen::Map<Eigen::VectorXf> xv(x, k);
  // Scratch for the padded cells: grown to the longest row seen, never
  // shrunk, so an event allocates nothing; 8 floats more than needed, for
  // the 32-byte alignment of F8.
  if (stride > scratch_cells_) {
    scratch_cells_ = static_cast<uint32_t>(stride);
    ids_.resize(stride);
    a_.resize(stride + 8);
    d_.resize(stride + 8);
    e_.resize(stride + 8 + k);  // e, then h (below)
    cols_.resize(stride * k + 8);
    dcols_.resize(stride * k + 8);
  }
  F8* const a = AlignedF8(a_);
  F8* const d = AlignedF8(d_);
  F8* const e = AlignedF8(e_);
  float* const h = e_.data() + stride + 8;  // past e's aligned stride floats
  F8* const cols = AlignedF8(cols_);        // k x w: coordinate f of the cells' rows y_j
  F8* const dcols = AlignedF8(dcols_);      // k x w: diag(d) cols
  float* const af = reinterpret_cast<float*>(a);
  float* const df = reinterpret_cast<float*>(d);
  // The picked cells' rows, prefetched first: the reads are random and
  // mostly cache misses, so issue them all before using any.
  for (uint32_t t = 0; t < m; ++t) {
    float s = 1.0f;
    const uint32_t idx = PickedIndex(p, t, newest, &s);
    const C& cell = cells[idx];
    ids_[t] = cell.id;
    const float c = 1.0f + options_.alpha * StrengthOf(cell);
    af[t] = s * c;
    df[t] = s * (c - 1.0f);
    PrefetchBytes(other(cell.id), sizeof(float) * k);
  }
  // The weights' lanes past m keep what they held (finite): the cells'
  // lanes there are zero (GatherColumns), so every product with them is.
  if (zeros_.size() != size_t(k)) zeros_.assign(size_t(k), 0.0f);
  GatherColumns(other, k, std::span<const uint32_t>(ids_.data(), m), stride, zeros_.data(),
                reinterpret_cast<float*>(cols));
  // With the weighted predictions e_j = d_j x·y_j, coordinate f needs
  // Σ_j e_j y_jf (one dot) and, after moving x_f by δ, e += δ dcols_f (one
  // axpy); Σ_j a_j y_jf and Σ_j d_j y_jf² are fixed for the row, and so is
  // h_f = Σ_j d_j y_jf y_j(f-1), which the loop below uses to look one
  // coordinate ahead.
  col_a_.resize(k);
  col_d_.resize(k);
  for (int f = 0; f < k; ++f) {
    const F8* cf = cols + size_t(f) * w;
    F8* dc = dcols + size_t(f) * w;
    F8 sa{}, sd{}, sh{};
    for (uint32_t t = 0; t < w; ++t) {
      dc[t] = d[t] * cf[t];
      sa += a[t] * cf[t];
      sd += cf[t] * dc[t];
      if (f > 0) sh += cf[t] * dcols[size_t(f - 1) * w + t];
    }
    col_a_[f] = Sum(sa);
    col_d_[f] = Sum(sd);
    h[f] = f > 0 ? Sum(sh) + other_gramian(f, f - 1) : 0.0f;
  }
  for (uint32_t t = 0; t < w; ++t) {
    F8 even{}, odd{};
    int f = 0;
    for (; f + 1 < k; f += 2) {
      even += x[f] * dcols[size_t(f) * w + t];
      odd += x[f + 1] * dcols[size_t(f + 1) * w + t];
    }
    if (f < k) even += x[f] * dcols[size_t(f) * w + t];
    e[t] = even + odd;
  }
  const auto lambda = static_cast<float>(
      options_.regularization_exponent == 0.0f
          ? double{options_.regularization}
          : options_.regularization *
                std::pow(static_cast<double>(n), double{options_.regularization_exponent}));
  // The denominators are fixed for the row: their reciprocals, all at once,
  // keep a division off the coordinate loop's sequential path.
  inv_denom_.resize(k);
  inv_denom_.array() = (col_d_ + other_gramian.diagonal()).array() + lambda;
  inv_denom_ = inv_denom_.cwiseInverse();
  for (int f = 0; f < k; ++f) h[f] *= inv_denom_[f];
  old_x_ = xv;
  // g = S x, kept current by an axpy per coordinate (S symmetric: column f
  // is row f), which keeps a k-long reduction off the sequential path.
  g_.noalias() = other_gramian * xv;
  // Coordinate f moves x_f to (Σ_j a_j y_jf - Σ_j e_j y_jf - g_f + x_f
  // (Σ_j d_j y_jf² + S_ff)) / denom_f, with e and g holding every earlier
  // coordinate's move. The loop applies a move to e and g one coordinate
  // late and adds the previous move's share by hand (δ_(f-1) h_f, h_f with
  // S_f(f-1)), so that the dot over e and the read of g for coordinate f do
  // not wait for the coordinate before it: each step waits on the last
  // only through one multiply-add.
  for (int sweep = 0; sweep < options_.sweeps; ++sweep) {
    // In the last sweep, only the coordinates still to come read g: the
    // axpy at coordinate f updates g from f + 1 on (from the multiple of
    // eight below it), about half of it in all, and the moves of the last
    // coordinate go nowhere. The entries read are the same sums as before.
    const bool last_sweep = sweep + 1 == options_.sweeps;
    float last = 0.0f;  // δ of coordinate f - 1, not yet in e and g
    for (int f = 0; f < k; ++f) {
      const F8* cf = cols + size_t(f) * w;
      F8 dot = cf[0] * e[0];
      for (uint32_t t = 1; t < w; ++t) dot += cf[t] * e[t];
      const float fixed = col_a_[f] + x[f] * (col_d_[f] + other_gramian(f, f));
      const float ahead = (fixed - Sum(dot) - g_[f]) * inv_denom_[f] - x[f];
      const float delta = ahead - last * h[f];
      if (f > 0) {
        const F8* dc = dcols + size_t(f - 1) * w;
        for (uint32_t t = 0; t < w; ++t) e[t] += last * dc[t];
        const int from = last_sweep ? (f + 1) & ~7 : 0;
        Axpy(k - from, last, other_gramian.data() + size_t(f - 1) * k + from, g_.data() + from);
      }
      x[f] += delta;
      last = delta;
    }
    if (last_sweep) break;
    const F8* dc = dcols + size_t(k - 1) * w;
    for (uint32_t t = 0; t < w; ++t) e[t] += last * dc[t];
    Axpy(k, last, other_gramian.data() + size_t(k - 1) * k, g_.data());
  }
  if (m < n) {
    // The subset's sums are unbiased but noisy estimates of the row's: take
    // only the share of the step that the subset stands for, so the noise
    // averages out over many events instead of jolting the row each time.
    const float share = step > 0.0f ? step : static_cast<float>(m - 1) / static_cast<float>(n - 1);
    xv = old_x_ + share * (xv - old_x_);
  }
  // Rank-2 patch of this side's Gramian, column by column (no k x k
  // temporaries).
  for (int c = 0; c < k; ++c) {
    Axpy2(k, x[c], x, -old_x_[c], old_x_.data(), own_gramian->data() + size_t(c) * k);
  }
  ++row_updates_;
}

}  // namespace streamrec::engine
