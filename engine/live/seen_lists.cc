#include "engine/live/seen_lists.h"

#include <algorithm>
#include <utility>

namespace streamrec::engine {

SeenLists::Page& SeenLists::OwnPage(uint32_t p) {
  std::shared_ptr<Page>& page = pages_[p];
  if (page.use_count() > 1) page = std::make_shared<Page>(*page);
  NoteWritten(p);
  return *page;
}

void SeenLists::NoteWritten(uint32_t p) {
  if (written_mark_.size() <= p) written_mark_.resize(size_t{p} + 1, 0);
  if (written_mark_[p] == 0) {
    written_mark_[p] = 1;
    written_.push_back(p);
  }
}

bool SeenLists::Insert(uint32_t u, uint32_t item) {
  if (u >= users_) {
    users_ = u + 1;
    while (pages_.size() * kPageUsers < users_) {
      NoteWritten(static_cast<uint32_t>(pages_.size()));
      pages_.push_back(std::make_shared<Page>());
    }
  }
  // Read first: most events are for an item the user already has, and
  // those must not copy a shared page.
  const std::span<const uint32_t> have = Get(u);
  const auto at = std::lower_bound(have.begin(), have.end(), item);
  if (at != have.end() && *at == item) return false;
  const auto pos = at - have.begin();
  std::vector<uint32_t>& list = OwnPage(u / kPageUsers)[u % kPageUsers];
  list.insert(list.begin() + pos, item);
  return true;
}

void SeenLists::Clear(uint32_t u) {
  if (u >= users_) return;
  std::vector<uint32_t>().swap(OwnPage(u / kPageUsers)[u % kPageUsers]);
}

void SeenLists::Reset() {
  users_ = 0;
  pages_.clear();
  pages_.shrink_to_fit();
  written_.clear();
  written_mark_.clear();
}

void SeenLists::Assign(std::vector<std::vector<uint32_t>> lists) {
  Reset();
  users_ = static_cast<uint32_t>(lists.size());
  pages_.resize((lists.size() + kPageUsers - 1) / kPageUsers);
  for (uint32_t p = 0; p < pages_.size(); ++p) {
    pages_[p] = std::make_shared<Page>();
    for (uint32_t r = 0; r < kPageUsers && p * kPageUsers + r < users_; ++r) {
      (*pages_[p])[r] = std::move(lists[p * kPageUsers + r]);
    }
  }
}

void SeenLists::Compact() {
  for (auto& page : pages_) {
    if (page.use_count() > 1) continue;  // another copy's too: not written
    for (std::vector<uint32_t>& list : *page) list.shrink_to_fit();
  }
}

void SeenLists::ShareAll(const SeenLists& other) {
  users_ = other.users_;
  pages_ = other.pages_;
}

void SeenLists::ShareWritten(const SeenLists& other) {
  for (uint32_t p : written_) {
    written_mark_[p] = 0;
    if (p < pages_.size() && p < other.pages_.size() && pages_[p] != other.pages_[p] &&
        pages_[p].use_count() == 1) {
      pages_[p] = other.pages_[p];
    }
  }
  written_.clear();
}

size_t SeenLists::OwnPages() const {
  size_t own = 0;
  for (const auto& page : pages_) own += page.use_count() == 1;
  return own;
}

size_t SeenLists::MemoryBytes(bool shared) const {
  size_t bytes = shared ? 0 : pages_.capacity() * sizeof(std::shared_ptr<Page>);
  for (const auto& page : pages_) {
    if ((page.use_count() > 1) != shared) continue;
    bytes += sizeof(Page);
    for (const std::vector<uint32_t>& list : *page) bytes += list.capacity() * sizeof(uint32_t);
  }
  return bytes;
}

}  // namespace streamrec::engine
