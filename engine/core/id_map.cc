#include "engine/core/id_map.h"

#include <fmt/format.h>

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

std::optional<uint32_t> IdMap::Forget(std::string_view id) {
  auto it = index_.find(id);
  if (it == index_.end()) return std::nullopt;
  const uint32_t idx = it->second;
  index_.erase(it);
  names_[idx].clear();
  return idx;
}

void IdMap::Reserve(size_t n) {
  index_.reserve(n);
  names_.reserve(n);
}

StatusOr<IdMap> IdMap::FromNames(std::vector<std::string> names) {
  if (names.size() >= std::numeric_limits<uint32_t>::max()) {
    return Status::Corruption(fmt::format("{} ids do not fit 32-bit indices", names.size()));
  }
  IdMap m;
  m.index_.reserve(names.size());
  for (uint32_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) continue;  // a forgotten id
    if (!m.index_.emplace(names[i], i).second) {
      // Cap the echoed id: a corrupt one can be any length.
      return Status::Corruption(fmt::format("id '{}' appears at indices {} and {}",
                                            std::string_view(names[i]).substr(0, 64),
                                            m.index_.find(names[i])->second, i));
    }
  }
  m.names_ = std::move(names);
  return m;
}

size_t IdMap::MemoryBytes() const {
  size_t heap = 0;  // strings too long for the small-string buffer
  for (const std::string& n : names_) {
    if (n.capacity() > 15) heap += n.capacity() + 1;
  }
  // A node: next pointer, the (key, index) pair, the cached hash.
  const size_t node = sizeof(void*) + sizeof(std::pair<const std::string, uint32_t>) + sizeof(size_t);
  return names_.capacity() * sizeof(std::string) + index_.bucket_count() * sizeof(void*) +
         index_.size() * node + 2 * heap;
}

}  // namespace streamrec::engine
