#include "engine/live/seen_lists.h"

#include <algorithm>
#include <utility>

#include "engine/core/growth.h"

namespace streamrec::engine {

SeenLists::Page& SeenLists::OwnPage(uint32_t p) {
  return *pages_.Own(p, [](const std::shared_ptr<Page>& page) {
    // Room for the insert that asked for the copy, and a few after it.
    auto copy = std::make_shared<Page>();
    copy->ends = page->ends;
    copy->items.reserve(GrownCapacity(page->items.size()));
    copy->items = page->items;
    return copy;
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
  const uint32_t r = u % kPageUsers;
  const size_t pos = pages_[u / kPageUsers]->Begin(r) + (at - have.begin());
  Page& page = OwnPage(u / kPageUsers);
  page.items.insert(page.items.begin() + static_cast<std::ptrdiff_t>(pos), item);
  for (uint32_t k = r; k < kPageUsers; ++k) ++page.ends[k];
  return true;
}

void SeenLists::Clear(uint32_t u) {
  if (u >= users_ || Get(u).empty()) return;
  Page& page = OwnPage(u / kPageUsers);
  const uint32_t r = u % kPageUsers;
  const uint32_t begin = page.Begin(r);
  const uint32_t len = page.ends[r] - begin;
  page.items.erase(page.items.begin() + begin, page.items.begin() + begin + len);
  for (uint32_t k = r; k < kPageUsers; ++k) page.ends[k] -= len;
  page.items.shrink_to_fit();  // the list's memory goes with it
}

void SeenLists::Reset() {
  users_ = 0;
  pages_.Clear();
}

void SeenLists::Assign(std::vector<std::vector<uint32_t>> lists) {
  std::vector<std::shared_ptr<Page>> pages((lists.size() + kPageUsers - 1) / kPageUsers);
  for (uint32_t p = 0; p < pages.size(); ++p) {
    auto page = std::make_shared<Page>();
    const size_t first = size_t{p} * kPageUsers;
    const size_t last = std::min(lists.size(), first + kPageUsers);
    size_t total = 0;
    for (size_t u = first; u < last; ++u) total += lists[u].size();
    page->items.reserve(total);
    for (uint32_t r = 0; r < kPageUsers; ++r) {
      if (first + r < last) {
        const std::vector<uint32_t>& list = lists[first + r];
        page->items.insert(page->items.end(), list.begin(), list.end());
        std::vector<uint32_t>().swap(lists[first + r]);
      }
      page->ends[r] = static_cast<uint32_t>(page->items.size());
    }
    pages[p] = std::move(page);
  }
  users_ = static_cast<uint32_t>(lists.size());
  pages_.Assign(std::move(pages));
}

void SeenLists::Compact() {
  for (size_t p = 0; p < pages_.size(); ++p) {
    if (pages_.shared(p)) continue;  // another copy's too: not written
    pages_[p]->items.shrink_to_fit();
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
    bytes += sizeof(Page) + page->items.capacity() * sizeof(uint32_t);
  }
  return bytes;
}

}  // namespace streamrec::engine
