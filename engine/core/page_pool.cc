#include "engine/core/page_pool.h"

#include <unistd.h>

#include <algorithm>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace streamrec::engine {

namespace {

size_t SystemPageBytes() {
  const long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? static_cast<size_t>(page) : 4096;
}

// Small, since every model with a user holds one (each test's, each
// decoded snapshot's): 2 MB slabs took most of the snapshot fuzzer's
// time under ASan. 64 KB at 31k pages is ~2k slabs.
constexpr size_t kMinSlabBytes = size_t{64} << 10;

}  // namespace

PagePool::PagePool(size_t block_bytes, size_t max_warm)
    : block_bytes_(std::max<size_t>(block_bytes, 1)),
      max_warm_(max_warm),
      slab_bytes_(block_bytes_ * ((kMinSlabBytes + block_bytes_ - 1) / block_bytes_)),
      release_(block_bytes_ % SystemPageBytes() == 0) {}

PagePool::~PagePool() {
  MutexLock lock(&mu_);
  for (void* slab : slabs_) ::operator delete (slab, std::align_val_t{SystemPageBytes()});
}

void* PagePool::NewSlab() {
  // Aligned to the system's pages, so that a block of whole pages is
  // whole pages (Deallocate's MADV_DONTNEED).
  void* slab = ::operator new (slab_bytes_, std::align_val_t{SystemPageBytes()});
  slabs_.push_back(slab);
  carved_ = 0;
  return slab;
}

void* PagePool::Allocate() {
  MutexLock lock(&mu_);
  for (std::vector<void*>* list : {&warm_, &cold_}) {
    if (!list->empty()) {
      void* p = list->back();
      list->pop_back();
      return p;
    }
  }
  void* slab = slabs_.empty() || carved_ + block_bytes_ > slab_bytes_ ? NewSlab() : slabs_.back();
  void* p = static_cast<char*>(slab) + carved_;
  carved_ += block_bytes_;
  return p;
}

void PagePool::Deallocate(void* p) {
  MutexLock lock(&mu_);
  if (warm_.size() < max_warm_ || !release_) {
    warm_.push_back(p);
    return;
  }
#if defined(__linux__)
  // Anonymous private memory: the next write faults in a zeroed page.
  (void)madvise(p, block_bytes_, MADV_DONTNEED);
#endif
  cold_.push_back(p);
}

std::shared_ptr<float[]> PoolPage(const std::shared_ptr<PagePool>& pool) {
  return std::shared_ptr<float[]>(static_cast<float*>(pool->Allocate()),
                                  [pool](float* p) { pool->Deallocate(p); });
}

}  // namespace streamrec::engine
