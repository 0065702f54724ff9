// How the engine's long-lived rows grow when full: by an eighth (at least
// 4 elements), not double. After a replay they are trimmed to their size
// (Recommender::CompactMemory, the IVF index's FileAll), so a doubling row
// doubled at its first live insert: 500k live events after a 5M-event
// replay at 500k users x 100k items took the implicit history from 111 to
// 199 MB and the IVF index from 19 to 28 MB (`streamrec bench apply`;
// 137 and 23 MB this way). Each element is copied ~8 times more over a
// row's growth: a memmove of a few bytes each, against the microseconds an
// event's model step takes.
//
// Used by the implicit history (engine/online, its user rows in PagedRows),
// the IVF index's cells (engine/model) and the copies of seen-list pages
// (engine/live).
//
// Thread-safety: pure functions on the caller's vectors.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace streamrec::engine {

// The capacity a full row of `size` elements grows to.
constexpr size_t GrownCapacity(size_t size) { return size + size / 8 + 4; }

// push_back, growing a full `row` to GrownCapacity.
template <typename T>
void AppendGrowing(std::vector<T>* row, const T& value) {
  if (row->size() == row->capacity()) row->reserve(GrownCapacity(row->size()));
  row->push_back(value);
}

// resize to at least n (never shrinks), growing the capacity to
// GrownCapacity (or n, if more) when it must grow.
template <typename T>
void ResizeGrowing(std::vector<T>* rows, size_t n) {
  if (rows->size() >= n) return;
  if (rows->capacity() < n) rows->reserve(std::max(n, GrownCapacity(rows->size())));
  rows->resize(n);
}

// RepackRows: every row of `rows` reallocated at its size, all at once: the cells are
// moved to one buffer and every row's memory freed before any row is
// allocated again. Rows grown one cell at a time by a replay leave their
// earlier, smaller blocks as holes between the later ones; trimming row by
// row (shrink_to_fit) put each trimmed row into such a hole and freed a
// block that became one more, so malloc kept the replay's whole heap
// resident in holes too small for a page each. Freed all together, the
// holes merge into ranges malloc_trim can give back, and the rows are
// allocated anew side by side (`serve` after recovering 500k x 100k x 5M
// from the log: RSS 515 -> 477 MB; 443 MB with PagePool's slabs and
// control blocks also out of malloc). Costs a
// buffer of all the cells while it runs, so rows that are nearly tight
// already (decoded from a snapshot, with a short replay of the log after
// it) are trimmed in place instead: there the buffer only raised the
// open's peak (`bench scale` at 500k x 100k x 5M, recovering from the
// snapshot: 548 MB with it, 493 MB without).
template <typename T>
void RepackRows(std::vector<std::vector<T>>* rows) {
  size_t cells = 0;
  size_t room = 0;
  for (const std::vector<T>& row : *rows) {
    cells += row.size();
    room += row.capacity() - row.size();
  }
  if (room * 32 <= cells) {
    for (std::vector<T>& row : *rows) row.shrink_to_fit();
    rows->shrink_to_fit();
    return;
  }
  std::vector<T> all;
  all.reserve(cells);
  std::vector<uint32_t> sizes(rows->size());
  for (size_t r = 0; r < rows->size(); ++r) {
    std::vector<T>& row = (*rows)[r];
    all.insert(all.end(), row.begin(), row.end());
    sizes[r] = static_cast<uint32_t>(row.size());
    std::vector<T>().swap(row);
  }
  rows->shrink_to_fit();
  auto from = all.begin();
  for (size_t r = 0; r < rows->size(); ++r) {
    (*rows)[r].assign(from, from + sizes[r]);
    from += sizes[r];
  }
}

}  // namespace streamrec::engine
