#include "engine/core/page_pool.h"

#include <unistd.h>

#include <algorithm>
#include <new>
#include <utility>

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
  for (void* slab : slabs_) UnmapSlab(slab);
  for (void* slab : holder_slabs_) UnmapSlab(slab);
}

void* PagePool::MapSlab() {
  // Aligned to the system's pages, so that a block of whole pages is
  // whole pages (Deallocate's MADV_DONTNEED).
#if defined(__linux__)
  void* slab =
      mmap(nullptr, slab_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (slab == MAP_FAILED) throw std::bad_alloc();
  return slab;
#else
  return ::operator new (slab_bytes_, std::align_val_t{SystemPageBytes()});
#endif
}

void PagePool::UnmapSlab(void* slab) {
#if defined(__linux__)
  (void)munmap(slab, slab_bytes_);
#else
  ::operator delete (slab, std::align_val_t{SystemPageBytes()});
#endif
}

void* PagePool::Carve(std::vector<void*>* slabs, size_t* carved, size_t bytes) {
  if (slabs->empty() || *carved + bytes > slab_bytes_) {
    slabs->push_back(MapSlab());
    *carved = 0;
  }
  void* p = static_cast<char*>(slabs->back()) + *carved;
  *carved += bytes;
  return p;
}

void* PagePool::AllocateHolder() {
  MutexLock lock(&mu_);
  if (!free_holders_.empty()) {
    void* p = free_holders_.back();
    free_holders_.pop_back();
    return p;
  }
  return Carve(&holder_slabs_, &holders_carved_, kHolderBytes);
}

void PagePool::DeallocateHolder(void* p) {
  MutexLock lock(&mu_);
  free_holders_.push_back(p);
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
  return Carve(&slabs_, &carved_, block_bytes_);
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

namespace {

// The allocator of a pool page's control block: a holder block of the
// pool, which it keeps alive (the block is freed after the deleter is
// gone, with a copy of this allocator).
template <typename T>
struct HolderAllocator {
  using value_type = T;
  explicit HolderAllocator(std::shared_ptr<PagePool> p) : pool(std::move(p)) {}
  template <typename U>
  explicit HolderAllocator(const HolderAllocator<U>& other) : pool(other.pool) {}

  T* allocate(size_t n) {
    static_assert(sizeof(T) <= PagePool::kHolderBytes && alignof(T) <= 16);
    if (n != 1) throw std::bad_alloc();
    return static_cast<T*>(pool->AllocateHolder());
  }
  void deallocate(T* p, size_t /*n*/) { pool->DeallocateHolder(p); }
  template <typename U>
  bool operator==(const HolderAllocator<U>& other) const {
    return pool == other.pool;
  }

  std::shared_ptr<PagePool> pool;
};

}  // namespace

std::shared_ptr<float[]> PoolPage(const std::shared_ptr<PagePool>& pool) {
  PagePool* const blocks = pool.get();  // alive while the control block is
  return std::shared_ptr<float[]>(
      static_cast<float*>(pool->Allocate()), [blocks](float* p) { blocks->Deallocate(p); },
      HolderAllocator<float>(pool));
}

}  // namespace streamrec::engine
