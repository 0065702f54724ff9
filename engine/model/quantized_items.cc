#include "engine/model/quantized_items.h"

#include <Eigen/Core>
#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#if defined(__AVX2__) || (defined(__AVX512VNNI__) && defined(__AVX512F__))
#include <immintrin.h>
#endif
#if defined(__AVX512VNNI__) && defined(__AVX512F__)
#define STREAMREC_VNNI 1
#endif

namespace streamrec::engine {
namespace {

constexpr uint8_t kZeroCode = 128;  // the unsigned code of 0

// round(x) clamped to [-127, 127], halves away from zero (as std::lround,
// without its library call: Set runs for every item an event moves); NaN
// codes as 0.
inline int Code(float x) {
  if (!(x > -127.5f)) return x != x ? 0 : -127;
  if (!(x < 127.5f)) return 127;
  return static_cast<int>(x + (x >= 0.0f ? 0.5f : -0.5f));
}

QuantizedQuery EncodeQuery(const float* q, int dim, size_t groups) {
  QuantizedQuery code;
  code.groups.assign(groups, 0);
  float max_abs = 0.0f;
  for (int f = 0; f < dim; ++f) max_abs = std::max(max_abs, std::abs(q[f]));
  if (!(max_abs > 0.0f) || !std::isfinite(max_abs)) return code;  // scores = bias
  code.scale = max_abs / 127.0f;
  const float inv = 127.0f / max_abs;
  int32_t sum = 0;
  for (int f = 0; f < dim; ++f) {
    const auto c = static_cast<int8_t>(Code(q[f] * inv));
    sum += c;
    const auto byte = static_cast<uint32_t>(static_cast<uint8_t>(c));
    code.groups[f / 4] |= static_cast<int32_t>(byte << (8 * (f % 4)));
  }
  code.correction = 128 * sum;
  return code;
}

// The per-item factor of the first-pass score: s_i s_q, and 1/||y_i|| for
// cosine. Shared by both paths so they round alike.
inline float ItemFactor(float scale, float inv_norm, float query_scale, bool cosine) {
  const float f = scale * query_scale;
  return cosine ? f * inv_norm : f;
}

}  // namespace

// The scans, with access to the block layout.
struct QuantizedScan {
  using QueryCode = QuantizedQuery;

  // Scores of the 16 items of block b into out[16] (lanes past size()
  // hold garbage the caller masks).
  // The int32 dot products by the AVX2 kernel where the build has it,
  // unless `portable` (the sums are exact either way: the same bits).
  static void ScoreBlock(const QuantizedItems& q, uint32_t b, const QueryCode& code, bool cosine,
                         const float* item_bias, bool portable, float* out) {
    const uint8_t* p = q.block(b);
    int32_t acc[QuantizedItems::kBlock] = {};
#if defined(__AVX2__)
    if (!portable) {
      DotsAvx2(p, q.groups(), code, acc);
    } else {
      DotsPortable(p, q.groups(), code, acc);
    }
#else
    (void)portable;
    DotsPortable(p, q.groups(), code, acc);
#endif
    const uint32_t first = b * QuantizedItems::kBlock;
    for (uint32_t lane = 0; lane < QuantizedItems::kBlock; ++lane) {
      const uint32_t i = std::min(first + lane, q.size_ - 1);
      const float f = ItemFactor(q.scale_[i], q.inv_norm_[i], code.scale, cosine);
      const float bias = item_bias != nullptr ? item_bias[i] : 0.0f;
      out[lane] = std::fma(static_cast<float>(acc[lane] - code.correction), f, bias);
    }
  }

  // The int32 dot products of a block's 16 items with the query.
  static void DotsPortable(const uint8_t* p, size_t groups, const QueryCode& code, int32_t* acc) {
    for (size_t g = 0; g < groups; ++g) {
      const int32_t packed = code.groups[g];
      for (uint32_t lane = 0; lane < QuantizedItems::kBlock; ++lane) {
        const uint8_t* y = p + (g * QuantizedItems::kBlock + lane) * 4;
        for (int t = 0; t < 4; ++t) {
          acc[lane] += int32_t{y[t]} * static_cast<int8_t>(packed >> (8 * t));
        }
      }
    }
  }

#if defined(__AVX2__)
  // DotsPortable on CPUs without VNNI: each line's bytes widened to int16
  // (vpmaddubsw would saturate: 255 x 127 x 2 > 32767) and multiplied
  // pairwise with the query's four codes (vpmaddwd, exact in int32); a
  // lane's two pair sums are added at the end.
  static void DotsAvx2(const uint8_t* p, size_t groups, const QueryCode& code, int32_t* acc) {
    __m256i sums[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                       _mm256_setzero_si256()};
    for (size_t g = 0; g < groups; ++g) {
      const auto packed = static_cast<uint32_t>(code.groups[g]);
      const auto w = [&](int t) {
        return static_cast<uint64_t>(static_cast<uint16_t>(
                   static_cast<int16_t>(static_cast<int8_t>(packed >> (8 * t)))))
               << (16 * t);
      };
      const __m256i query = _mm256_set1_epi64x(static_cast<int64_t>(w(0) | w(1) | w(2) | w(3)));
      const uint8_t* line = p + g * 64;
      for (int h = 0; h < 4; ++h) {
        const __m256i y =
            _mm256_cvtepu8_epi16(_mm_load_si128(reinterpret_cast<const __m128i*>(line + 16 * h)));
        sums[h] = _mm256_add_epi32(sums[h], _mm256_madd_epi16(y, query));
      }
    }
    alignas(32) int32_t pairs[2 * QuantizedItems::kBlock];
    for (int h = 0; h < 4; ++h) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(pairs + 8 * h), sums[h]);
    }
    for (uint32_t lane = 0; lane < QuantizedItems::kBlock; ++lane) {
      acc[lane] = pairs[2 * lane] + pairs[2 * lane + 1];
    }
  }
#endif

#if defined(STREAMREC_VNNI)
  static __m512 ScoreVnni(const QuantizedItems& q, uint32_t b, const QueryCode& code, bool cosine,
                          const float* item_bias, __mmask16 valid) {
    const uint8_t* p = q.block(b);
    const size_t groups = q.groups();
    // Eight independent chains hide the instruction's latency.
    __m512i acc[8];
    for (__m512i& a : acc) a = _mm512_setzero_si512();
    size_t g = 0;
    for (; g + 8 <= groups; g += 8) {
      for (int c = 0; c < 8; ++c) {
        acc[c] = _mm512_dpbusd_epi32(acc[c], _mm512_load_si512(p + (g + c) * 64),
                                     _mm512_set1_epi32(code.groups[g + c]));
      }
    }
    for (int c = 0; g < groups; ++g, ++c) {
      acc[c] = _mm512_dpbusd_epi32(acc[c], _mm512_load_si512(p + g * 64),
                                   _mm512_set1_epi32(code.groups[g]));
    }
    for (int c = 0; c < 4; ++c) acc[c] = _mm512_add_epi32(acc[c], acc[c + 4]);
    const __m512i sum =
        _mm512_add_epi32(_mm512_add_epi32(acc[0], acc[1]), _mm512_add_epi32(acc[2], acc[3]));
    const __m512 dot =
        _mm512_cvtepi32_ps(_mm512_sub_epi32(sum, _mm512_set1_epi32(code.correction)));
    const uint32_t first = b * QuantizedItems::kBlock;
    __m512 f = _mm512_mul_ps(_mm512_maskz_loadu_ps(valid, q.scale_.data() + first),
                             _mm512_set1_ps(code.scale));
    if (cosine) f = _mm512_mul_ps(f, _mm512_maskz_loadu_ps(valid, q.inv_norm_.data() + first));
    const __m512 bias = item_bias != nullptr ? _mm512_maskz_loadu_ps(valid, item_bias + first)
                                             : _mm512_setzero_ps();
    return _mm512_fmadd_ps(dot, f, bias);
  }
#endif

  // Scores of items [begin, end) into out: ApproximateScores with the
  // VNNI or AVX2 kernel where built (unless `portable`), else the
  // portable loop.
  static void Approximate(const QuantizedItems& q, const float* query, uint32_t begin, uint32_t end,
                          bool cosine, const float* item_bias, bool portable, float* out) {
    const QuantizedQuery code = EncodeQuery(query, q.dim_, q.groups_);
    for (uint32_t b = begin / QuantizedItems::kBlock; b * QuantizedItems::kBlock < end; ++b) {
      const uint32_t first = b * QuantizedItems::kBlock;
      alignas(64) float s[QuantizedItems::kBlock];
#if defined(STREAMREC_VNNI)
      const uint32_t lanes = std::min(QuantizedItems::kBlock, q.size_ - first);
      if (!portable) {
        _mm512_store_ps(
            s, ScoreVnni(q, b, code, cosine, item_bias, static_cast<__mmask16>((1u << lanes) - 1)));
      } else {
        ScoreBlock(q, b, code, cosine, item_bias, /*portable=*/true, s);
      }
#else
      ScoreBlock(q, b, code, cosine, item_bias, portable, s);
#endif
      for (uint32_t i = std::max(first, begin); i < std::min(first + QuantizedItems::kBlock, end);
           ++i) {
        out[i - begin] = s[i - first];
      }
    }
  }

  // Pushes the eligible lanes of `mask` (scores in s) into the heap.
  // Row first + lane stands for item ids[first + lane] (first + lane
  // itself when ids is null).
  static void PushLanes(const float* s, uint32_t mask, uint32_t first, const uint32_t* ids,
                        const ScanQuery& query, const uint8_t* allowed, TopKHeap* heap) {
    for (; mask != 0; mask &= mask - 1) {
      const auto lane = static_cast<uint32_t>(std::countr_zero(mask));
      const uint32_t item = ids != nullptr ? ids[first + lane] : first + lane;
      if (Eligible(query, allowed, item)) heap->Push(item, s[lane]);
    }
  }

  // The first pass of one query over blocks [b0, b1). Row r stands for
  // item ids[r] (r itself when ids is null): the item bias, the
  // eligibility and the id pushed are the item's.
  static void Candidates(const QuantizedItems& q, uint32_t b0, uint32_t b1, uint32_t n_rows,
                         const uint32_t* ids, const QueryCode& code, const ScanQuery& query,
                         const ScanOptions& options, TopKHeap* heap) {
    const float* row_bias = ids == nullptr ? options.item_bias : nullptr;
    for (uint32_t b = b0; b < b1; ++b) {
      const uint32_t first = b * QuantizedItems::kBlock;
      const uint32_t lanes = std::min(QuantizedItems::kBlock, n_rows - first);
      [[maybe_unused]] const uint32_t valid = (1u << lanes) - 1;
      alignas(64) float s[QuantizedItems::kBlock];
#if defined(STREAMREC_VNNI)
      const auto valid16 = static_cast<__mmask16>(valid);
      __m512 v = ScoreVnni(q, b, code, options.cosine, row_bias, valid16);
      if (ids != nullptr && options.item_bias != nullptr) {
        const __m512i at = _mm512_maskz_loadu_epi32(valid16, ids + first);
        v = _mm512_add_ps(
            v, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), valid16, at, options.item_bias, 4));
      }
      const uint32_t mask =
          _mm512_mask_cmp_ps_mask(valid16, v, _mm512_set1_ps(heap->threshold()), _CMP_GT_OQ);
      if (mask == 0) continue;
      _mm512_store_ps(s, v);
#else
      ScoreBlock(q, b, code, options.cosine, row_bias, /*portable=*/false, s);
      if (ids != nullptr && options.item_bias != nullptr) {
        for (uint32_t lane = 0; lane < lanes; ++lane)
          s[lane] += options.item_bias[ids[first + lane]];
      }
      const float thr = heap->threshold();
      uint32_t mask = 0;
      for (uint32_t lane = 0; lane < lanes; ++lane) mask |= uint32_t{s[lane] > thr} << lane;
#endif
      PushLanes(s, mask, first, ids, query, options.allowed, heap);
    }
  }
};

QuantizedItems::QuantizedItems(int dim) : dim_(dim), groups_((dim + 3) / 4) {}

const char* QuantizedItems::Kernel() {
#if defined(STREAMREC_VNNI)
  return "AVX-512 VNNI";
#elif defined(__AVX2__)
  return "AVX2";
#else
  return "portable loop";
#endif
}

bool QuantizedItems::UsesVnni() {
#if defined(STREAMREC_VNNI)
  return true;
#else
  return false;
#endif
}

size_t QuantizedItems::MemoryBytes() const {
  return codes_.capacity() * sizeof(Line) +
         (scale_.capacity() + inv_norm_.capacity()) * sizeof(float);
}

void QuantizedItems::Assign(RowsView items, uint32_t n, int dim) {
  dim_ = dim;
  groups_ = (dim + 3) / 4;
  size_ = 0;
  codes_.clear();
  scale_.clear();
  inv_norm_.clear();
  Resize(n);
  for (uint32_t i = 0; i < n; ++i) Set(i, items.row(i, dim));
}

void QuantizedItems::Resize(uint32_t n) {
  // Lanes of removed rows inside the last kept block go back to zero codes.
  for (uint32_t i = n; i < size_; ++i) ClearLane(i);
  const size_t blocks = (size_t{n} + kBlock - 1) / kBlock;
  Line zero;
  std::fill_n(zero.bytes, 64, kZeroCode);
  codes_.resize(blocks * groups_, zero);
  size_ = n;
  scale_.resize(n, 0.0f);
  inv_norm_.resize(n, std::numeric_limits<float>::quiet_NaN());
}

void QuantizedItems::Reserve(uint32_t n) {
  codes_.reserve((size_t{n} + kBlock - 1) / kBlock * groups_);
  scale_.reserve(n);
  inv_norm_.reserve(n);
}

void QuantizedItems::ClearLane(uint32_t i) {
  uint8_t* block = this->block(i / kBlock);
  for (size_t g = 0; g < groups_; ++g) {
    std::fill_n(block + (g * kBlock + i % kBlock) * 4, 4, kZeroCode);
  }
}

void QuantizedItems::Set(uint32_t i, const float* row) { Encode(i, row, /*portable=*/false); }

void QuantizedItems::SetPortable(uint32_t i, const float* row) {
  Encode(i, row, /*portable=*/true);
}

namespace {

#if defined(__AVX2__)
// max|row[f]| over f < n8 (a multiple of 8), NaN entries skipped as
// std::max(acc, |x|) skips them: max_ps returns its second operand when
// either is NaN, so the accumulator goes second.
inline float MaxAbsAvx2(const float* row, int n8) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 acc = _mm256_setzero_ps();
  for (int f = 0; f < n8; f += 8)
    acc = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(row + f)), acc);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc);
  float m = 0.0f;
  for (float x : lanes) m = std::max(m, x);  // exact whatever the order
  return m;
}

// The unsigned codes of row[f, f + 8) times inv, as Code(x) + 128 gives
// them, as two group words (dims f..f+3, f+4..f+7; byte t = dim 4g + t).
// Code's branches as lanes: x clamped to [-127.4, 127.4] first (every x
// outside rounds to +-127 either way, and x +- 0.5 cannot reach +-128 from
// inside), then x + (x >= 0 ? 0.5 : -0.5) truncated; NaN lanes code as 0.
inline void CodeWordsAvx2(const float* row, float inv, uint32_t* lo, uint32_t* hi) {
  const __m256 x = _mm256_mul_ps(_mm256_loadu_ps(row), _mm256_set1_ps(inv));
  const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  const __m256 c = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-127.4f)), _mm256_set1_ps(127.4f));
  const __m256 half = _mm256_blendv_ps(_mm256_set1_ps(-0.5f), _mm256_set1_ps(0.5f),
                                       _mm256_cmp_ps(c, _mm256_setzero_ps(), _CMP_GE_OQ));
  __m256i code = _mm256_cvttps_epi32(_mm256_add_ps(c, half));
  code = _mm256_andnot_si256(_mm256_castps_si256(nan), code);
  code = _mm256_add_epi32(code, _mm256_set1_epi32(128));
  // The low byte of each int32, four per 128-bit lane, into its low word.
  const __m256i pick =
      _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1,
                       -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i bytes = _mm256_shuffle_epi8(code, pick);
  *lo = static_cast<uint32_t>(_mm256_extract_epi32(bytes, 0));
  *hi = static_cast<uint32_t>(_mm256_extract_epi32(bytes, 4));
}
#endif

}  // namespace

void QuantizedItems::Encode(uint32_t i, const float* row, bool portable) {
  assert(i < size_);
  // Whole groups of 8 dimensions go through AVX2 where the build has it,
  // the rest through the portable loop; either gives the same bytes
  // (tested: SetPortable).
  int simd = 0;
  float max_abs = 0.0f;
#if defined(__AVX2__)
  if (!portable) simd = dim_ / 8 * 8;
  if (simd > 0) max_abs = MaxAbsAvx2(row, simd);
#else
  (void)portable;
#endif
  for (int f = simd; f < dim_; ++f) max_abs = std::max(max_abs, std::abs(row[f]));
  // The norm as TopNScan computes it, so cosine scores agree with its.
  const float norm = Eigen::Map<const Eigen::VectorXf>(row, dim_).norm();
  const bool usable = max_abs > 0.0f && std::isfinite(max_abs);
  const float inv = usable ? 127.0f / max_abs : 0.0f;
  uint8_t* block = this->block(i / kBlock);
  const uint32_t lane = i % kBlock;
  // Dimension group g of this item: 4 bytes of line g of the block (one
  // store each, not four).
  const auto put = [&](size_t g, uint32_t word) {
    std::memcpy(block + (g * kBlock + lane) * 4, &word, 4);
  };
  size_t g = 0;
#if defined(__AVX2__)
  for (; g * 4 < size_t(simd); g += 2) {
    uint32_t lo = 0, hi = 0;
    CodeWordsAvx2(row + g * 4, inv, &lo, &hi);
    put(g, lo);
    put(g + 1, hi);
  }
#endif
  for (; g < groups_; ++g) {
    uint8_t bytes[4];
    for (size_t t = 0; t < 4; ++t) {
      const size_t f = g * 4 + t;
      bytes[t] = f < size_t(dim_) ? static_cast<uint8_t>(Code(row[f] * inv) + 128) : kZeroCode;
    }
    uint32_t word = 0;
    std::memcpy(&word, bytes, 4);
    put(g, word);
  }
  scale_[i] = usable ? max_abs / 127.0f : 0.0f;
  inv_norm_[i] = norm > 0.0f ? 1.0f / norm : std::numeric_limits<float>::quiet_NaN();
}

void QuantizedItems::Decode(uint32_t i, float* out) const {
  const uint8_t* b = block(i / kBlock);
  const uint32_t lane = i % kBlock;
  for (int f = 0; f < dim_; ++f) {
    const uint8_t c = b[(size_t(f / 4) * kBlock + lane) * 4 + f % 4];
    out[f] = scale_[i] * static_cast<float>(int{c} - 128);
  }
}

void QuantizedItems::ApproximateScores(const float* query, uint32_t begin, uint32_t end,
                                       bool cosine, const float* item_bias, float* out) const {
  QuantizedScan::Approximate(*this, query, begin, end, cosine, item_bias, /*portable=*/false, out);
}

void QuantizedItems::ApproximateScoresPortable(const float* query, uint32_t begin, uint32_t end,
                                               bool cosine, const float* item_bias,
                                               float* out) const {
  QuantizedScan::Approximate(*this, query, begin, end, cosine, item_bias, /*portable=*/true, out);
}

float ExactScore(RowsView items, int dim, uint32_t i, const float* query,
                 const ScanOptions& options) {
  const Eigen::Map<const Eigen::VectorXf> y(items.row(i, dim), dim);
  float s = y.dot(Eigen::Map<const Eigen::VectorXf>(query, dim));
  if (options.cosine) {
    const float norm = y.norm();
    s *= norm > 0.0f ? 1.0f / norm : std::numeric_limits<float>::quiet_NaN();
  }
  if (options.item_bias != nullptr) s += options.item_bias[i];
  return s;
}

void QuantizedTopNScan(const QuantizedItems& quantized, RowsView items, uint32_t n_items,
                       int dim, std::span<const ScanQuery> queries, size_t n,
                       const ScanOptions& options, const QuantizedScanOptions& qoptions,
                       std::vector<std::vector<ScoredItem>>* results) {
  const size_t nq = queries.size();
  results->assign(nq, {});
  if (nq == 0 || n == 0) return;
  n_items = std::min(n_items, quantized.size());
  std::vector<QuantizedQuery> codes;
  std::vector<TopKHeap> heaps;
  codes.reserve(nq);
  heaps.reserve(nq);
  for (const ScanQuery& q : queries) {
    codes.push_back(EncodeQuery(q.vector, quantized.dim(), (quantized.dim() + 3) / 4));
    heaps.emplace_back(
        std::max(QueryLength(q, n) * qoptions.candidate_factor, qoptions.min_candidates));
  }
  // Blocks per chunk: a chunk's codes (64 KB at k = 64) stay in L2 while
  // every query of the batch reads them.
  const uint32_t chunk = std::max<uint32_t>(1, static_cast<uint32_t>(65536 / (dim + 3) / 16));
  const uint32_t blocks = (n_items + QuantizedItems::kBlock - 1) / QuantizedItems::kBlock;
  for (uint32_t b0 = 0; b0 < blocks; b0 += chunk) {
    const uint32_t b1 = std::min(blocks, b0 + chunk);
    for (size_t j = 0; j < nq; ++j) {
      QuantizedScan::Candidates(quantized, b0, b1, n_items, nullptr, codes[j], queries[j], options,
                                &heaps[j]);
    }
  }
  for (size_t j = 0; j < nq; ++j) {
    (*results)[j] = RescoreExactly(items, dim, heaps[j].TakeSorted(), queries[j].vector, options,
                                   QueryLength(queries[j], n));
  }
}

QuantizedQuery QuantizedQuery::Encode(const float* query, int dim) {
  return EncodeQuery(query, dim, (dim + 3) / 4);
}

void QuantizedCandidates(const QuantizedItems& rows, const uint32_t* ids,
                         const QuantizedQuery& code, const ScanQuery& query,
                         const ScanOptions& options, TopKHeap* heap) {
  const uint32_t blocks = (rows.size() + QuantizedItems::kBlock - 1) / QuantizedItems::kBlock;
  QuantizedScan::Candidates(rows, 0, blocks, rows.size(), ids, code, query, options, heap);
}

std::vector<ScoredItem> RescoreExactly(RowsView items, int dim,
                                       const std::vector<ScoredItem>& candidates,
                                       const float* query, const ScanOptions& options, size_t n) {
  TopKHeap top(n);
  for (const ScoredItem& c : candidates) {
    top.Push(c.item, ExactScore(items, dim, c.item, query, options));
  }
  return top.TakeSorted();
}

}  // namespace streamrec::engine
