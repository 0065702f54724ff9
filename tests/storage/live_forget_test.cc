// Forgetting a user in the live store (issue 12, items 6 and 7): what the
// model shows afterwards is what the log, which no longer holds the user,
// replays to, across a restart; and a retrain that read the log before the
// delete never installs what it learnt from the deleted events.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <Eigen/Core>
#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "storage/live_store.h"
#include "storage/recovery.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::TempDir;

engine::RecommenderOptions Engine() {
  engine::RecommenderOptions o;
  o.objective = engine::Objective::kImplicit;
  o.model.rank = 8;
  o.cold_start_min_items = 2;
  return o;
}

LiveStoreOptions Store() {
  LiveStoreOptions o;
  o.store.log.durability = Durability::kProcess;
  o.store.snapshot_every_events = 0;
  o.store.snapshot_every_seconds = 0;
  o.training.algorithm = engine::Algorithm::kIals;
  o.training.ials.iterations = 3;
  return o;
}

// Twelve users over ten items, and "gone", who bought "z" (no one else
// did) five times and viewed i0.
std::vector<StoredEvent> Events() {
  std::vector<StoredEvent> b;
  int64_t ts = 1'700'000'000'000;
  for (int k = 0; k < 120; ++k) {
    StoredEvent e;
    e.user = fmt::format("u{}", k % 12);
    e.item = fmt::format("i{}", (k * 7) % 10);
    e.type = k % 3 == 0 ? "purchase" : "view";
    e.ts_ms = ts += 1000;
    b.push_back(e);
    if (k % 24 == 5) {
      e.user = "gone";
      e.item = "z";
      e.type = "purchase";
      e.ts_ms = ts += 1000;
      b.push_back(e);
    }
  }
  StoredEvent v;
  v.user = "gone";
  v.item = "i0";
  v.type = "view";
  v.ts_ms = ts - 500;
  b.push_back(v);
  return b;
}

std::unique_ptr<LiveStore> Open(const std::string& dir, const LiveStoreOptions& options = Store()) {
  auto s = LiveStore::Open(dir, options, Engine(), engine::EventTypes::Defaults());
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

uint64_t Forget(LiveStore* s, const std::string& user) {
  std::promise<StatusOr<uint64_t>> p;
  s->ForgetUserAsync(user, [&](StatusOr<uint64_t> n) { p.set_value(std::move(n)); });
  StatusOr<uint64_t> n = p.get_future().get();
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : 0;
}

std::vector<engine::NamedScore> Popular(const LiveStore& s) {
  return s.Read([](const Replica& r) { return r.rec->Popular(20); });
}

// The published popular list equals a fresh replay of the log.
void ExpectPopularIsTheReplays(const std::string& dir, const std::vector<engine::NamedScore>& got) {
  auto log = EventLog::Open(dir, {});
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  engine::Recommender replay(Engine(), engine::EventTypes::Defaults());
  ASSERT_TRUE((*log)->Scan(1, UINT64_MAX, [&](const StoredEvent& e) {
    EXPECT_NE(e.user, "gone");
    EXPECT_TRUE(ApplyStored(e, &replay).ok());
    return true;
  }).ok());
  const auto want = replay.Popular(20);
  ASSERT_EQ(got.size(), want.size());
  for (size_t n = 0; n < got.size(); ++n) {
    EXPECT_EQ(got[n].item, want[n].item) << n;
    EXPECT_NEAR(got[n].score, want[n].score, 1e-5 * want[n].score) << n;
  }
}

TEST(LiveForgetTest, PopularityIsTheReplaysAfterAForgetAndARestart) {
  TempDir dir;
  std::vector<engine::NamedScore> after;
  {
    auto s = Open(dir.path());
    ASSERT_TRUE(s->Ingest(Events()).ok());
    ASSERT_EQ(Popular(*s).front().item, "z");  // five purchases lead
    EXPECT_EQ(Forget(s.get(), "gone"), 6u);
    after = Popular(*s);
    for (const auto& x : after) EXPECT_NE(x.item, "z");
    // Nobody is recommended z on gone's account: its vector is 0.
    s->Read([](const Replica& r) {
      const engine::MFModel& m = r.rec->model();
      const uint32_t z = *r.rec->items().Find("z");
      EXPECT_EQ(Eigen::Map<const Eigen::VectorXf>(m.item_factors(z), m.rank()).norm(), 0.0f);
    });
    ASSERT_TRUE(s->Close().ok());
  }
  ExpectPopularIsTheReplays(dir.path(), after);
  auto again = Open(dir.path());  // from the snapshot written on close
  const auto restarted = Popular(*again);
  ASSERT_EQ(restarted.size(), after.size());
  for (size_t n = 0; n < after.size(); ++n) {
    EXPECT_EQ(restarted[n].item, after[n].item);
    EXPECT_EQ(restarted[n].score, after[n].score);
  }
}

TEST(LiveForgetTest, ARetrainThatReadTheDeletedEventsIsTrainedAgain) {
  TempDir dir;
  LiveStoreOptions options = Store();
  std::atomic<LiveStore*> store{nullptr};
  std::atomic<int> trainings{0};
  // The first training has read the log with gone in it; gone is forgotten
  // before its install is queued.
  options.retrain_trained_hook = [&] {
    if (trainings.fetch_add(1) == 0) {
      EXPECT_EQ(Forget(store.load(), "gone"), 6u);
    }
  };
  auto s = Open(dir.path(), options);
  store = s.get();
  ASSERT_TRUE(s->Ingest(Events()).ok());
  ASSERT_TRUE(s->Retrain().ok());
  RetrainStatus r;
  for (int i = 0; i < 3000; ++i) {
    r = s->status().retrain;
    if (r.state != RetrainState::kRunning) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(r.state, RetrainState::kSucceeded) << r.error;
  EXPECT_EQ(trainings.load(), 2);
  EXPECT_EQ(r.restarts, 1u);
  EXPECT_EQ(r.examples, 120u);  // the log without gone's six events
  s->Read([](const Replica& rep) {
    // iALS gives an item nobody has a zero vector: z was not learnt.
    const engine::MFModel& m = rep.rec->model();
    const uint32_t z = *rep.rec->items().Find("z");
    EXPECT_EQ(Eigen::Map<const Eigen::VectorXf>(m.item_factors(z), m.rank()).norm(), 0.0f);
    EXPECT_FALSE(rep.rec->users().Find("gone").has_value());
  });
  for (const auto& x : Popular(*s)) EXPECT_NE(x.item, "z");
  ASSERT_TRUE(s->Close().ok());
}

}  // namespace
}  // namespace streamrec::storage
