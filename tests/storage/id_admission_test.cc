// The caps on new user and item ids (issue 12, item 12): exact totals even
// while batches queue, whole batches refused with nothing stored, a rate
// cap whose "retry in a second" is true, and forgetting that frees a place.
#include "storage/id_admission.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "storage/live_store.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::storage {
namespace {

using Clock = IdAdmission::Clock;
using testing::TempDir;

StoredEvent Ev(std::string user, std::string item) {
  StoredEvent e;
  e.user = std::move(user);
  e.item = std::move(item);
  e.type = "view";
  e.ts_ms = 1'700'000'000'000;
  return e;
}

engine::Recommender Empty() {
  engine::RecommenderOptions o;
  o.model.rank = 4;
  return engine::Recommender(o, engine::EventTypes::Defaults());
}

void ApplyAll(const std::vector<StoredEvent>& batch, engine::Recommender* rec) {
  for (const StoredEvent& e : batch) {
    ASSERT_TRUE(rec->Apply({e.user, e.item, 0, 0.0f, e.ts_ms}).ok());
  }
}

TEST(IdAdmissionTest, TotalsCountIdsStillOnTheirWayIntoTheModel) {
  engine::Recommender rec = Empty();
  IdAdmission a({.max_users = 3});
  const Clock::time_point now = Clock::now();
  IdAdmission::Ticket t1, t2, t3;
  const std::vector<StoredEvent> first = {Ev("u1", "i1"), Ev("u2", "i1"), Ev("u1", "i2")};
  ASSERT_TRUE(a.Admit(first, rec, now, &t1).ok());
  EXPECT_EQ(t1.users.size(), 2u);  // distinct ids, counted once
  EXPECT_EQ(t1.items.size(), 2u);
  a.Commit(t1, 3);
  // Not applied yet: u1 and u2 still count, and u1 is not new again.
  const Status full = a.Admit({Ev("u3", "i1"), Ev("u4", "i1")}, rec, now, &t2);
  EXPECT_EQ(full.code(), StatusCode::kCapacityExceeded) << full.ToString();
  EXPECT_NE(full.message().find("max_users"), std::string::npos) << full.message();
  EXPECT_TRUE(t2.users.empty());
  ASSERT_TRUE(a.Admit({Ev("u3", "i9"), Ev("u1", "i9")}, rec, now, &t3).ok());
  EXPECT_EQ(t3.users, std::vector<std::string>{"u3"});
  a.Commit(t3, 5);

  // The model applies the first batch: its ids move from pending to the
  // model, and the total stays what it was.
  ApplyAll(first, &rec);
  a.Prune(3);
  EXPECT_EQ(a.pending_users(), 1u);  // u3
  EXPECT_EQ(a.Admit({Ev("u4", "i1")}, rec, now, &t2).code(), StatusCode::kCapacityExceeded);
  a.Prune(5);
  EXPECT_EQ(a.pending_users(), 0u);
}

TEST(IdAdmissionTest, ALongBatchFindsExactlyItsNewIds) {
  // Admit hints the lookups of the events ahead (IdMap::Prefetch): in a
  // batch longer than its look-ahead, of known, new and repeated ids, it
  // still names each new id once, in order of first sight.
  engine::Recommender rec = Empty();
  std::vector<StoredEvent> known;
  for (int n = 0; n < 50; ++n) known.push_back(Ev(fmt::format("u{}", n), fmt::format("i{}", n)));
  ApplyAll(known, &rec);
  IdAdmission a({.max_users = 1000});
  std::vector<StoredEvent> batch;
  std::vector<std::string> want_users, want_items;
  for (int n = 0; n < 100; ++n) {
    const int u = (n * 7) % 80, i = (n * 11) % 60;  // ids 0-49 known
    batch.push_back(Ev(fmt::format("u{}", u), fmt::format("i{}", i)));
    const auto add = [](std::vector<std::string>* v, std::string id) {
      if (std::find(v->begin(), v->end(), id) == v->end()) v->push_back(std::move(id));
    };
    if (u >= 50) add(&want_users, fmt::format("u{}", u));
    if (i >= 50) add(&want_items, fmt::format("i{}", i));
  }
  IdAdmission::Ticket t;
  ASSERT_TRUE(a.Admit(batch, rec, Clock::now(), &t).ok());
  EXPECT_EQ(std::vector<std::string>(t.users.begin(), t.users.end()), want_users);
  EXPECT_EQ(std::vector<std::string>(t.items.begin(), t.items.end()), want_items);
  EXPECT_EQ(want_users.size(), 30u);
  EXPECT_EQ(want_items.size(), 10u);
}

TEST(IdAdmissionTest, ForgettingAUserFreesItsPlace) {
  engine::Recommender rec = Empty();
  ApplyAll({Ev("u1", "i1"), Ev("u2", "i1")}, &rec);
  IdAdmission a({.max_users = 2});
  IdAdmission::Ticket t;
  EXPECT_EQ(a.Admit({Ev("u3", "i1")}, rec, Clock::now(), &t).code(), StatusCode::kCapacityExceeded);
  ASSERT_TRUE(rec.ForgetUser("u2"));
  EXPECT_TRUE(a.Admit({Ev("u3", "i1")}, rec, Clock::now(), &t).ok());
  // Known users are never refused, however full the server is.
  EXPECT_TRUE(a.Admit({Ev("u1", "i1")}, rec, Clock::now(), &t).ok());
}

TEST(IdAdmissionTest, ItemsHaveTheirOwnTotal) {
  engine::Recommender rec = Empty();
  IdAdmission a({.max_items = 2});
  IdAdmission::Ticket t;
  ASSERT_TRUE(a.Admit({Ev("u1", "i1"), Ev("u2", "i2")}, rec, Clock::now(), &t).ok());
  const Status s = a.Admit({Ev("u3", "i3")}, rec, Clock::now(), &t);
  EXPECT_EQ(s.code(), StatusCode::kCapacityExceeded);
  EXPECT_NE(s.message().find("max_items"), std::string::npos) << s.message();
  // A refused batch holds nothing: after a rollback of the first, it fits.
  IdAdmission::Ticket first;
  first.items = {"i1", "i2"};
  first.users = {"u1", "u2"};
  a.Rollback(first);
  EXPECT_TRUE(a.Admit({Ev("u3", "i3")}, rec, Clock::now(), &t).ok());
}

TEST(IdAdmissionTest, PerRequestCapIsABadRequestNotARetry) {
  engine::Recommender rec = Empty();
  IdAdmission a({.max_new_ids_per_request = 3});
  IdAdmission::Ticket t;
  EXPECT_TRUE(a.Admit({Ev("u1", "i1")}, rec, Clock::now(), &t).ok());
  const Status s = a.Admit({Ev("u2", "i2"), Ev("u3", "i3")}, rec, Clock::now(), &t);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("4 new ids (2 users, 2 items)"), std::string::npos) << s.message();
  EXPECT_EQ(a.pending_users(), 1u);
}

TEST(IdAdmissionTest, RateCapRefillsWithinASecond) {
  engine::Recommender rec = Empty();
  const Clock::time_point t0 = Clock::now();
  IdAdmission a({.max_new_ids_per_request = 10, .max_new_ids_per_second = 10}, t0);
  IdAdmission::Ticket t;
  std::vector<StoredEvent> ten;
  for (int k = 0; k < 5; ++k) ten.push_back(Ev(fmt::format("u{}", k), fmt::format("i{}", k)));
  ASSERT_TRUE(a.Admit(ten, rec, t0, &t).ok());  // the whole burst
  const Status s = a.Admit({Ev("u9", "i0")}, rec, t0, &t);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.message().find("max_new_ids_per_second"), std::string::npos);
  // 100 ms later one id's worth has come back; a second later a full batch.
  EXPECT_TRUE(a.Admit({Ev("u9", "i0")}, rec, t0 + std::chrono::milliseconds(100), &t).ok());
  std::vector<StoredEvent> next;
  for (int k = 10; k < 15; ++k) next.push_back(Ev(fmt::format("u{}", k), fmt::format("i{}", k)));
  EXPECT_EQ(a.Admit(next, rec, t0 + std::chrono::milliseconds(500), &t).code(),
            StatusCode::kResourceExhausted);
  EXPECT_TRUE(a.Admit(next, rec, t0 + std::chrono::milliseconds(1100), &t).ok());
}

// ---- in the live store ------------------------------------------------------

std::unique_ptr<LiveStore> OpenWith(const std::string& dir, IdLimits ids) {
  LiveStoreOptions o;
  o.store.log.durability = Durability::kProcess;
  o.ids = ids;
  engine::RecommenderOptions e;
  e.model.rank = 4;
  auto s = LiveStore::Open(dir, o, e, engine::EventTypes::Defaults());
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s).value() : nullptr;
}

TEST(LiveStoreIdCapsTest, ARefusedBatchStoresNothingAndAForgetMakesRoom) {
  TempDir dir;
  auto store = OpenWith(dir.path(), {.max_users = 2});
  ASSERT_TRUE(store->Ingest({Ev("u1", "i1"), Ev("u2", "i1")}).ok());
  const uint64_t durable = store->status().durable_seq;
  // One known user and one new: refused whole.
  auto r = store->Ingest({Ev("u1", "i2"), Ev("u3", "i2")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCapacityExceeded) << r.status().ToString();
  EXPECT_EQ(store->status().durable_seq, durable);
  EXPECT_EQ(store->status().pending_events, 0u);
  // Known users go on being served and learnt from.
  ASSERT_TRUE(store->Ingest({Ev("u1", "i2")}).ok());

  std::promise<StatusOr<uint64_t>> forgot;
  store->ForgetUserAsync("u2", [&](StatusOr<uint64_t> n) { forgot.set_value(n); });
  ASSERT_TRUE(forgot.get_future().get().ok());
  ASSERT_TRUE(store->Ingest({Ev("u3", "i2")}).ok());
  EXPECT_EQ(store->status().users, 2u);  // u1 and u3; u2 is forgotten
  ASSERT_TRUE(store->Close().ok());
}

TEST(LiveStoreIdCapsTest, ConcurrentWritersNeverPassTheTotal) {
  TempDir dir;
  constexpr int kCap = 40;
  auto store = OpenWith(dir.path(), {.max_users = kCap});
  std::atomic<int> accepted{0}, refused{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int k = 0; k < 30; ++k) {
        std::vector<StoredEvent> batch = {Ev(fmt::format("w{}-{}a", w, k), "i"),
                                          Ev(fmt::format("w{}-{}b", w, k), "i")};
        auto r = store->Ingest(std::move(batch));
        if (r.ok()) {
          accepted++;
        } else {
          EXPECT_EQ(r.status().code(), StatusCode::kCapacityExceeded) << r.status().ToString();
          refused++;
        }
      }
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(accepted.load(), kCap / 2);
  EXPECT_EQ(refused.load(), 4 * 30 - kCap / 2);
  EXPECT_EQ(store->status().users, static_cast<uint64_t>(kCap));
  ASSERT_TRUE(store->Close().ok());
}

}  // namespace
}  // namespace streamrec::storage
