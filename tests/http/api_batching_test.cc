// GET recommendations through the QueryBatcher: concurrent clients get
// exactly what the engine answers for each of them alone, batched or not,
// and a batcher being destroyed answers everything it had queued.

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/random.h"
#include "http/query_batcher.h"
#include "tests/http/api_fixture.h"

namespace streamrec::http::testing {
namespace {

class BatchingTest : public ApiTest, public ::testing::WithParamInterface<int> {
 protected:
  // 30 users with 4-12 distinct items each among 60 (so the model answers).
  void Feed() {
    engine::SplitMix64 rng(7);
    std::string batch = "[";
    for (int u = 0; u < 30; ++u) {
      const int n = 4 + static_cast<int>(rng.Uniform(9));
      for (int e = 0; e < n; ++e) {
        if (batch.size() > 1) batch += ",";
        batch += EventJson(fmt::format("u{}", u), fmt::format("i{}", rng.Uniform(60)), "click");
      }
    }
    Ingest(batch + "]");
  }

  // What the engine says for `target`'s user alone, as the API's items.
  std::vector<std::string> Expected(const std::string& user, size_t n) {
    std::vector<std::string> out;
    engine::RecommendRequest req;
    req.n = n;
    store_->Read([&](const storage::Replica& r) {
      for (const auto& s : r.rec->RecommendForUser(user, req).items) out.push_back(s.item);
    });
    return out;
  }
};

TEST_P(BatchingTest, ConcurrentClientsGetWhatTheEngineAnswersEachAlone) {
  api_options_.batching.threads = GetParam();
  api_options_.batching.max_batch = 8;
  api_options_.batching.min_items = 0;  // batch whatever the catalog's size
  Start();
  Feed();
  constexpr int kClients = 8, kRequests = 40;
  std::vector<std::vector<std::pair<std::string, std::vector<std::string>>>> got(kClients);
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      Client client("127.0.0.1", server_->port(), 10.0);
      for (int k = 0; k < kRequests; ++k) {
        const std::string user = fmt::format("u{}", (t * 7 + k) % 31);  // u30 is unknown
        const size_t n = 1 + (t + k) % 10;
        auto r = client.Send("GET", fmt::format("/v1/users/{}/recommendations?n={}", user, n), {},
                             {}, {});
        if (!r.ok() || r->status != 200) {
          failures.fetch_add(1);
          continue;
        }
        got[t].emplace_back(user, Items(*r));
        if (Json(*r).at("user") != user.c_str()) failures.fetch_add(1);
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(failures.load(), 0);
  for (int t = 0; t < kClients; ++t) {
    ASSERT_EQ(got[t].size(), size_t{kRequests});
    for (int k = 0; k < kRequests; ++k) {
      const auto& [user, items] = got[t][k];
      EXPECT_EQ(items, Expected(user, 1 + (t + k) % 10)) << user;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, BatchingTest, ::testing::Values(0, 1, 2),
                         [](const auto& info) { return fmt::format("{}", info.param); });

TEST_F(ApiTest, ADestroyedBatcherAnswersEverythingItHadQueued) {
  Start();
  Ingest(EventJson("u1", "i1"));
  std::atomic<int> answered{0};
  {
    QueryBatcher batcher(store_.get(), {.threads = 1, .max_batch = 4, .min_items = 0});
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t) {
      callers.emplace_back([&] {
        for (int k = 0; k < 250; ++k) {
          engine::RecommendRequest req;
          req.n = 3;
          batcher.Recommend("u1", req, [&](engine::Recommendations r, uint64_t seq) {
            if (seq >= 1 && r.items.size() <= 3) answered.fetch_add(1);
          });
        }
      });
    }
    for (auto& c : callers) c.join();
  }  // destroyed with requests still queued
  EXPECT_EQ(answered.load(), 1000);
}

}  // namespace
}  // namespace streamrec::http::testing
