// IdMap: the application's string ids <-> dense indices 0..size()-1, in
// order of first sight. Indices are never reused, so a vector row stays
// attached to its id for the life of the model.
//
// Thread-safety: not synchronised. One writer; readers must use a copy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
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
  uint32_t live() const { return static_cast<uint32_t>(index_.size()); }
  void Reserve(size_t n);

  // Removes `id` from the map; its index stays taken (rows are never
  // reused) with an empty name as a tombstone. Returns the index, if known.
  std::optional<uint32_t> Forget(std::string_view id);

  // All ids, index order (snapshots store this); "" marks a forgotten one.
  const std::vector<std::string>& names() const { return names_; }
  // Bytes held, estimated from the containers (each id is stored twice: as
  // the hash map's key and in names()); allocator headers not counted.
  size_t MemoryBytes() const;
  // The map whose index i is names[i]: how a snapshot rebuilds one.
  // Corruption if a non-empty name repeats (two indices for one id would
  // split a user's rows); empty names are tombstones.
  static StatusOr<IdMap> FromNames(std::vector<std::string> names);

 private:
  // Transparent hashing so lookups by string_view do not allocate.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> index_;
  std::vector<std::string> names_;
};

}  // namespace streamrec::engine
