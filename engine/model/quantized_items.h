// QuantizedItems: an int8 copy of the item factors, and the top-N scan
// that reads it first and the float rows only for a short list.
//
// Why: an exact scan of 100k items at k = 64 reads 25.6 MB per query and
// sits at the memory-bandwidth wall (topn.h). The int8 copy is a quarter of
// that, and AVX-512 VNNI multiplies 64 int8 pairs per instruction against
// 16 float pairs, so the first pass is ~4x cheaper in bytes and more in
// arithmetic. Without VNNI an AVX2 kernel widens the codes to int16
// (vpmaddwd): 100k items, one query, 1.58 -> 0.60 ms p50 against the
// portable loop on an AVX2-only EPYC (`bench topn`). Its scores are
// approximate; the best `candidates` of them are re-scored exactly in
// float, which is what keeps recall@10 against the exact scan at >= 0.99
// (measured: quantized_items_test.cc, and `streamrec bench topn`).
//
// Quantisation (symmetric, per row): item i stores round(y / s_i) with
// s_i = max|y| / 127, offset by 128 into [1, 255] (VNNI multiplies unsigned
// by signed bytes); a query stores round(q / s_q) in [-127, 127]. The int32
// dot product is exact, so every code path (VNNI, AVX2 or the portable loop)
// gives bit-identical first-pass scores.
//
// Layout: blocks of 16 items; in a block, dimension group g (4 dims) of
// all 16 items is one 64-byte line, so one VNNI instruction scores 4 dims
// of 16 items.
//
// Thread-safety: const methods from any number of threads; Set/Assign/
// Resize from one writer with no concurrent reader (the Recommender's
// Left-Right discipline).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/model/topn.h"

namespace streamrec::engine {

class QuantizedItems {
 public:
  static constexpr uint32_t kBlock = 16;  // items per block

  explicit QuantizedItems(int dim = 0);

  int dim() const { return dim_; }
  uint32_t size() const { return size_; }
  // Bytes held (codes, scales, norms).
  size_t MemoryBytes() const;

  // Replaces everything with rows [0, n) of `items` (n x dim, row-major).
  void Assign(RowsView items, uint32_t n, int dim);
  // Grows or shrinks to n rows; new rows are zero vectors until Set.
  void Resize(uint32_t n);
  // Room for n rows without reallocating (a Resize up to n keeps it).
  void Reserve(uint32_t n);
  // Row i (< size()) from `row` (size dim). Runs for every item an event
  // moves: AVX2 where the build has it.
  void Set(uint32_t i, const float* row);
  // The same with the portable loop, whatever the CPU has: the reference
  // the SIMD path must match byte for byte (tests).
  void SetPortable(uint32_t i, const float* row);

  // Row i decoded back to floats (out size dim): tests and diagnostics.
  void Decode(uint32_t i, float* out) const;

  // The approximate inner product of `query` (size dim) with each item in
  // [begin, end), written to out[0, end - begin): what the first pass
  // ranks by. `cosine` divides by the item's exact norm (NaN for a zero
  // row); `item_bias` (or null) is added.
  void ApproximateScores(const float* query, uint32_t begin, uint32_t end, bool cosine,
                         const float* item_bias, float* out) const;

  // The same with the portable loop, whatever the CPU has: the reference
  // the SIMD path must match bit for bit (tests).
  void ApproximateScoresPortable(const float* query, uint32_t begin, uint32_t end, bool cosine,
                                 const float* item_bias, float* out) const;

  // True if this build scores with AVX-512 VNNI.
  static bool UsesVnni();
  // The first pass's kernel in this build: "AVX-512 VNNI", "AVX2" or
  // "portable loop".
  static const char* Kernel();

 private:
  friend struct QuantizedScan;

  size_t groups() const { return groups_; }
  void ClearLane(uint32_t i);
  void Encode(uint32_t i, const float* row, bool portable);
  // One 64-byte line: dimension group g of a block's 16 items.
  struct alignas(64) Line {
    uint8_t bytes[64];
  };
  // Bytes of the whole array, not of one Line's `bytes` member: an offset
  // past a member array's 64 bytes is out of bounds (UBSan's -fsanitize=bounds
  // under clang says so).
  const uint8_t* block(uint32_t b) const {
    return reinterpret_cast<const uint8_t*>(codes_.data()) + size_t{b} * groups_ * 64;
  }
  uint8_t* block(uint32_t b) {
    return reinterpret_cast<uint8_t*>(codes_.data()) + size_t{b} * groups_ * 64;
  }

  int dim_ = 0;
  size_t groups_ = 0;  // ceil(dim / 4)
  uint32_t size_ = 0;
  std::vector<Line> codes_;      // blocks x groups lines of 16 lanes x 4 bytes
  std::vector<float> scale_;     // s_i per item
  std::vector<float> inv_norm_;  // 1 / ||y_i|| (NaN for a zero row)
};

// A query in the first pass's int8 code: per dimension group, four signed
// codes packed as the int32 VNNI broadcasts; `correction` takes the items'
// +128 offset back out (Σ (y + 128) q = Σ y q + 128 Σ q).
struct QuantizedQuery {
  static QuantizedQuery Encode(const float* query, int dim);

  std::vector<int32_t> groups;
  float scale = 0.0f;  // 0 for a zero query: every score is its bias
  int32_t correction = 0;
};

// The first pass of one query over every row of `rows`, row r standing for
// item ids[r]: each row whose item is eligible (options.allowed, the
// query's exclusions) and whose approximate score, plus
// options.item_bias[ids[r]], beats the heap's threshold is pushed as
// ids[r]. What an IVF index (ivf_index.h) runs on each list it probes.
void QuantizedCandidates(const QuantizedItems& rows, const uint32_t* ids,
                         const QuantizedQuery& code, const ScanQuery& query,
                         const ScanOptions& options, TopKHeap* heap);

// The exact score of item i of `items` (n x dim) for `query`, as TopNScan
// computes it (to rounding): cosine and item bias as `options` say.
float ExactScore(RowsView items, int dim, uint32_t i, const float* query,
                 const ScanOptions& options);

// The n best of `candidates` by their exact score against `items` (as
// TopNScan computes it, to rounding), best first.
std::vector<ScoredItem> RescoreExactly(RowsView items, int dim,
                                       const std::vector<ScoredItem>& candidates,
                                       const float* query, const ScanOptions& options, size_t n);

struct QuantizedScanOptions {
  // First-pass candidates re-scored exactly per query: max(n * factor,
  // minimum). More costs a little per query and raises recall.
  size_t candidate_factor = 4;
  size_t min_candidates = 64;
};

// TopNScan's contract (topn.h), answered from `quantized` (which must
// mirror rows [0, n_items) of `items`) and then re-scored exactly from
// `items`: the same eligible items, the same exact scores and tie order for
// those it returns; an item can be missed only if its approximate score
// fell outside the candidates (recall < 1 is possible, measured).
void QuantizedTopNScan(const QuantizedItems& quantized, RowsView items, uint32_t n_items,
                       int dim, std::span<const ScanQuery> queries, size_t n,
                       const ScanOptions& options, const QuantizedScanOptions& qoptions,
                       std::vector<std::vector<ScoredItem>>* results);

}  // namespace streamrec::engine
