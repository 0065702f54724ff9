// PagePool: recycles the blocks of copy-on-write pages of one size.
//
// Why: under ingest the two Left-Right copies of the model trade user
// pages every run. The copy applied first copies each page it writes
// (MFModel::OwnUserPage: a new 4 KB block), and the second, once it has
// applied the same events, takes that page and frees its own
// (ShareWrittenUserPages). Through glibc each such block was a malloc of a
// size its thread caches do not keep (bin searches, consolidation, the heap
// trimmed and grown again, the fresh pages faulted in): ~10% of the model
// thread under `bench scale`'s HTTP ingest. A block freed here waits in a
// short list for the next copy instead.
//
// PoolAllocator<T> is the Allocator that std::allocate_shared takes: a
// shared page keeps its pool alive, so a page freed after its model (a
// snapshot's copy, say) still returns to a live pool.
//
// Thread-safety: Allocate and Deallocate may run on any threads (a page
// is freed wherever its last holder lets go of it).
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <vector>

#include "engine/core/mutex.h"
#include "engine/core/thread_annotations.h"

namespace streamrec::engine {

class PagePool {
 public:
  // Keeps at most `max_free` blocks for reuse; more are freed at once.
  explicit PagePool(size_t max_free) : max_free_(max_free) {}
  PagePool(const PagePool&) = delete;
  PagePool& operator=(const PagePool&) = delete;
  ~PagePool() {
    for (void* p : free_) ::operator delete(p);
  }

  // A block of `bytes`: a kept one if there is one of that size (the pool
  // keeps one size, its first request's), else a new one.
  void* Allocate(size_t bytes) {
    {
      MutexLock lock(&mu_);
      if (block_bytes_ == 0) block_bytes_ = bytes;
      if (bytes == block_bytes_ && !free_.empty()) {
        void* p = free_.back();
        free_.pop_back();
        return p;
      }
    }
    return ::operator new(bytes);
  }
  void Deallocate(void* p, size_t bytes) {
    {
      MutexLock lock(&mu_);
      if (bytes == block_bytes_ && free_.size() < max_free_) {
        free_.push_back(p);
        return;
      }
    }
    ::operator delete(p);
  }
  // Blocks kept for reuse, and their bytes.
  size_t free_blocks() const {
    MutexLock lock(&mu_);
    return free_.size();
  }
  size_t FreeBytes() const {
    MutexLock lock(&mu_);
    return free_.size() * block_bytes_;
  }

 private:
  const size_t max_free_;
  mutable Mutex mu_;
  size_t block_bytes_ GUARDED_BY(mu_) = 0;
  std::vector<void*> free_ GUARDED_BY(mu_);
};

template <typename T>
struct PoolAllocator {
  using value_type = T;

  explicit PoolAllocator(std::shared_ptr<PagePool> p) : pool(std::move(p)) {}
  template <typename U>
  PoolAllocator(const PoolAllocator<U>& other) : pool(other.pool) {}  // NOLINT: rebinding

  T* allocate(size_t n) { return static_cast<T*>(pool->Allocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { pool->Deallocate(p, n * sizeof(T)); }

  template <typename U>
  bool operator==(const PoolAllocator<U>& other) const {
    return pool == other.pool;
  }

  std::shared_ptr<PagePool> pool;
};

}  // namespace streamrec::engine
