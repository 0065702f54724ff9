// FlatMap64<V>: a hash map from 64-bit keys to small values in one flat
// array (open addressing, linear probing, backward-shift deletion, so no
// tombstones). One key is reserved as the empty marker: kEmptyKey, which
// callers must never insert.
//
// Why not std::unordered_map: it allocates a node per entry (key, value,
// next pointer, malloc header: ~32 bytes) plus a bucket pointer, and every
// lookup chases two pointers. The implicit updater keeps one entry per
// distinct (user, item) cell, 5M of them at the scale streamrec targets:
// ~230 MB as nodes. Here an entry is one slot of 8 + sizeof(V) bytes, and
// the table doubles when 7/8 full (so it is 7/16 to 7/8 full).
//
// Iteration order is unspecified; nothing may depend on it.
//
// Thread-safety: not synchronised; const methods may run concurrently.
#pragma once

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "engine/core/random.h"

namespace streamrec::engine {

template <typename V>
class FlatMap64 {
 public:
  static constexpr uint64_t kEmptyKey = ~uint64_t{0};

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t MemoryBytes() const { return slots_.capacity() * sizeof(Slot); }

  void clear() {
    slots_.clear();
    slots_.shrink_to_fit();
    size_ = 0;
    mask_ = 0;
  }

  // Room for n entries without growing.
  void reserve(size_t n) {
    size_t cap = 16;
    while (cap * 7 / 8 < n) cap *= 2;
    if (cap > slots_.size()) Rehash(cap);
  }

  // Inserts (key, value) if key is absent. Returns the entry's value and
  // whether it was inserted. The pointer is valid until the next insert
  // or erase.
  std::pair<V*, bool> try_emplace(uint64_t key, const V& value) {
    assert(key != kEmptyKey);
    if ((size_ + 1) * 8 > slots_.size() * 7) Rehash(slots_.empty() ? 16 : slots_.size() * 2);
    for (size_t p = Home(key);; p = (p + 1) & mask_) {
      Slot& s = slots_[p];
      if (s.key == key) return {&s.value, false};
      if (s.key == kEmptyKey) {
        s.key = key;
        s.value = value;
        ++size_;
        return {&s.value, true};
      }
    }
  }

  V* find(uint64_t key) { return const_cast<V*>(static_cast<const FlatMap64*>(this)->find(key)); }
  const V* find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    for (size_t p = Home(key);; p = (p + 1) & mask_) {
      const Slot& s = slots_[p];
      if (s.key == key) return &s.value;
      if (s.key == kEmptyKey) return nullptr;
    }
  }
  bool contains(uint64_t key) const { return find(key) != nullptr; }
  // The value of a key that must be present.
  V& at(uint64_t key) {
    V* v = find(key);
    assert(v != nullptr);
    return *v;
  }

  // Removes key if present; returns whether it was.
  bool erase(uint64_t key) {
    if (slots_.empty()) return false;
    size_t p = Home(key);
    for (;; p = (p + 1) & mask_) {
      if (slots_[p].key == key) break;
      if (slots_[p].key == kEmptyKey) return false;
    }
    // Backward shift: pull later entries of the probe run into the hole
    // when their home is not between the hole and them.
    for (size_t q = (p + 1) & mask_;; q = (q + 1) & mask_) {
      if (slots_[q].key == kEmptyKey) break;
      const size_t home = Home(slots_[q].key);
      const bool stays = p <= q ? (p < home && home <= q) : (p < home || home <= q);
      if (stays) continue;
      slots_[p] = slots_[q];
      p = q;
    }
    slots_[p].key = kEmptyKey;
    --size_;
    return true;
  }

 private:
  struct Slot {
    uint64_t key = kEmptyKey;
    V value{};
  };

  // Consecutive ids spread over the table.
  size_t Home(uint64_t key) const { return static_cast<size_t>(Mix64(key)) & mask_; }

  void Rehash(size_t capacity) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(capacity, Slot{});
    mask_ = capacity - 1;
    size_ = 0;
    for (const Slot& s : old) {
      if (s.key != kEmptyKey) try_emplace(s.key, s.value);
    }
  }

  std::vector<Slot> slots_;  // size a power of two, or 0
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace streamrec::engine
