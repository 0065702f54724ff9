#include "engine/live/seen_lists.h"

#include <algorithm>
#include <utility>

namespace streamrec::engine {

SeenLists::Page& SeenLists::OwnPage(uint32_t p) {
  return *pages_.Own(p, [](const std::shared_ptr<Page>& page) {
    return std::make_shared<Page>(*page);
  });
}

bool SeenLists::Insert(uint32_t u, uint32_t item) {
  if (u >= users_) {
    users_ = u + 1;
    while (pages_.size() * kPageUsers < users_) pages_.PushBack(std::make_shared<Page>());
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
  pages_.Clear();
}

void SeenLists::Assign(std::vector<std::vector<uint32_t>> lists) {
  std::vector<std::shared_ptr<Page>> pages((lists.size() + kPageUsers - 1) / kPageUsers);
  for (uint32_t p = 0; p < pages.size(); ++p) {
    pages[p] = std::make_shared<Page>();
    for (uint32_t r = 0; r < kPageUsers && p * kPageUsers + r < lists.size(); ++r) {
      (*pages[p])[r] = std::move(lists[p * kPageUsers + r]);
    }
  }
  users_ = static_cast<uint32_t>(lists.size());
  pages_.Assign(std::move(pages));
}

void SeenLists::Compact() {
  for (size_t p = 0; p < pages_.size(); ++p) {
    if (pages_.shared(p)) continue;  // another copy's too: not written
    for (std::vector<uint32_t>& list : *pages_[p]) list.shrink_to_fit();
  }
}

void SeenLists::ShareAll(const SeenLists& other) {
  users_ = other.users_;
  pages_.ShareAll(other.pages_);
}

void SeenLists::ShareWritten(const SeenLists& other) { pages_.ShareWritten(other.pages_); }

size_t SeenLists::MemoryBytes(bool shared) const {
  size_t bytes = shared ? 0 : pages_.TableBytes();
  for (const auto& page : pages_) {
    if ((page.use_count() > 1) != shared) continue;
    bytes += sizeof(Page);
    for (const std::vector<uint32_t>& list : *page) bytes += list.capacity() * sizeof(uint32_t);
  }
  return bytes;
}

}  // namespace streamrec::engine
