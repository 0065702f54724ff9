// IdMap: the application's string ids <-> dense indices 0..size()-1, in
// order of first sight. Indices are never reused, so a vector row stays
// attached to its id for the life of the model.
//
// Each id is stored once, in names(); the index from id to position is a
// flat open-addressing table of 4-byte positions into names() (linear
// probing, at most 3/4 full, backward-shift deletion), not a hash map of
// string copies: ~40 bytes per short id instead of ~104, which at 600k ids
// and two engine copies is ~75 MB (`streamrec bench scale`).
//
// Thread-safety: not synchronised. One writer; readers must use a copy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace streamrec::engine {

class IdMap {
 public:
  IdMap() = default;

  // The index of `id`, inserting it at the end if new. `inserted` (optional)
  // reports whether it was new.
  uint32_t GetOrAdd(std::string_view id, bool* inserted = nullptr);
  std::optional<uint32_t> Find(std::string_view id) const;
  const std::string& Name(uint32_t index) const { return names_[index]; }
  uint32_t size() const { return static_cast<uint32_t>(names_.size()); }
  // Ids not forgotten (size() less the tombstones).
  uint32_t live() const { return live_; }
  void Reserve(size_t n);

  // Removes `id` from the map; its index stays taken (rows are never
  // reused) with an empty name as a tombstone. Returns the index, if known.
  std::optional<uint32_t> Forget(std::string_view id);

  // All ids, index order (snapshots store this); "" marks a forgotten one.
  const std::vector<std::string>& names() const { return names_; }
  // Bytes held, estimated from the containers; allocator headers not
  // counted.
  size_t MemoryBytes() const;
  // The map whose index i is names[i]: how a snapshot rebuilds one.
  // Corruption if a non-empty name repeats (two indices for one id would
  // split a user's rows); empty names are tombstones.
  static StatusOr<IdMap> FromNames(std::vector<std::string> names);

 private:
  static constexpr uint32_t kEmpty = ~uint32_t{0};
  static size_t HashOf(std::string_view s) { return std::hash<std::string_view>{}(s); }
  // The slot holding `id`, or the empty slot where it would go. The table
  // must not be empty.
  size_t Probe(std::string_view id) const;
  // Grows the table until n more live ids fit.
  void Fit(size_t n);

  std::vector<uint32_t> slots_;  // positions in names_, or kEmpty; a power of 2 long, or 0
  uint32_t live_ = 0;            // ids in the table
  std::vector<std::string> names_;
};

}  // namespace streamrec::engine
