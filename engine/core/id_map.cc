#include "engine/core/id_map.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <limits>

namespace streamrec::engine {

size_t IdMap::Probe(std::string_view id) const {
  const size_t mask = slots_.size() - 1;
  for (size_t p = HashOf(id) & mask;; p = (p + 1) & mask) {
    const uint32_t s = slots_[p];
    if (s == kEmpty || names_[s] == id) return p;
  }
}

void IdMap::Fit(size_t n) {
  size_t size = std::max<size_t>(slots_.size(), 16);
  while ((live_ + n) * 4 > size * 3) size *= 2;
  if (size == slots_.size()) return;
  std::vector<uint32_t> old(size, kEmpty);
  old.swap(slots_);
  for (const uint32_t idx : old) {
    if (idx == kEmpty) continue;
    const size_t p = Probe(names_[idx]);
    slots_[p] = idx;
  }
}

uint32_t IdMap::GetOrAdd(std::string_view id, bool* inserted) {
  Fit(1);
  const size_t p = Probe(id);
  if (slots_[p] != kEmpty) {
    if (inserted) *inserted = false;
    return slots_[p];
  }
  assert(names_.size() < kEmpty);
  const auto idx = static_cast<uint32_t>(names_.size());
  names_.emplace_back(id);
  slots_[p] = idx;
  ++live_;
  if (inserted) *inserted = true;
  return idx;
}

std::optional<uint32_t> IdMap::Find(std::string_view id) const {
  if (slots_.empty()) return std::nullopt;
  const uint32_t s = slots_[Probe(id)];
  if (s == kEmpty) return std::nullopt;
  return s;
}

std::optional<uint32_t> IdMap::Forget(std::string_view id) {
  if (slots_.empty()) return std::nullopt;
  size_t p = Probe(id);
  const uint32_t idx = slots_[p];
  if (idx == kEmpty) return std::nullopt;
  // Backward shift: pull later entries of the probe run into the hole
  // unless their home lies cyclically in (hole, them].
  const size_t mask = slots_.size() - 1;
  for (size_t q = (p + 1) & mask; slots_[q] != kEmpty; q = (q + 1) & mask) {
    const size_t home = HashOf(names_[slots_[q]]) & mask;
    const bool stays = p <= q ? (p < home && home <= q) : (p < home || home <= q);
    if (stays) continue;
    slots_[p] = slots_[q];
    p = q;
  }
  slots_[p] = kEmpty;
  --live_;
  names_[idx].clear();
  return idx;
}

void IdMap::Reserve(size_t n) {
  Fit(n > live_ ? n - live_ : 0);
  names_.reserve(n);
}

StatusOr<IdMap> IdMap::FromNames(std::vector<std::string> names) {
  if (names.size() >= kEmpty) {
    return Status::Corruption(fmt::format("{} ids do not fit 32-bit indices", names.size()));
  }
  IdMap m;
  m.names_ = std::move(names);
  m.Fit(m.names_.size());
  for (uint32_t i = 0; i < m.names_.size(); ++i) {
    const std::string& name = m.names_[i];
    if (name.empty()) continue;  // a forgotten id
    const size_t p = m.Probe(name);
    if (m.slots_[p] != kEmpty) {
      // Cap the echoed id: a corrupt one can be any length.
      return Status::Corruption(fmt::format("id '{}' appears at indices {} and {}",
                                            std::string_view(name).substr(0, 64), m.slots_[p], i));
    }
    m.slots_[p] = i;
    ++m.live_;
  }
  return m;
}

size_t IdMap::MemoryBytes() const {
  size_t heap = 0;  // strings too long for the small-string buffer
  for (const std::string& n : names_) {
    if (n.capacity() > 15) heap += n.capacity() + 1;
  }
  return names_.capacity() * sizeof(std::string) + heap + slots_.capacity() * sizeof(uint32_t);
}

}  // namespace streamrec::engine
