// RowsView: rows of floats to read, held either as one contiguous
// row-major block or in pages of kPageRows rows each. MFModel keeps its
// item factors in pages shared copy-on-write between the two Left-Right
// copies (mf_model.h); trainers, tests and the IVF trainer's own copy hold
// plain blocks. The scans, the int8 mirror and the IVF index read rows
// through a view, so both go through the same code.
//
// A `const float*` converts to a view of a contiguous block implicitly: a
// block is the one-page case, and every caller that passes a block keeps
// its call unchanged.
//
// Thread-safety: a view only reads. It stays valid while what it views is
// not resized and no page it reads is replaced: under Left-Right, while
// the writer leaves that copy alone.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

namespace streamrec::engine {

class RowsView {
 public:
  // Rows per page: 4 KB at k = 64, the unit a write to a shared page
  // copies (MFModel::kItemPageRows).
  static constexpr uint32_t kPageShift = 4;
  static constexpr uint32_t kPageRows = uint32_t{1} << kPageShift;
  using Page = std::shared_ptr<float[]>;

  // A contiguous block: row i at rows + i * dim.
  RowsView(const float* rows) : rows_(rows) {}  // NOLINT(google-explicit-constructor)
  // Pages: row i at pages[i / kPageRows] + (i % kPageRows) * dim.
  static RowsView Paged(const Page* pages) {
    RowsView v(nullptr);
    v.pages_ = pages;
    return v;
  }

  const float* row(uint32_t i, int dim) const {
    if (pages_ == nullptr) return rows_ + size_t{i} * dim;
    return pages_[i >> kPageShift].get() + size_t{i & (kPageRows - 1)} * dim;
  }

  // Copies rows [first, first + count) to `out` (count x dim, row-major),
  // a page's run of them at a time.
  void CopyTo(uint32_t first, uint32_t count, int dim, float* out) const {
    for (uint32_t r = first; r < first + count;) {
      const uint32_t take = pages_ == nullptr
                                ? first + count - r
                                : std::min(kPageRows - (r & (kPageRows - 1)), first + count - r);
      std::memcpy(out + size_t{r - first} * dim, row(r, dim), size_t{take} * dim * sizeof(float));
      r += take;
    }
  }

  // Rows [first, first + count) as one row-major block: in place when they
  // lie in one block or page, else copied into *scratch (resized to fit).
  const float* Block(uint32_t first, uint32_t count, int dim, std::vector<float>* scratch) const {
    if (pages_ == nullptr || count == 0 ||
        (first >> kPageShift) == ((first + count - 1) >> kPageShift)) {
      return row(first, dim);
    }
    scratch->resize(size_t{count} * dim);
    CopyTo(first, count, dim, scratch->data());
    return scratch->data();
  }

 private:
  const float* rows_ = nullptr;
  const Page* pages_ = nullptr;
};

}  // namespace streamrec::engine
