// PagePool: the blocks of copy-on-write pages of one size, carved from
// slabs of its own and recycled.
//
// Why recycled: under ingest the two Left-Right copies of the model trade
// user pages every run. The copy applied first copies each page it writes
// (MFModel::OwnPage: a new 4 KB block), and the second, once it has
// applied the same events, takes that page and frees its own
// (ShareWrittenUserPages). Through glibc each such block was a malloc of a
// size its thread caches do not keep (bin searches, consolidation, the heap
// trimmed and grown again, the fresh pages faulted in): ~10% of the model
// thread under `bench scale`'s HTTP ingest. A freed block waits here for
// the next copy instead.
//
// Why slabs: the pages used to come from malloc, each next to the small
// blocks the same thread allocated meanwhile (a replay's history rows, a
// request's buffers). Ingest copies every page in turn, and each freed 4
// KB block was then a hole between small live ones, holding no whole
// memory page that malloc_trim could give back: at 500k users x 100k
// items, 15 s of ingest took RSS from 524 to 875 MB, 714 MB even after a
// malloc_trim, for 535 MB in use. Here the blocks lie side by side in
// slabs that hold nothing else, and a block past the warm cap gives its
// memory back (MADV_DONTNEED) while it waits.
//
// Why not from malloc at all: a replay makes the pages (a slab per 16
// pages) and their shared_ptr control blocks (48 bytes each) on the model
// thread, between the history rows it grows. Once the rows were trimmed
// into new blocks (ImplicitOnlineUpdater::Compact), the slabs and control
// blocks still split the replay's heap into holes of a few KB: at 500k x
// 100k x 5M, ~120 MB free that malloc_trim could not give back. So the
// slabs are mapped directly (mmap), and the control blocks are blocks of
// the pool too (a second free list, kHolderBytes each, in slabs of their
// own).
//
// PoolPage() makes a shared page whose deleter returns its block here: a
// page keeps its pool alive (its control block's allocator holds it), so
// a page freed after its model (a snapshot's copy, say) still returns to a
// live pool.
//
// Thread-safety: every method may run on any thread (a page and its
// control block are freed wherever its last holder lets go of it).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "engine/core/mutex.h"
#include "engine/core/thread_annotations.h"

namespace streamrec::engine {

class PagePool {
 public:
  // Blocks of `block_bytes`; at most `max_warm` freed ones keep their
  // memory, the rest give it back while they wait (where block_bytes is
  // a multiple of the system's page size; else every freed one keeps it).
  PagePool(size_t block_bytes, size_t max_warm);
  PagePool(const PagePool&) = delete;
  PagePool& operator=(const PagePool&) = delete;
  ~PagePool();  // frees the slabs: no block may be in use

  // A block: a freed one that kept its memory, else one that gave it
  // back (its bytes then read zero), else a new one from a slab.
  void* Allocate();
  void Deallocate(void* p);

  // The blocks of PoolPage's shared_ptr control blocks: kHolderBytes each,
  // never given back until the pool goes.
  static constexpr size_t kHolderBytes = 64;
  void* AllocateHolder();
  void DeallocateHolder(void* p);
  size_t free_holders() const {
    MutexLock lock(&mu_);
    return free_holders_.size();
  }

  // Freed blocks that kept their memory, and their bytes.
  size_t free_blocks() const {
    MutexLock lock(&mu_);
    return warm_.size();
  }
  size_t FreeBytes() const { return free_blocks() * block_bytes_; }
  // Freed blocks that gave their memory back; bytes of all the slabs.
  size_t cold_blocks() const {
    MutexLock lock(&mu_);
    return cold_.size();
  }
  size_t SlabBytes() const {
    MutexLock lock(&mu_);
    return slabs_.size() * slab_bytes_;
  }

 private:
  // New slab memory of slab_bytes_, aligned to the system's pages, and its
  // release.
  void* MapSlab();
  void UnmapSlab(void* slab);
  // The next `bytes` of the last of `slabs` (carved: its bytes handed out
  // so far), mapping a new slab when they do not fit.
  void* Carve(std::vector<void*>* slabs, size_t* carved, size_t bytes) REQUIRES(mu_);

  const size_t block_bytes_;
  const size_t max_warm_;
  const size_t slab_bytes_;  // a whole number of blocks, at least 64 KB
  const bool release_;       // block_bytes_ is a whole number of pages
  mutable Mutex mu_;
  std::vector<void*> slabs_ GUARDED_BY(mu_);
  size_t carved_ GUARDED_BY(mu_) = 0;  // bytes of the last slab handed out
  std::vector<void*> warm_ GUARDED_BY(mu_);
  std::vector<void*> cold_ GUARDED_BY(mu_);
  // The control blocks' slabs, the bytes of the last one handed out, and
  // the freed blocks.
  std::vector<void*> holder_slabs_ GUARDED_BY(mu_);
  size_t holders_carved_ GUARDED_BY(mu_) = 0;
  std::vector<void*> free_holders_ GUARDED_BY(mu_);
};

// A page in a block of `pool` (its block bytes / sizeof(float) floats),
// returned to the pool when the last holder lets go. Its bytes are
// unspecified.
std::shared_ptr<float[]> PoolPage(const std::shared_ptr<PagePool>& pool);

}  // namespace streamrec::engine
