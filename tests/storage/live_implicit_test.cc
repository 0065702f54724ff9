// LiveStore serving the implicit objective ([model] objective = implicit):
// recovery, retrain with iALS, and a database switched between objectives.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <future>
#include <thread>

#include "engine/live/snapshot.h"
#include "storage/live_store.h"
#include "storage/recovery.h"
#include "tests/engine/recommender_fixture.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using testing::TempDir;

engine::RecommenderOptions Engine(engine::Objective objective) {
  engine::RecommenderOptions o;
  o.objective = objective;
  o.model.rank = 8;
  o.cold_start_min_items = 2;
  return o;
}

LiveStoreOptions Store(engine::Algorithm algorithm) {
  LiveStoreOptions o;
  o.store.log.durability = Durability::kProcess;
  o.training.bpr.epochs = 5;
  o.store.snapshot_every_events = 0;  // only Close() and retrains write them
  o.store.snapshot_every_seconds = 0;
  o.training.algorithm = algorithm;
  o.training.als.iterations = 3;
  o.training.ials.iterations = 3;
  return o;
}

// Every implicit type and some ratings; types with and without a rating.
std::vector<StoredEvent> Batch(int start, int n) {
  static const char* kTypes[] = {"view", "click", "cart", "purchase", "rating"};
  std::vector<StoredEvent> b;
  for (int k = start; k < start + n; ++k) {
    const char* type = kTypes[k % 5];
    const float value = k % 5 == 4 ? static_cast<float>(1 + k % 5) : 0.0f;
    b.push_back({0, fmt::format("e{}", k), fmt::format("u{}", k % 13), fmt::format("i{}", k % 17),
                 type, value, 1000 + k});
  }
  return b;
}

std::unique_ptr<LiveStore> Open(const std::string& dir, engine::Objective objective,
                                engine::Algorithm algorithm = engine::Algorithm::kIals) {
  auto s =
      LiveStore::Open(dir, Store(algorithm), Engine(objective), engine::EventTypes::Defaults());
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

std::string State(const LiveStore& s) {
  return s.Read([](const Replica& r) { return engine::EncodeSnapshot(*r.rec); });
}

// The state a full replay of `events` gives.
std::string Replayed(engine::Objective objective, const std::vector<StoredEvent>& events) {
  engine::Recommender rec(Engine(objective), engine::EventTypes::Defaults());
  uint64_t seq = 0;
  for (StoredEvent e : events) {
    e.seq = ++seq;
    EXPECT_TRUE(ApplyStored(e, &rec).ok());
  }
  return engine::EncodeSnapshot(rec);
}

void WaitForRetrain(const LiveStore& store) {
  for (int i = 0; i < 1000 && store.status().retrain.state == RetrainState::kRunning; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST(LiveImplicitTest, SnapshotPlusLogTailEqualsAFullReplay) {
  TempDir dir;
  const std::vector<StoredEvent> first = Batch(0, 200), second = Batch(200, 150);
  {
    auto store = Open(dir.path(), engine::Objective::kImplicit);
    ASSERT_TRUE(store->Ingest(first).ok());
    EXPECT_EQ(store->status().objective, engine::Objective::kImplicit);
    ASSERT_TRUE(store->Close().ok());  // writes the snapshot at 200
  }
  auto store = Open(dir.path(), engine::Objective::kImplicit);
  const LiveStatus st = store->status();
  EXPECT_EQ(st.recovery.snapshot_seq, 200u) << st.recovery.snapshot_skipped;
  EXPECT_EQ(st.recovery.replayed, 0u);
  ASSERT_TRUE(store->Ingest(second).ok());
  std::vector<StoredEvent> all = first;
  all.insert(all.end(), second.begin(), second.end());
  EXPECT_EQ(State(*store), Replayed(engine::Objective::kImplicit, all));
  store->Read([](const Replica& r) {
    const auto rec = r.rec->RecommendForUser("u1", engine::Req(5));
    EXPECT_EQ(rec.source, engine::RecommendationSource::kModel);
    EXPECT_NE(r.rec->implicit(), nullptr);
  });
}

TEST(LiveImplicitTest, RetrainInstallsIalsOverEveryEventAndARestartKeepsIt) {
  TempDir dir;
  std::string after;
  {
    auto store = Open(dir.path(), engine::Objective::kImplicit);
    ASSERT_TRUE(store->Ingest(Batch(0, 300)).ok());
    const std::string online = State(*store);
    ASSERT_TRUE(store->Retrain().ok());
    WaitForRetrain(*store);
    const LiveStatus st = store->status();
    ASSERT_EQ(st.retrain.state, RetrainState::kSucceeded) << st.retrain.error;
    EXPECT_EQ(st.retrain.algorithm, "ials");
    // Every event is an interaction iALS counts.
    EXPECT_EQ(st.retrain.examples, 300u);
    after = State(*store);
    EXPECT_NE(after, online);
    EXPECT_EQ(st.snapshot_seq, 300u);
    // The implicit model keeps learning online after the install.
    ASSERT_TRUE(store->Ingest(Batch(300, 20)).ok());
    after = State(*store);
  }
  auto store = Open(dir.path(), engine::Objective::kImplicit);
  EXPECT_EQ(State(*store), after);
}

// An implicit store on `dir` with 300 events and a retrain (ials) started
// on them, whose hook writes `tail` more events, in batches of 2,500, once
// the training is done and before its install is queued: the install has
// them to catch up with.
class RetrainingWithATail {
 public:
  RetrainingWithATail(const std::string& dir, int tail) {
    LiveStoreOptions options = Store(engine::Algorithm::kIals);
    options.retrain_trained_hook = [this, tail] {
      for (int b = 0; b < tail / 2500; ++b) {
        EXPECT_TRUE(store_->Ingest(Batch(300 + b * 2500, 2500)).ok());
      }
    };
    auto opened = LiveStore::Open(dir, options, Engine(engine::Objective::kImplicit),
                                  engine::EventTypes::Defaults());
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (!opened.ok()) return;
    store_ = std::move(opened).value();
    EXPECT_TRUE(store_->Ingest(Batch(0, 300)).ok());
    EXPECT_TRUE(store_->Retrain().ok());
  }
  RetrainingWithATail(const RetrainingWithATail&) = delete;
  RetrainingWithATail& operator=(const RetrainingWithATail&) = delete;

  LiveStore* store() const { return store_.get(); }

 private:
  std::unique_ptr<LiveStore> store_;  // set before the hook can run
};

// Events written while the model trained are stepped on it between live
// writes, a chunk at a time (LiveStore::Impl::CatchUpStep), not in one
// hold of the model thread at the install: writes are acknowledged while
// it catches up. The install then holds every one of them, and a restart
// keeps what was installed.
TEST(LiveImplicitTest, ARetrainCatchesUpBetweenWritesAndARestartKeepsIt) {
  TempDir dir;
  constexpr int kTail = 40000;  // ~10 chunks (kMinCatchUpChunk)
  std::string installed;
  {
    RetrainingWithATail retraining(dir.path(), kTail);
    LiveStore* store = retraining.store();
    ASSERT_NE(store, nullptr);
    int acked_while_catching_up = 0;
    for (int n = 0; store->status().retrain.state == RetrainState::kRunning; ++n) {
      // Items new to the model among them: the catch-up's steps read
      // histories that name rows the retrained model lacks.
      std::vector<StoredEvent> batch = Batch(1'000'000 + n * 10, 10);
      batch[0].item = fmt::format("new{}", n);
      ASSERT_TRUE(store->Ingest(std::move(batch)).ok());
      const RetrainStatus r = store->status().retrain;
      if (r.state == RetrainState::kRunning && r.caught_up_events > 0) ++acked_while_catching_up;
    }
    EXPECT_GT(acked_while_catching_up, 0);
    const LiveStatus st = store->status();
    ASSERT_EQ(st.retrain.state, RetrainState::kSucceeded) << st.retrain.error;
    EXPECT_EQ(st.retrain.trained_through_seq, 300u);
    // Every event after the training's, through the install's: the hook's
    // and some of this thread's.
    EXPECT_GE(st.retrain.caught_up_events, uint64_t{kTail});
    EXPECT_LE(st.retrain.caught_up_events, st.applied_seq - 300);
    ASSERT_FALSE(st.snapshot_history.empty());
    EXPECT_EQ(st.snapshot_history.back().reason, "retrain");
    EXPECT_EQ(st.snapshot_history.back().seq, 300 + st.retrain.caught_up_events);
    installed = State(*store);
    ASSERT_TRUE(store->Close().ok());
  }
  auto store = Open(dir.path(), engine::Objective::kImplicit);
  EXPECT_EQ(State(*store), installed);
}

// A user forgotten while a retrain catches up is forgotten after its
// install, in the order the two were queued: the delete finishes the
// catch-up first, so the installed model cannot bring the user back.
TEST(LiveImplicitTest, AForgetWhileARetrainCatchesUpFinishesTheInstallFirst) {
  TempDir dir;
  RetrainingWithATail retraining(dir.path(), 60000);
  LiveStore* store = retraining.store();
  ASSERT_NE(store, nullptr);
  RetrainStatus r = store->status().retrain;
  while (r.state == RetrainState::kRunning && r.caught_up_events == 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    r = store->status().retrain;
  }
  ASSERT_EQ(r.state, RetrainState::kRunning) << "the catch-up ended before it was seen";
  std::promise<StatusOr<uint64_t>> forgot;
  store->ForgetUserAsync("u3", [&](StatusOr<uint64_t> n) { forgot.set_value(std::move(n)); });
  const StatusOr<uint64_t> removed = forgot.get_future().get();
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_GT(*removed, 0u);
  const LiveStatus st = store->status();
  EXPECT_EQ(st.retrain.state, RetrainState::kSucceeded) << st.retrain.error;
  EXPECT_EQ(st.retrain.trained_through_seq, 300u);
  // The whole tail was stepped before the forget, but for the events of
  // u3 (one user in 13) the delete had already taken from the log.
  EXPECT_GT(st.retrain.caught_up_events, 60000u * 12 / 13);
  EXPECT_LE(st.retrain.caught_up_events, 60000u);
  store->Read([](const Replica& rep) { EXPECT_FALSE(rep.rec->users().Find("u3").has_value()); });
  ASSERT_TRUE(store->Close().ok());
}

TEST(LiveImplicitTest, BprObjectiveLearnsOnlineRetrainsWithBprAndRecovers) {
  TempDir dir;
  std::string after;
  {
    auto store = Open(dir.path(), engine::Objective::kBpr, engine::Algorithm::kBpr);
    ASSERT_TRUE(store->Ingest(Batch(0, 250)).ok());
    EXPECT_EQ(State(*store), Replayed(engine::Objective::kBpr, Batch(0, 250)));
    EXPECT_EQ(store->Retrain().code(), StatusCode::kOk);
    WaitForRetrain(*store);
    const LiveStatus st = store->status();
    ASSERT_EQ(st.retrain.state, RetrainState::kSucceeded) << st.retrain.error;
    EXPECT_EQ(st.retrain.algorithm, "bpr");
    EXPECT_EQ(st.retrain.examples, 250u);
    ASSERT_TRUE(store->Ingest(Batch(250, 30)).ok());
    after = State(*store);
  }
  auto store = Open(dir.path(), engine::Objective::kBpr, engine::Algorithm::kBpr);
  EXPECT_EQ(store->status().recovery.replayed, 0u);
  EXPECT_EQ(State(*store), after);
}

TEST(LiveImplicitTest, RetrainAlgorithmMustFitTheObjective) {
  TempDir dir;
  auto store = Open(dir.path(), engine::Objective::kImplicit, engine::Algorithm::kAls);
  ASSERT_TRUE(store->Ingest(Batch(0, 50)).ok());
  const Status st = store->Retrain();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("use ials"), std::string::npos) << st.message();
  EXPECT_EQ(store->status().retrain.runs, 0u);
  EXPECT_TRUE(CheckRetrainAlgorithm(engine::Objective::kRating, engine::Algorithm::kBpmf).ok());
  EXPECT_FALSE(CheckRetrainAlgorithm(engine::Objective::kRating, engine::Algorithm::kIals).ok());
  EXPECT_FALSE(CheckRetrainAlgorithm(engine::Objective::kImplicit, engine::Algorithm::kBpr).ok());
  EXPECT_TRUE(CheckRetrainAlgorithm(engine::Objective::kBpr, engine::Algorithm::kBpr).ok());
  EXPECT_FALSE(CheckRetrainAlgorithm(engine::Objective::kBpr, engine::Algorithm::kIals).ok());
}

// Switching a database to the other objective: its snapshots were written
// under other settings, so the whole log is replayed into the new model.
// Sessions folded in and explanations read while batches are applied: the
// model thread changes the implicit history and Gramians both copies share
// as it applies, so a reader of the published copy folds in with that
// copy's own Gramian, and an explanation (which reads the history) runs on
// the model thread between changes (LiveStore::ReadOnWriterAsync). Its
// terms add up to the score it explains. Under ThreadSanitizer this is
// the test of that: reading the shared state from Read() was a race.
TEST(LiveImplicitTest, SessionsAndExplanationsReadWhileEventsAreApplied) {
  TempDir dir;
  auto store = Open(dir.path(), engine::Objective::kImplicit);
  ASSERT_NE(store, nullptr);
  // Many users, so the history's pages of user rows grow and move.
  auto batch = [](int b) {
    std::vector<StoredEvent> out;
    for (int k = b * 300; k < (b + 1) * 300; ++k) {
      out.push_back({0, fmt::format("e{}", k), fmt::format("u{}", k * 7919 % 997),
                     fmt::format("i{}", k % 13 == 0 ? k % 40 : k % 11), "click", 0.0f, 1000 + k});
    }
    return out;
  };
  ASSERT_TRUE(store->Ingest(batch(0)).ok());
  std::vector<StoredEvent> mine;  // the user whose recommendations are explained
  for (int k = 1; k <= 5; ++k) {
    mine.push_back(
        {0, fmt::format("x{}", k), "explained", fmt::format("i{}", k), "click", 0.0f, 1});
  }
  ASSERT_TRUE(store->Ingest(mine).ok());
  std::atomic<bool> writing{true};
  std::thread writer([&] {
    for (int b = 1; b < 40; ++b) EXPECT_TRUE(store->Ingest(batch(b)).ok());
    writing.store(false);
  });
  const engine::EventTypeId click = *engine::EventTypes::Defaults().Find("click");
  const std::vector<engine::HistoryEvent> history = {
      {"i1", click, 0.0f}, {"i2", click, 0.0f}, {"i3", click, 0.0f}};
  int sessions = 0, explained = 0;
  while (writing.load() || explained == 0) {
    store->Read([&](const Replica& r) {
      engine::SessionInfo info;
      const StatusOr<engine::Recommendations> got =
          r.rec->RecommendForHistory(history, engine::Req(5), &info);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(info.used, 3u);
      ++sessions;
    });
    std::promise<engine::Explanation> answer;
    store->ReadOnWriterAsync(
        [&](const Replica& r) {
          const engine::Recommendations recs = r.rec->RecommendForUser("explained", engine::Req(3));
          answer.set_value(r.rec->Explain("explained", recs, /*top=*/1000));
        },
        [&](const Status& st) {
          ADD_FAILURE() << st.ToString();
          answer.set_value({});
        });
    const engine::Explanation why = answer.get_future().get();
    ASSERT_EQ(why.method, engine::ExplanationMethod::kExact);
    ASSERT_FALSE(why.items.empty());
    for (const engine::ItemExplanation& e : why.items) {
      double sum = e.unexplained;
      for (const engine::Contribution& c : e.because) sum += c.value;
      EXPECT_NEAR(sum, e.score, 1e-3 * std::max(1.0f, std::abs(e.score))) << e.item;
    }
    ++explained;
  }
  writer.join();
  EXPECT_GT(sessions, 0);
  ASSERT_TRUE(store->Close().ok());
  // Closed: the read is refused, not lost.
  Status refused;
  store->ReadOnWriterAsync([](const Replica&) { FAIL() << "read after Close"; },
                           [&](const Status& st) { refused = st; });
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
}

TEST(LiveImplicitTest, SwitchingObjectiveReplaysTheLog) {
  TempDir dir;
  const std::vector<StoredEvent> events = Batch(0, 120);
  {
    auto store = Open(dir.path(), engine::Objective::kRating, engine::Algorithm::kAls);
    ASSERT_TRUE(store->Ingest(events).ok());
    ASSERT_TRUE(store->Close().ok());
  }
  {
    auto store = Open(dir.path(), engine::Objective::kImplicit);
    const LiveStatus st = store->status();
    EXPECT_EQ(st.recovery.snapshot_seq, 0u);
    EXPECT_EQ(st.recovery.replayed, 120u);
    EXPECT_FALSE(st.recovery.snapshot_skipped.empty());
    EXPECT_EQ(State(*store), Replayed(engine::Objective::kImplicit, events));
    ASSERT_TRUE(store->Close().ok());
  }
  auto store = Open(dir.path(), engine::Objective::kRating, engine::Algorithm::kAls);
  EXPECT_EQ(store->status().recovery.replayed, 120u);
  EXPECT_EQ(State(*store), Replayed(engine::Objective::kRating, events));
}

}  // namespace
}  // namespace streamrec::storage
