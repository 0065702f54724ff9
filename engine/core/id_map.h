// IdMap: the application's string ids <-> dense indices 0..size()-1, in
// order of first sight. Indices are never reused, so a vector row stays
// attached to its id for the life of the model.
//
// Each id is stored once, in pages of kPageIds ids whose bytes are one
// string (with each id's end offset): ~11 bytes per short id, where a
// std::string each took 32. The index from id to position is a flat
// open-addressing table of 8-byte slots, each a position and the id's
// 32-bit hash (linear probing, at most 3/4 full, backward-shift deletion),
// in pages of kSlotsPerPage slots: a probe reads an id's bytes only when
// the hashes match, and a rehash or deletion never reads them. Both
// kinds of page are CowPages, shared copy-on-write between copies: the two
// Left-Right copies of the live Recommender hold the ids once between runs
// (a copy of the map is one reference per page; `streamrec bench scale`,
// 600k ids: 52 MB in two copies before, 19 MB held once now).
//
// Thread-safety: not synchronised. One writer; readers must use a copy
// (which may be read while the original is written: CowPages).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/cow_pages.h"
#include "engine/core/status.h"

namespace streamrec::engine {

class IdMap {
 public:
  static constexpr uint32_t kPageIds = 256;
  static constexpr uint32_t kSlotsPerPage = 512;
  // The longest id a map takes (a page's bytes stay under 4 GiB):
  // GetOrAdd asserts it, FromNames reports Corruption past it.
  static constexpr size_t kMaxIdBytes = size_t{1} << 20;

  IdMap() = default;

  // The index of `id`, inserting it at the end if new. `inserted` (optional)
  // reports whether it was new.
  uint32_t GetOrAdd(std::string_view id, bool* inserted = nullptr);
  std::optional<uint32_t> Find(std::string_view id) const;
  // A memory hint for a later Find or GetOrAdd of `id`, whose reads are a
  // chain of dependent cache misses (its slot, the page of ids the slot
  // names, that page's ends, its bytes). Stage s hints link
  // kPrefetchStages - 1 - s and reads the links before it, so a caller
  // looking up a run of ids hints each at every stage, the farthest ids at
  // the first, and finds every link in cache when it gets there. Follows
  // the id's home slot only (not a collision chain). Changes nothing.
  static constexpr int kPrefetchStages = 4;
  void Prefetch(std::string_view id, int stage) const;
  // The same for a later Name(index): its links are the page of ids, the
  // page's ends, the id's bytes (stage s hints link kNameStages - 1 - s).
  static constexpr int kNameStages = 3;
  void PrefetchName(uint32_t index, int stage) const;
  // The id at `index` (< size()); "" for a forgotten one. Valid until the
  // map is next written.
  std::string_view Name(uint32_t index) const {
    const NamePage& page = *names_[index / kPageIds];
    const uint32_t r = index % kPageIds;
    const uint32_t begin = r == 0 ? 0 : page.ends[r - 1];
    return std::string_view(page.chars).substr(begin, page.ends[r] - begin);
  }
  uint32_t size() const { return size_; }
  // Ids not forgotten (size() less the tombstones).
  uint32_t live() const { return live_; }
  void Reserve(size_t n);

  // Removes `id` from the map; its index stays taken (rows are never
  // reused) with an empty name as a tombstone, and its bytes are gone from
  // this copy's memory. Returns the index, if known.
  std::optional<uint32_t> Forget(std::string_view id);

  // All ids, index order (snapshots store these); "" marks a forgotten one.
  std::vector<std::string> Names() const;
  // The map whose index i is names[i]: how a snapshot rebuilds one.
  // Corruption if a non-empty name repeats (two indices for one id would
  // split a user's rows) or is longer than kMaxIdBytes; empty names are
  // tombstones.
  static StatusOr<IdMap> FromNames(const std::vector<std::string>& names);

  // Sharing with `other`, a copy that holds the same ids: every page
  // (at open, the second Left-Right copy), or each page this copy wrote
  // since the last call (a follower that has just applied what its leader
  // applied: Recommender::FinishFollowing). A map that is not the same
  // shape as `other` (size, live ids, table size) shares nothing.
  void ShareAll(const IdMap& other);
  void ShareWritten(const IdMap& other);
  // Pages (of ids and of slots) this copy holds that no other copy shares.
  size_t OwnPages() const { return names_.OwnPages() + slots_.OwnPages(); }

  // Bytes of the pages this copy holds alone (shared == false, with the
  // page tables) or shares (true); allocator headers not counted.
  size_t MemoryBytes(bool shared = false) const;

 private:
  static constexpr uint32_t kEmpty = ~uint32_t{0};
  static constexpr uint64_t kEmptySlot = ~uint64_t{0};
  // kPageIds ids (fewer in the last page): id r is chars[ends[r-1], ends[r]).
  struct NamePage {
    std::vector<uint32_t> ends;
    std::string chars;
  };
  // A slot: the id's hash in the high half, its position in the low;
  // kEmptySlot if none.
  using SlotPage = std::array<uint64_t, kSlotsPerPage>;
  static uint64_t SlotOf(uint32_t hash, uint32_t pos) { return (uint64_t{hash} << 32) | pos; }
  static uint32_t PosOf(uint64_t slot) { return static_cast<uint32_t>(slot); }
  static uint32_t HashIn(uint64_t slot) { return static_cast<uint32_t>(slot >> 32); }

  static uint32_t HashOf(std::string_view s) {
    const size_t h = std::hash<std::string_view>{}(s);
    return static_cast<uint32_t>(h ^ (h >> 32));
  }
  size_t mask() const { return slot_count_ - 1; }
  uint64_t Slot(size_t p) const { return (*slots_[p / kSlotsPerPage])[p % kSlotsPerPage]; }
  // Slot p, to write (its page this copy's own first).
  uint64_t& OwnSlot(size_t p);
  // The slot holding `id` (whose HashOf is `hash`), or the empty slot
  // where it would go. The table must not be empty.
  size_t Probe(std::string_view id, uint32_t hash) const;
  // Slots for n more live ids than the table holds (at least its size).
  size_t SlotsFor(size_t n) const;
  // An empty table of `size` slots.
  void NewTable(size_t size);
  // Grows the table until n more live ids fit; true if it was rebuilt.
  bool Fit(size_t n);
  // Appends an id's bytes at index size() (its page this copy's own first).
  void AppendName(std::string_view id);

  CowPages<NamePage> names_;  // ceil(size_ / kPageIds)
  CowPages<SlotPage> slots_;  // slot_count_ / kSlotsPerPage (at least one)
  size_t slot_count_ = 0;     // a power of 2, or 0
  uint32_t size_ = 0;
  uint32_t live_ = 0;  // ids in the table
};

}  // namespace streamrec::engine
