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
// Used by the implicit history (engine/online), the IVF index's cells
// (engine/model) and the copies of seen-list pages (engine/live).
//
// Thread-safety: pure functions on the caller's vectors.
#pragma once

#include <algorithm>
#include <cstddef>
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

}  // namespace streamrec::engine
