// SeenLists: per user, the items the user has interacted with, sorted and
// distinct (what recommendations exclude and BPR draws negatives against).
//
// Users are kept in pages of kPageUsers lists, CowPages shared
// copy-on-write between copies, as MFModel keeps user factors: the two
// Left-Right copies of the live Recommender hold every list once between
// runs (at 500k users x 5M events that is ~40 MB a copy saved). A write
// (Insert, Clear) first copies its page if another copy holds it too; a
// follower that has just applied what its leader applied adopts the
// leader's version of each page it wrote (ShareWritten), whose lists are
// then equal to its own.
//
// A page is flat: its users' lists one after another in one array, with
// each list's end. With a vector per list, the copy an insert into a
// shared page makes (about once per event in the live server: the page
// was shared again by the last run) was 16 allocations and 16 frees; at
// 500k users x 100k items it was ~18% of the model thread's time.
//
// Thread-safety: as CowPages. One writer; readers of a copy need the
// writer to leave that copy alone (Left-Right).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/core/cow_pages.h"

namespace streamrec::engine {

class SeenLists {
 public:
  static constexpr uint32_t kPageUsers = 16;

  // Users with a list slot (the largest user id inserted or assigned + 1).
  uint32_t users() const { return users_; }
  // u's items, ascending; empty for a user without a slot.
  std::span<const uint32_t> Get(uint32_t u) const {
    if (u >= users_) return {};
    const Page& page = *pages_[u / kPageUsers];
    const uint32_t r = u % kPageUsers;
    const uint32_t begin = page.Begin(r);
    return {page.items.data() + begin, page.ends[r] - begin};
  }

  // Adds item to u's list (making slots up to u); false if it was there.
  bool Insert(uint32_t u, uint32_t item);
  // Empties u's list and frees its memory (a no-op past users()).
  void Clear(uint32_t u);
  // No users at all.
  void Reset();
  // Replaces everything with `lists` (each sorted and distinct).
  void Assign(std::vector<std::vector<uint32_t>> lists);
  // Gives every list of an own page exactly the memory it needs (lists
  // grown one insert at a time hold up to twice that).
  void Compact();

  // Sharing with `other`, a copy that holds the same lists:
  // every page of other (users() == other.users() afterwards).
  void ShareAll(const SeenLists& other);
  // In place of each page this copy wrote since the last call, other's
  // version of it; pages past other's users stay as they are.
  void ShareWritten(const SeenLists& other);
  // In place of the page of user u (< users(), < other.users()), other's:
  // what a follower does instead of an Insert its leader made already.
  void SharePageOf(uint32_t u, const SeenLists& other) {
    pages_.Share(u / kPageUsers, other.pages_);
  }

  // Pages this copy holds that no other copy shares, and in all.
  size_t OwnPages() const { return pages_.OwnPages(); }
  size_t Pages() const { return pages_.size(); }
  // Bytes of the lists and slots, in the pages this copy holds alone
  // (shared == false) or shares (true).
  size_t MemoryBytes(bool shared) const;

 private:
  // User r's items are items[Begin(r), ends[r]).
  struct Page {
    std::array<uint32_t, kPageUsers> ends{};
    std::vector<uint32_t> items;
    uint32_t Begin(uint32_t r) const { return r == 0 ? 0 : ends[r - 1]; }
  };

  // Page p, copied first if another copy holds it; noted as written.
  Page& OwnPage(uint32_t p);

  uint32_t users_ = 0;
  CowPages<Page> pages_;  // ceil(users_ / kPageUsers)
};

}  // namespace streamrec::engine
