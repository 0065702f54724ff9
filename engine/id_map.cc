#include "engine/id_map.h"

#include <cassert>
#include <limits>

namespace streamrec::engine {

uint32_t IdMap::GetOrAdd(std::string_view id, bool* inserted) {
  auto it = index_.find(id);
  if (it != index_.end()) {
    if (inserted) *inserted = false;
    return it->second;
  }
  assert(names_.size() < std::numeric_limits<uint32_t>::max());
  const auto idx = static_cast<uint32_t>(names_.size());
  names_.emplace_back(id);
  index_.emplace(names_.back(), idx);
  if (inserted) *inserted = true;
  return idx;
}

std::optional<uint32_t> IdMap::Find(std::string_view id) const {
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

void IdMap::Reserve(size_t n) {
  index_.reserve(n);
  names_.reserve(n);
}

}  // namespace streamrec::engine
