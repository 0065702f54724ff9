// PagedRows<T>: many short rows of T, one per id (a user's history), kept
// in flat pages of kPageRows rows: each page is one array of its rows'
// elements, one row after another, with each row's end. A std::vector per
// row cost 24 bytes of header and a malloc chunk (8 bytes of header, and
// rounding) for every row; a page costs 88 bytes of header for 16 rows.
// The implicit history's user rows at 500k users x 5M cells: 91.8 MB
// counted -> 82.5 MB, and `serve`'s RSS after a restart from the snapshot
// 401.9 -> 383.0 MB. SeenLists (engine/live) keeps its lists the same way,
// in pages it also shares copy-on-write.
//
// Appending to a row moves the elements of the rows after it in its page
// (the page's other rows are a few hundred bytes in all, at ~10 elements a
// row; a row of n elements makes the appends before it in its page cost a
// move of n). Pages grow by an eighth (growth.h); Compact trims them.
//
// A row's elements keep their positions in the row (an append goes at its
// end), so positions within a row may be kept elsewhere; pointers and
// spans into a page are invalidated by any append to or clear of a row of
// that page.
//
// Thread-safety: none; one owner.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/growth.h"

namespace streamrec::engine {

template <typename T>
class PagedRows {
 public:
  static constexpr uint32_t kPageRows = 16;

  // Rows (ids 0 .. size() - 1), empty or not.
  size_t size() const { return rows_; }

  // Row r (< size()), in the order its elements were appended.
  std::span<const T> Row(size_t r) const {
    const std::vector<T>& page = cells_[r / kPageRows];
    const uint32_t begin = Begin(r);
    return {page.data() + begin, ends_[r / kPageRows][r % kPageRows] - begin};
  }
  // The same, to change elements in place (not the row's length).
  std::span<T> MutableRow(size_t r) {
    std::vector<T>& page = cells_[r / kPageRows];
    const uint32_t begin = Begin(r);
    return {page.data() + begin, ends_[r / kPageRows][r % kPageRows] - begin};
  }

  // At least n rows (never fewer); the new ones empty.
  void Resize(size_t n) {
    if (n <= rows_) return;
    rows_ = n;
    const size_t pages = (n + kPageRows - 1) / kPageRows;
    ResizeGrowing(&cells_, pages);
    ResizeGrowing(&ends_, pages);  // zero: every row of a new page empty
  }
  // Adds value at the end of row r (< size()).
  void Append(size_t r, const T& value) {
    std::vector<T>& page = cells_[r / kPageRows];
    std::array<uint32_t, kPageRows>& ends = ends_[r / kPageRows];
    const uint32_t at = ends[r % kPageRows];
    if (page.size() == page.capacity()) page.reserve(GrownCapacity(page.size()));
    page.insert(page.begin() + at, value);
    for (uint32_t k = r % kPageRows; k < kPageRows; ++k) ++ends[k];
  }
  // Empties row r (< size()), giving its page the memory back.
  void ClearRow(size_t r) {
    std::vector<T>& page = cells_[r / kPageRows];
    std::array<uint32_t, kPageRows>& ends = ends_[r / kPageRows];
    const uint32_t begin = Begin(r);
    const uint32_t len = ends[r % kPageRows] - begin;
    if (len == 0) return;
    page.erase(page.begin() + begin, page.begin() + begin + len);
    for (uint32_t k = r % kPageRows; k < kPageRows; ++k) ends[k] -= len;
    page.shrink_to_fit();
  }
  // n empty rows, and no memory kept from before.
  void Assign(size_t n) {
    std::vector<std::vector<T>>().swap(cells_);
    std::vector<std::array<uint32_t, kPageRows>>().swap(ends_);
    rows_ = 0;
    Resize(n);
    cells_.shrink_to_fit();
    ends_.shrink_to_fit();
  }
  // Room for `count` elements in all in the page of row r (< size()), so
  // that appends filling it in order do not reallocate.
  void ReservePage(size_t r, size_t count) { cells_[r / kPageRows].reserve(count); }

  // Gives every page exactly the memory its rows hold (RepackRows: all at
  // once when pages hold much slack).
  void Compact() {
    RepackRows(&cells_);
    ends_.shrink_to_fit();
  }

  // Bytes held: the pages' elements and their headers.
  size_t MemoryBytes() const {
    size_t bytes = cells_.capacity() * sizeof(std::vector<T>) +
                   ends_.capacity() * sizeof(std::array<uint32_t, kPageRows>);
    for (const std::vector<T>& page : cells_) bytes += page.capacity() * sizeof(T);
    return bytes;
  }

  // Hints the memory Row(r) reads first (its page's header and ends), for
  // a caller that will read the row soon. r < size().
  void PrefetchHeader(size_t r) const {
    __builtin_prefetch(&cells_[r / kPageRows]);
    const std::array<uint32_t, kPageRows>& ends = ends_[r / kPageRows];
    __builtin_prefetch(&ends[r % kPageRows]);
    if (r % kPageRows != 0) __builtin_prefetch(&ends[r % kPageRows - 1]);
  }

 private:
  uint32_t Begin(size_t r) const {
    return r % kPageRows == 0 ? 0 : ends_[r / kPageRows][r % kPageRows - 1];
  }

  size_t rows_ = 0;
  std::vector<std::vector<T>> cells_;                  // per page
  std::vector<std::array<uint32_t, kPageRows>> ends_;  // per page: each row's end
};

}  // namespace streamrec::engine
