#include "engine/core/left_right.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace streamrec::engine {
namespace {

// A state whose invariant (every slot equal) breaks if a reader ever sees
// a copy while the writer is changing it.
struct State {
  std::vector<int64_t> slots = std::vector<int64_t>(64, 0);
  void Set(int64_t v) {
    for (auto& s : slots) s = v;
  }
};

TEST(LeftRightTest, ReadersSeeWholeStatesThatOnlyMoveForward) {
  LeftRight<State> lr(std::make_unique<State>(), std::make_unique<State>());
  constexpr int64_t kWrites = 20000;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> torn{0}, backwards{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      int64_t last = 0;
      while (!stop.load()) {
        const int64_t v = lr.Read([&](const State& s) {
          for (int64_t x : s.slots) {
            if (x != s.slots[0]) torn.fetch_add(1);
          }
          return s.slots[0];
        });
        if (v < last) backwards.fetch_add(1);
        last = v;
        reads.fetch_add(1);
      }
    });
  }
  // At least kWrites, and on until the readers have overlapped the writer
  // for a while (on a loaded machine they may start late).
  int64_t v = 0;
  while (v < kWrites || reads.load() < 1000) {
    ++v;
    lr.standby().Set(v);
    lr.Publish();
    // Read-your-writes: a read that starts after Publish sees v.
    EXPECT_EQ(lr.Read([](const State& s) { return s.slots[0]; }), v);
    lr.standby().Set(v);
    if (v % 1024 == 0) std::this_thread::yield();
  }
  stop.store(true);
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(backwards.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(lr.published().slots[0], v);
}

TEST(LeftRightTest, StandbyIsTheCopyReadersDoNotSee) {
  LeftRight<State> lr(std::make_unique<State>(), std::make_unique<State>());
  lr.standby().Set(7);
  EXPECT_EQ(lr.Read([](const State& s) { return s.slots[0]; }), 0);
  lr.Publish();
  EXPECT_EQ(lr.Read([](const State& s) { return s.slots[0]; }), 7);
  EXPECT_EQ(lr.standby().slots[0], 0);  // the previous copy, to catch up
  lr.standby().Set(7);
  lr.Publish();
  EXPECT_EQ(lr.published().slots[0], 7);
}

}  // namespace
}  // namespace streamrec::engine
