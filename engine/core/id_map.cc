#include "engine/core/id_map.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <limits>

namespace streamrec::engine {

uint64_t& IdMap::OwnSlot(size_t p) {
  const auto& page = slots_.Own(p / kSlotsPerPage, [](const std::shared_ptr<SlotPage>& old) {
    return std::make_shared<SlotPage>(*old);
  });
  return (*page)[p % kSlotsPerPage];
}

size_t IdMap::Probe(std::string_view id, uint32_t hash) const {
  for (size_t p = hash & mask();; p = (p + 1) & mask()) {
    const uint64_t s = Slot(p);
    if (s == kEmptySlot || (HashIn(s) == hash && Name(PosOf(s)) == id)) return p;
  }
}

size_t IdMap::SlotsFor(size_t n) const {
  size_t size = std::max<size_t>(slot_count_, kSlotsPerPage);
  while ((live_ + n) * 4 > size * 3) size *= 2;
  return size;
}

void IdMap::NewTable(size_t size) {
  // Every page this copy's own (noted written: the other copy grows its
  // table at the same point and shares them back).
  slots_.Clear();
  for (size_t p = 0; p < size / kSlotsPerPage; ++p) {
    auto page = std::make_shared<SlotPage>();
    page->fill(kEmptySlot);
    slots_.PushBack(std::move(page));
  }
  slot_count_ = size;
}

bool IdMap::Fit(size_t n) {
  const size_t size = SlotsFor(n);
  if (size == slot_count_) return false;
  CowPages<SlotPage> old;
  old.ShareAll(slots_);
  NewTable(size);
  // Each id's home comes from the hash in its slot: no id is read.
  for (const std::shared_ptr<SlotPage>& page : old) {
    for (const uint64_t s : *page) {
      if (s == kEmptySlot) continue;
      size_t p = HashIn(s) & mask();
      while (Slot(p) != kEmptySlot) p = (p + 1) & mask();
      OwnSlot(p) = s;
    }
  }
  return true;
}

void IdMap::AppendName(std::string_view id) {
  assert(id.size() <= kMaxIdBytes);
  if (size_ % kPageIds == 0) {
    auto page = std::make_shared<NamePage>();
    page->ends.reserve(kPageIds);
    names_.PushBack(std::move(page));
  }
  NamePage& page = *names_.Own(size_ / kPageIds, [](const std::shared_ptr<NamePage>& old) {
    auto copy = std::make_shared<NamePage>();
    copy->ends.reserve(kPageIds);
    copy->ends = old->ends;
    copy->chars.reserve(old->chars.size() + old->chars.size() / 4);
    copy->chars = old->chars;
    return copy;
  });
  page.chars.append(id);
  page.ends.push_back(static_cast<uint32_t>(page.chars.size()));
  if (page.ends.size() == kPageIds) page.chars.shrink_to_fit();  // full: no more growth
  ++size_;
}

uint32_t IdMap::GetOrAdd(std::string_view id, bool* inserted) {
  const uint32_t hash = HashOf(id);
  size_t p = 0;
  if (slot_count_ > 0) {
    p = Probe(id, hash);
    if (const uint64_t s = Slot(p); s != kEmptySlot) {
      if (inserted) *inserted = false;
      return PosOf(s);
    }
  }
  // The table grows only when an id goes in, never on a lookup: its layout
  // then depends on the ids added alone, so a Left-Right follower that
  // takes its leader's indices instead of looking known ids up grows at
  // the same id as its leader (ShareWritten needs both laid out alike).
  if (Fit(1)) p = Probe(id, hash);
  assert(size_ < kEmpty);
  const uint32_t idx = size_;
  AppendName(id);
  OwnSlot(p) = SlotOf(hash, idx);
  ++live_;
  if (inserted) *inserted = true;
  return idx;
}

std::optional<uint32_t> IdMap::Find(std::string_view id) const {
  if (slot_count_ == 0) return std::nullopt;
  const uint64_t s = Slot(Probe(id, HashOf(id)));
  if (s == kEmptySlot) return std::nullopt;
  return PosOf(s);
}

void IdMap::Prefetch(std::string_view id, int stage) const {
  if (slot_count_ == 0 || stage < 0 || stage >= kPrefetchStages) return;
  const uint32_t hash = HashOf(id);
  const size_t p = hash & mask();
  if (stage == 3) {
    __builtin_prefetch(&(*slots_[p / kSlotsPerPage])[p % kSlotsPerPage]);
    return;
  }
  const uint64_t s = Slot(p);
  if (s == kEmptySlot || HashIn(s) != hash || PosOf(s) >= size_) return;
  // The slot's links past it are its id's name's.
  PrefetchName(PosOf(s), stage);
}

void IdMap::PrefetchName(uint32_t index, int stage) const {
  if (index >= size_ || stage < 0 || stage >= kNameStages) return;
  const NamePage* page = names_[index / kPageIds].get();
  if (page == nullptr) return;
  if (stage == 2) {
    __builtin_prefetch(page);
    return;
  }
  const uint32_t r = index % kPageIds;
  if (r >= page->ends.size()) return;
  if (stage == 1) {
    __builtin_prefetch(page->ends.data() + (r == 0 ? 0 : r - 1));
    return;
  }
  const uint32_t begin = r == 0 ? 0 : page->ends[r - 1];
  if (begin < page->chars.size()) __builtin_prefetch(page->chars.data() + begin);
}

std::optional<uint32_t> IdMap::Forget(std::string_view id) {
  if (slot_count_ == 0) return std::nullopt;
  size_t p = Probe(id, HashOf(id));
  const uint64_t found = Slot(p);
  if (found == kEmptySlot) return std::nullopt;
  const uint32_t idx = PosOf(found);
  // Backward shift: pull later entries of the probe run into the hole
  // unless their home lies cyclically in (hole, them].
  for (size_t q = (p + 1) & mask(); Slot(q) != kEmptySlot; q = (q + 1) & mask()) {
    const size_t home = HashIn(Slot(q)) & mask();
    const bool stays = p <= q ? (p < home && home <= q) : (p < home || home <= q);
    if (stays) continue;
    OwnSlot(p) = Slot(q);
    p = q;
  }
  OwnSlot(p) = kEmptySlot;
  --live_;
  // The tombstone: the id's bytes cut out of its page (a page copied
  // first, if shared, holds none of them afterwards).
  NamePage& page = *names_.Own(idx / kPageIds, [](const std::shared_ptr<NamePage>& old) {
    return std::make_shared<NamePage>(*old);
  });
  const uint32_t r = idx % kPageIds;
  const uint32_t begin = r == 0 ? 0 : page.ends[r - 1];
  const uint32_t len = page.ends[r] - begin;
  page.chars.erase(begin, len);
  for (uint32_t j = r; j < page.ends.size(); ++j) page.ends[j] -= len;
  return idx;
}

void IdMap::Reserve(size_t n) { Fit(n > live_ ? n - live_ : 0); }

std::vector<std::string> IdMap::Names() const {
  std::vector<std::string> names;
  names.reserve(size_);
  for (uint32_t i = 0; i < size_; ++i) names.emplace_back(Name(i));
  return names;
}

StatusOr<IdMap> IdMap::FromNames(const std::vector<std::string>& names) {
  if (names.size() >= kEmpty) {
    return Status::Corruption(fmt::format("{} ids do not fit 32-bit indices", names.size()));
  }
  IdMap m;
  size_t live = 0;
  for (uint32_t i = 0; i < names.size(); ++i) {
    if (names[i].size() > kMaxIdBytes) {
      return Status::Corruption(fmt::format("id at index {} is {} bytes long; the limit is {}", i,
                                            names[i].size(), kMaxIdBytes));
    }
    m.AppendName(names[i]);
    live += !names[i].empty();
  }
  m.NewTable(m.SlotsFor(live));
  for (uint32_t i = 0; i < names.size(); ++i) {
    const std::string_view name = names[i];
    if (name.empty()) continue;  // a forgotten id
    const uint32_t hash = HashOf(name);
    const size_t p = m.Probe(name, hash);
    if (const uint64_t s = m.Slot(p); s != kEmptySlot) {
      // Cap the echoed id: a corrupt one can be any length.
      return Status::Corruption(
          fmt::format("id '{}' appears at indices {} and {}", name.substr(0, 64), PosOf(s), i));
    }
    m.OwnSlot(p) = SlotOf(hash, i);
    ++m.live_;
  }
  return m;
}

void IdMap::ShareAll(const IdMap& other) {
  names_.ShareAll(other.names_);
  slots_.ShareAll(other.slots_);
  slot_count_ = other.slot_count_;
  size_ = other.size_;
  live_ = other.live_;
}

void IdMap::ShareWritten(const IdMap& other) {
  // A page of a map laid out otherwise would corrupt this one: maps that
  // differ in shape (copies that should not have diverged) keep their own.
  if (size_ != other.size_ || live_ != other.live_ || slot_count_ != other.slot_count_) {
    names_.ForgetWritten();
    slots_.ForgetWritten();
    return;
  }
  names_.ShareWritten(other.names_);
  slots_.ShareWritten(other.slots_);
}

size_t IdMap::MemoryBytes(bool shared) const {
  size_t bytes = shared ? 0 : names_.TableBytes() + slots_.TableBytes();
  for (size_t p = 0; p < names_.size(); ++p) {
    if (names_.shared(p) != shared) continue;
    bytes += sizeof(NamePage) + names_[p]->ends.capacity() * sizeof(uint32_t) +
             names_[p]->chars.capacity();
  }
  for (size_t p = 0; p < slots_.size(); ++p) {
    if (slots_.shared(p) == shared) bytes += sizeof(SlotPage);
  }
  return bytes;
}

}  // namespace streamrec::engine
