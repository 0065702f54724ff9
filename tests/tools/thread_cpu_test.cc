// CPU time by thread name (tools/bench/thread_cpu.h), which bench ingest
// and bench scale print per event.
#include "tools/bench/thread_cpu.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "engine/core/thread_name.h"

namespace streamrec::tools {
namespace {

TEST(ThreadCpuTest, StatTicksAreUtimePlusStimeWhateverTheName) {
  // Fields 14 and 15 are 7 and 5; the name holds spaces and parentheses.
  EXPECT_EQ(StatCpuTicks("42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0"), 12u);
  EXPECT_EQ(StatCpuTicks("42 (x) R 1 42 42 0 -1 0 0 0 0 0 1234567 89 0 0"), 1234656u);
  EXPECT_FALSE(StatCpuTicks("").has_value());
  EXPECT_FALSE(StatCpuTicks("42 x S 1").has_value());            // no name
  EXPECT_FALSE(StatCpuTicks("42 (x) S 1 42 42 0").has_value());  // cut short
  EXPECT_FALSE(StatCpuTicks("42 (x) S 1 42 42 0 -1 0 0 0 0 0 7a 5 0").has_value());
}

TEST(ThreadCpuTest, CpuPerUnitListsEachNamesShareLargestFirst) {
  CpuSample before, after;
  before.threads = {{10, {"sr-log", 1.0}}, {11, {"sr-model", 2.0}}};
  before.process = 3.0;
  after.threads = {{10, {"sr-log", 1.5}},
                   {11, {"sr-model", 2.6}},
                   {12, {"sr-model", 0.4}},  // started in between: counted from its start
                   {13, {"sr-http", 0.1}},
                   {14, {"idle", 0.0000001}}};
  after.process = 3.0 + 1.6000001;
  // 100,000 units: 10 us, 5 us, 1 us each; "idle" (0.001 us) left out; no
  // CPU but the live threads'.
  EXPECT_EQ(CpuPerUnit(before, after, 100000), "sr-model 10.0, sr-log 5.0, sr-http 1.0");
  EXPECT_EQ(CpuPerUnit(before, after, 0), "");
}

TEST(ThreadCpuTest, WhatExitedThreadsTookIsApartAndTakesNothingOffTheirName) {
  CpuSample before, after;
  // Two sr-ivf threads; the one with 5 s exits after another 0.2 s, the
  // other spins 0.3 s more. A renamed thread (an IVF training starts under
  // its creator's name) counts from its first reading.
  before.threads = {{20, {"sr-ivf", 5.0}}, {21, {"sr-ivf", 1.0}}, {22, {"sr-model", 2.0}}};
  before.process = 8.0;
  after.threads = {{21, {"sr-ivf", 1.3}}, {22, {"sr-ivf", 2.1}}};
  after.process = 8.0 + 0.2 + 0.3 + 0.1;
  // By name alone this gave sr-ivf (1.3 + 2.1) - (5.0 + 1.0) < 0 and lost
  // the exited thread's 0.2 s.
  EXPECT_EQ(CpuPerUnit(before, after, 100000), "sr-ivf 4.0, exited threads 2.0");
  // A thread id reused by a new thread (less CPU than the old one had).
  CpuSample reused;
  reused.threads = {{20, {"sr-query", 0.5}}};
  reused.process = 8.0 + 5.0;
  EXPECT_EQ(CpuPerUnit(before, reused, 100000), "exited threads 45.0, sr-query 5.0");
}

TEST(ThreadCpuTest, SampleCpuReadsThisThreadAndTheProcess) {
  const CpuSample s = SampleCpu();
  ASSERT_FALSE(s.threads.empty());
  EXPECT_TRUE(s.threads.count(static_cast<int>(gettid())));
  EXPECT_GT(s.process, 0.0);
}

TEST(ThreadCpuTest, ANamedThreadsWorkIsCountedUnderItsName) {
  const CpuSample before = SampleCpu();
  ASSERT_FALSE(before.threads.empty());
  std::atomic<uint64_t> sink{0};
  std::thread spinner([&] {
    engine::NameThisThread("sr-test-spinner-long-name");  // kept: its first 15 bytes
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(150);
    uint64_t x = 1;
    while (std::chrono::steady_clock::now() < until) {
      for (int k = 0; k < 1000; ++k) x = x * 6364136223846793005u + 1442695040888963407u;
    }
    sink = x;
    // Still alive when it is read: exited threads are not listed by name.
    const CpuSample during = SampleCpu();
    const auto it = during.threads.find(static_cast<int>(gettid()));
    ASSERT_NE(it, during.threads.end());
    EXPECT_EQ(it->second.name, "sr-test-spinner");
    // Most of 150 ms of spinning, on a machine that may be busy.
    EXPECT_GT(it->second.seconds, 0.01);
    EXPECT_LT(it->second.seconds, 10.0);
    for (const auto& [tid, t] : before.threads) EXPECT_NE(t.name, "sr-test-spinner");
  });
  spinner.join();
  EXPECT_NE(sink.load(), 0u);
}

}  // namespace
}  // namespace streamrec::tools
