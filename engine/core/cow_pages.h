// CowPages<T>: a vector of pages, each behind a shared_ptr<T>, shared
// copy-on-write between copies of a structure, with the bookkeeping that
// lets a copy give back what it wrote. The two Left-Right copies of the
// live Recommender hold their big per-user state this way (MFModel's user
// factors, SeenLists, IdMap's ids), so each page is in memory once
// between runs:
//
//   - a write goes through Own(p, copy), which first replaces page p with
//     copy(*page) if another copy holds it too, and notes p as written;
//   - a follower that has just applied what its leader applied has the
//     same bytes in every page it wrote, and ShareWritten(leader) puts the
//     leader's page in place of each (Recommender::FinishFollowing).
//
// T is the page type, or U[] for a page that is a bare array
// (shared_ptr<U[]>: one dependent load to reach an element, not two).
//
// Thread-safety: one writer. A copy may be read while another copy that
// shares its pages is written: writes never go to a shared page, and
// reference counts change only in the writer's calls and in destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace streamrec::engine {

template <typename T>
class CowPages {
 public:
  using Ptr = std::shared_ptr<T>;

  size_t size() const { return pages_.size(); }
  bool empty() const { return pages_.empty(); }
  // Page p, to read (null only in a slot Resize made and nothing filled).
  const Ptr& operator[](size_t p) const { return pages_[p]; }
  // The page table (size() entries): valid until the next call that adds
  // or replaces a page.
  const Ptr* data() const { return pages_.data(); }
  typename std::vector<Ptr>::const_iterator begin() const { return pages_.begin(); }
  typename std::vector<Ptr>::const_iterator end() const { return pages_.end(); }
  // True if another copy holds page p too.
  bool shared(size_t p) const { return pages_[p].use_count() > 1; }

  // Page p, to write: replaced by copy(page) (a Ptr to an equal page)
  // first if it is shared; noted as written.
  template <typename Copy>
  const Ptr& Own(size_t p, Copy&& copy) {
    Ptr& page = pages_[p];
    if (page.use_count() > 1) page = copy(page);
    NoteWritten(p);
    return page;
  }
  // Appends a page this copy alone holds; noted as written.
  void PushBack(Ptr page) {
    NoteWritten(pages_.size());
    pages_.push_back(std::move(page));
  }
  // Keeps the first n pages; more slots are null until filled (Share).
  void Resize(size_t n) { pages_.resize(n); }
  // Replaces every page with `pages` and forgets what was written.
  void Assign(std::vector<Ptr> pages) {
    Clear();
    pages_ = std::move(pages);
  }
  // No pages, nothing noted; the memory is returned.
  void Clear() {
    std::vector<Ptr>().swap(pages_);
    std::vector<uint32_t>().swap(written_);
    std::vector<uint8_t>().swap(written_mark_);
  }

  // Sharing with `other`, a copy that holds the same contents there:
  // page p of other in place of this copy's (p < both sizes).
  void Share(size_t p, const CowPages& other) { pages_[p] = other.pages_[p]; }
  // Every page of other (size() == other.size() afterwards).
  void ShareAll(const CowPages& other) { pages_ = other.pages_; }
  // In place of each page this copy wrote since the last call and holds
  // alone, other's version of it; pages past other's size stay.
  void ShareWritten(const CowPages& other) {
    for (const uint32_t p : written_) {
      written_mark_[p] = 0;
      if (p < pages_.size() && p < other.pages_.size() && pages_[p] != other.pages_[p] &&
          pages_[p].use_count() == 1) {
        pages_[p] = other.pages_[p];
      }
    }
    written_.clear();
  }

  // Forgets what was written, sharing nothing.
  void ForgetWritten() {
    for (const uint32_t p : written_) written_mark_[p] = 0;
    written_.clear();
  }

  // Pages no other copy shares.
  size_t OwnPages() const {
    size_t own = 0;
    for (const Ptr& page : pages_) own += page.use_count() == 1;
    return own;
  }
  // Bytes of the page table itself (not the pages).
  size_t TableBytes() const {
    return pages_.capacity() * sizeof(Ptr) + written_.capacity() * sizeof(uint32_t) +
           written_mark_.capacity();
  }

 private:
  void NoteWritten(size_t p) {
    if (written_mark_.size() <= p) written_mark_.resize(p + 1, 0);
    if (written_mark_[p] == 0) {
      written_mark_[p] = 1;
      written_.push_back(static_cast<uint32_t>(p));
    }
  }

  std::vector<Ptr> pages_;
  std::vector<uint32_t> written_;  // since the last ShareWritten, each once
  std::vector<uint8_t> written_mark_;
};

}  // namespace streamrec::engine
