// MemoryReleaser (storage/memory_release.h): when it gives the heap back
// (growth past the baseline; once after the activity moved and then held
// still; never while both hold still) and that a release after a burst
// returns the pages its frees left in the heap. SetHeapPolicy: big blocks
// mapped on their own, a thread heap's free top given back.
#include "storage/memory_release.h"

#include <gtest/gtest.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace streamrec::storage {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;  // their allocator is not glibc's: nothing to trim
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

using std::chrono::milliseconds;

// Waits up to 20 s for `done()`.
template <typename F>
bool WaitFor(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

TEST(MemoryReleaserTest, OffStartsNoThreadAndStillReadsTheResidentSet) {
  MemoryReleaser m({milliseconds(0), 1}, [] { return uint64_t{0}; });
  const MemoryReleaseStatus s = m.status();
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(s.releases, 0u);
  EXPECT_GT(s.resident_bytes, 0u);
  EXPECT_GT(MemoryReleaser::ResidentBytes(), 0u);
}

TEST(MemoryReleaserTest, NeverReleasesWhileMemoryAndWorkHoldStill) {
  std::atomic<uint64_t> work{7};
  MemoryReleaser m({milliseconds(2), uint64_t{1} << 40}, [&] { return work.load(); });
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_TRUE(m.status().enabled);
  EXPECT_EQ(m.status().releases, 0u);
}

TEST(MemoryReleaserTest, ReleasesOnceWhenWorkStopsAndNotAgainUntilItMovesOrItIsStopped) {
  std::atomic<uint64_t> work{0};
  MemoryReleaser m({milliseconds(2), uint64_t{1} << 40}, [&] { return work.load(); });
  work = 1;  // a burst, then still
  ASSERT_TRUE(WaitFor([&] { return m.status().releases >= 1; }));
  std::this_thread::sleep_for(milliseconds(100));
  MemoryReleaseStatus s = m.status();
  EXPECT_EQ(s.releases, 1u);
  EXPECT_EQ(s.releases_on_growth, 0u);
  EXPECT_GE(s.max_seconds, s.last_seconds);
  work = 5;
  ASSERT_TRUE(WaitFor([&] { return m.status().releases >= 2; }));
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_EQ(m.status().releases, 2u);
  // Stopped (a store's Close): no more releases; the status still answers.
  m.Stop();
  work = 9;
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(m.status().releases, 2u);
  EXPECT_GT(m.status().resident_bytes, 0u);
  m.Stop();
}

TEST(MemoryReleaserTest, GrowthReleasesAndTheBurstsFreedPagesGoBack) {
  std::atomic<uint64_t> work{0};
  constexpr size_t kBlock = 64 << 10, kBlocks = 768;  // 48 MB of heap blocks
  MemoryReleaser m({milliseconds(2), uint64_t{16} << 20}, [&] { return work.load(); });
  // Blocks below malloc's mmap threshold, each followed by a small one that
  // stays, so that freeing them leaves holes in the heap (not its top).
  std::vector<void*> blocks, pins;
  for (size_t n = 0; n < kBlocks; ++n) {
    blocks.push_back(std::malloc(kBlock));
    std::memset(blocks.back(), 1, kBlock);
    pins.push_back(std::malloc(64));
  }
  ASSERT_TRUE(WaitFor([&] { return m.status().releases_on_growth >= 1; }));
  // Read with the blocks still held: a release may come at any check from
  // here on (growth since one made in the middle of the allocations, or the
  // burst's end), and only one after the frees can give their pages back.
  const uint64_t before = MemoryReleaser::ResidentBytes();
  const MemoryReleaseStatus held = m.status();
  for (void* b : blocks) std::free(b);
  work = 1;  // the burst is over
  if (kSanitized) {
    EXPECT_TRUE(WaitFor([&] { return m.status().releases > held.releases; }));
  } else {
    // ~45 MB of whole pages were free; the rest of the test binary's heap
    // is small.
    EXPECT_TRUE(WaitFor(
        [&] { return m.status().released_bytes >= held.released_bytes + (uint64_t{24} << 20); }));
    EXPECT_LE(MemoryReleaser::ResidentBytes() + (uint64_t{24} << 20), before);
  }
  for (void* p : pins) std::free(p);
}

#if defined(__GLIBC__)
TEST(HeapPolicyTest, BigBlocksAreMappedAndAThreadHeapsFreedTopGoesBack) {
  if (kSanitized) GTEST_SKIP() << "the sanitizer's allocator is not glibc's";
  if (std::getenv("GLIBC_TUNABLES") != nullptr) GTEST_SKIP() << "GLIBC_TUNABLES decides";
  // glibc's own policy first: a mapped 30 MB block freed raises its mmap
  // threshold to 30 MB and its trim threshold to 60 MB.
  void* big = std::malloc(size_t{30} << 20);
  ASSERT_NE(big, nullptr);
  std::free(big);
  ASSERT_TRUE(SetHeapPolicy());
  // A 2 MB block is mapped on its own again.
  const size_t mapped = mallinfo2().hblkhd;
  void* block = std::malloc(size_t{2} << 20);
  ASSERT_NE(block, nullptr);
  EXPECT_GE(mallinfo2().hblkhd, mapped + (size_t{2} << 20));
  std::free(block);
  // A thread's heap: 32 MB of 256 KB blocks (under the mmap threshold),
  // touched, then freed from the top down. The heap gives back the top
  // that leaves: malloc's own count of the bytes its heaps hold (summed
  // over the arenas) drops by it. The count is read here, between the
  // thread's steps.
  std::atomic<int> step{0};
  std::thread worker([&] {
    constexpr size_t kBlock = 256 << 10, kBlocks = 128;
    std::vector<void*> blocks;
    blocks.reserve(kBlocks);
    for (size_t n = 0; n < kBlocks; ++n) {
      blocks.push_back(std::malloc(kBlock));
      std::memset(blocks.back(), 1, kBlock);
    }
    step = 1;
    while (step.load() != 2) std::this_thread::yield();
    for (size_t n = kBlocks; n-- > 0;) std::free(blocks[n]);
    step = 3;
  });
  ASSERT_TRUE(WaitFor([&] { return step.load() == 1; }));
  const size_t held = mallinfo2().arena;
  step = 2;
  ASSERT_TRUE(WaitFor([&] { return step.load() == 3; }));
  const size_t after = mallinfo2().arena;
  worker.join();
  EXPECT_LE(after + (size_t{24} << 20), held) << "held " << held << ", after " << after;
}
#endif

}  // namespace
}  // namespace streamrec::storage
