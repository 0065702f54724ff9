// A full disk under the real server: 503 with Retry-After while full,
// reads and /healthz go on, /readyz and the status say read-only and why,
// and writes resume by themselves once space is freed, with no restart.
// Needs root and tmpfs (an 8 MB tmpfs is mounted in the test's directory);
// skipped otherwise. The mount is made in a mount namespace of the test
// process's own, so it goes with the process even when the process dies
// without its TearDown (an abort, a kill): a tmpfs left mounted in /tmp
// once outlived a crashed run and broke a later one.
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/http/api_fixture.h"

namespace streamrec::http::testing {
namespace {

using Clock = std::chrono::steady_clock;

class FullDiskTest : public ApiTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
    mnt_ = dir_.Sub("mnt");
    std::filesystem::create_directories(mnt_);
    // Only this thread (the test's main thread, which starts the server's
    // threads afterwards) moves to the new namespace; private propagation
    // keeps the tmpfs from reaching the namespace we came from.
    if (unshare(CLONE_NEWNS) != 0 ||
        mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      GTEST_SKIP() << "cannot make a private mount namespace: " << std::strerror(errno);
    }
    if (mount("tmpfs", mnt_.c_str(), "tmpfs", 0, "size=8m") != 0) {
      GTEST_SKIP() << "cannot mount tmpfs: " << std::strerror(errno);
    }
    mounted_ = true;
    data_dir_ = mnt_ + "/db";
    store_options_.store.log.resume_interval_seconds = 0.2;
  }
  void TearDown() override {
    Stop();
    if (mounted_) umount2(mnt_.c_str(), MNT_DETACH);
  }

  // A batch of n events whose ids are long, so the disk fills quickly.
  static std::string Batch(int start, int n) {
    std::string body = "[";
    for (int k = start; k < start + n; ++k) {
      if (k > start) body += ",";
      body += EventJson(fmt::format("u{}", k % 50), fmt::format("i{}", k % 40), "view", 0.0,
                        1'700'000'000'000, fmt::format("{}-{:0>400}", k, k));
    }
    return body + "]";
  }

  // Writes 2 MB of filler, starts the server and posts until a 503.
  // *next: the first event number not posted.
  void FillDisk(int* next) {
    {
      std::ofstream filler(mnt_ + "/filler", std::ios::binary);
      const std::string mb(1 << 20, 'f');
      filler << mb << mb;
      ASSERT_TRUE(filler.good());
    }
    ASSERT_NO_FATAL_FAILURE(Start());
    ASSERT_EQ(Post("/v1/events", Batch(0, 100)).status, 200u);
    ClientResponse full;
    *next = 100;
    for (int n = 0; n < 400 && full.status != 503; ++n, *next += 500) {
      full = Post("/v1/events", Batch(*next, 500));
      ASSERT_TRUE(full.status == 200 || full.status == 503) << full.status << " " << full.body;
    }
    ASSERT_EQ(full.status, 503u) << "the disk never filled";
    EXPECT_EQ(full.headers["retry-after"], "1");
  }

  std::string mnt_;
  bool mounted_ = false;
};

TEST_F(FullDiskTest, FullDiskRefusesWritesWith503ThenResumesWhenSpaceIsFreed) {
  int next = 0;
  ASSERT_NO_FATAL_FAILURE(FillDisk(&next));
  // Still full, for a while: more 503s, never an abort; reads work.
  const auto until = Clock::now() + std::chrono::seconds(3);
  while (Clock::now() < until) {
    const ClientResponse again = Post("/v1/events", Batch(next, 50));
    EXPECT_EQ(again.status, 503u) << again.body;
    EXPECT_EQ(Get("/v1/users/u1/recommendations").status, 200u);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(Get("/healthz").status, 200u) << "liveness: the process serves reads";
  ClientResponse ready = Get("/readyz");
  EXPECT_EQ(ready.status, 503u);
  EXPECT_EQ(ready.headers["retry-after"], "1");
  EXPECT_NE(ErrorMessage(ready).find("No space"), std::string::npos) << ready.body;
  const json::value st = Json(Get("/v1/admin/status"));
  EXPECT_EQ(st.at("store").at("read_only"), true);
  EXPECT_NE(std::string(st.at("store").at("reason").as_string()).find("No space"),
            std::string::npos);
  EXPECT_NE(Get("/metrics").body.find("streamrec_store_read_only 1"), std::string::npos);

  // Free space: writes resume by themselves.
  ASSERT_TRUE(std::filesystem::remove(mnt_ + "/filler"));
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  unsigned status = 0;
  while (Clock::now() < deadline) {
    status = Post("/v1/events", Batch(next++, 1)).status;
    if (status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(status, 200u) << "writes did not resume";
  EXPECT_EQ(Get("/readyz").status, 200u);
  const json::value after = Json(Get("/v1/admin/status"));
  EXPECT_EQ(after.at("store").at("read_only"), false);
  EXPECT_GE(after.at("store").at("resumed").as_int64(), 1);
  EXPECT_NE(Get("/metrics").body.find("streamrec_store_read_only 0"), std::string::npos);
}

TEST_F(FullDiskTest, ShutdownWhileFullThenRestartKeepsEveryAcknowledgedEvent) {
  int next = 0;
  ASSERT_NO_FATAL_FAILURE(FillDisk(&next));
  const uint64_t durable = store_->status().durable_seq;
  ASSERT_GT(durable, 0u);
  // Closing cannot snapshot or flush (the disk is full): it says so, and
  // does not abort.
  server_->Shutdown();
  server_->Wait();
  EXPECT_FALSE(store_->Close().ok());
  store_.reset();
  server_.reset();
  api_.reset();
  client_.reset();
  ASSERT_TRUE(std::filesystem::remove(mnt_ + "/filler"));
  ASSERT_NO_FATAL_FAILURE(Start());
  EXPECT_EQ(store_->status().durable_seq, durable);
  EXPECT_EQ(store_->status().applied_seq, durable);
  EXPECT_EQ(Post("/v1/events", Batch(next, 1)).status, 200u);
}

}  // namespace
}  // namespace streamrec::http::testing
