// The HTTP API, continued: item metadata, forgetting users, similar and
// popular, restarts, admin routes, /metrics, /healthz, back-pressure and
// concurrent clients (run under ThreadSanitizer too).

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/http/api_fixture.h"

namespace streamrec::http::testing {
namespace {

bool Contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST_F(ApiTest, ItemMetadataHidesAndFilters) {
  Start();
  SeedCatalog();
  ClientResponse r = Send("PUT", "/v1/items/i1", R"({"categories":["books","new"],"hidden":true})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Json(r), json::parse(R"({"item":"i1","categories":["books","new"],"hidden":true})"));
  for (int i : {3, 5}) {
    ASSERT_EQ(Send("PUT", fmt::format("/v1/items/i{}", i), R"({"categories":["books"]})").status,
              200u);
  }
  r = Get("/v1/items/i1");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Json(r).at("hidden"), true);
  EXPECT_EQ(Json(r).at("known"), true);
  EXPECT_EQ(Json(r).at("has_metadata"), true);
  EXPECT_GT(Json(r).at("popularity").as_double(), 0.0);

  // Hidden: never popular, never recommended, never similar.
  EXPECT_EQ(Items(Get("/v1/items/popular?n=3")), (std::vector<std::string>{"i2", "i3", "i4"}));
  EXPECT_FALSE(Contains(Items(Get("/v1/users/o1/recommendations?n=20&include_seen=true")), "i1"));
  EXPECT_FALSE(Contains(Items(Get("/v1/users/newbie/recommendations?n=20")), "i1"));
  EXPECT_FALSE(Contains(Items(Get("/v1/items/i2/similar?n=20")), "i1"));
  // Category filters.
  EXPECT_EQ(Items(Get("/v1/items/popular?category=books")), (std::vector<std::string>{"i3", "i5"}));
  EXPECT_EQ(Items(Get("/v1/users/newbie/recommendations?category=books")),
            (std::vector<std::string>{"i3", "i5"}));
  const std::vector<std::string> similar = Items(Get("/v1/items/i2/similar?category=books"));
  EXPECT_EQ(similar.size(), 2u);
  EXPECT_TRUE(Contains(similar, "i3") && Contains(similar, "i5"));

  // Metadata for an item no event has named yet.
  ASSERT_EQ(Send("PUT", "/v1/items/future", R"({"categories":["books"]})").status, 200u);
  r = Get("/v1/items/future");
  EXPECT_EQ(Json(r).at("known"), false);
  EXPECT_EQ(Json(r).at("categories"), json::parse(R"(["books"])"));

  r = Send("DELETE", "/v1/items/i1");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Items(Get("/v1/items/popular?n=1")), std::vector<std::string>{"i1"});
  r = Get("/v1/items/i1");
  EXPECT_EQ(Json(r).at("has_metadata"), false);
  EXPECT_EQ(Json(r).at("hidden"), false);
  EXPECT_EQ(Send("DELETE", "/v1/items/i1").status, 404u);
  EXPECT_EQ(Send("DELETE", "/v1/items/future").status, 200u);
  EXPECT_EQ(Get("/v1/items/future").status, 404u);
}

TEST_F(ApiTest, ForgettingAUserRemovesTheirEvents) {
  Start();
  SeedCatalog();
  ClientResponse r = Get("/v1/users/o1/recommendations?include_seen=true");
  EXPECT_EQ(Json(r).at("source"), "model");
  r = Send("DELETE", "/v1/users/o1");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Json(r), json::parse(R"({"user":"o1","events_removed":8})"));
  r = Get("/v1/users/o1/recommendations?n=8");
  EXPECT_EQ(Json(r).at("source"), "popular");
  // Nothing is "seen" any more, and i8, which only o1 bought, is no longer
  // popular at all: their purchases left popularity with them.
  EXPECT_EQ(Items(r), (std::vector<std::string>{"i1", "i2", "i3", "i4", "i5", "i6", "i7"}));
  EXPECT_EQ(Send("DELETE", "/v1/users/o1").status, 404u);
}

TEST_F(ApiTest, SimilarAndPopular) {
  Start();
  SeedCatalog();
  ClientResponse r = Get("/v1/items/popular?n=4");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(Items(r), (std::vector<std::string>{"i1", "i2", "i3", "i4"}));
  const json::value body = Json(r);
  const json::array& items = body.at("items").as_array();
  for (size_t k = 1; k < items.size(); ++k) {
    EXPECT_GE(items[k - 1].at("score").as_double(), items[k].at("score").as_double());
  }
  EXPECT_EQ(Json(r).at("seq"), 36);

  r = Get("/v1/items/i2/similar?n=5");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Json(r).at("item"), "i2");
  EXPECT_EQ(Items(r).size(), 5u);
  EXPECT_FALSE(Contains(Items(r), "i2"));
  // o7 has seen i1 and i2: neither is suggested to them.
  r = Get("/v1/items/i3/similar?n=10&user=o7&exclude=i8");
  EXPECT_EQ(Items(r).size(), 4u) << r.body;
  for (const char* no : {"i1", "i2", "i3", "i8"}) EXPECT_FALSE(Contains(Items(r), no)) << no;
}

TEST_F(ApiTest, ARestartServesTheSameAnswers) {
  Start();
  SeedCatalog();
  Ingest(fmt::format("{}\n", EventJson("zoe", "i4", "rating", 4.5)));
  ASSERT_EQ(Send("PUT", "/v1/items/i2", R"({"hidden":true})").status, 200u);
  const std::vector<std::string> targets = {
      "/v1/users/o2/recommendations?n=5", "/v1/users/zoe/recommendations?n=5",
      "/v1/items/i3/similar?n=5", "/v1/items/popular?n=5", "/v1/items/i2"};
  std::vector<std::string> before;
  for (const std::string& t : targets) before.push_back(Get(t).body);
  Stop();
  Start();
  for (size_t k = 0; k < targets.size(); ++k) {
    const ClientResponse r = Get(targets[k]);
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, before[k]) << targets[k];
  }
  EXPECT_EQ(store_->status().recovery.snapshot_seq, 37u);
}

TEST_F(ApiTest, AdminSnapshotRetrainAndStatus) {
  Start();
  SeedCatalog();
  ClientResponse r = Post("/v1/admin/snapshot", "");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Json(r).at("snapshot_seq"), 36);

  r = Post("/v1/admin/retrain", "");
  ASSERT_EQ(r.status, 202u) << r.body;
  EXPECT_EQ(Json(r).at("status"), "started");
  // A second one while the first runs is refused (it may have finished).
  r = Post("/v1/admin/retrain", "");
  EXPECT_TRUE(r.status == 409u || r.status == 202u) << r.body;

  json::value status;
  ASSERT_NO_FATAL_FAILURE(WaitForRetrain(&status));
  EXPECT_EQ(status.at("retrain").at("state"), "succeeded") << status.at("retrain");
  EXPECT_GE(status.at("retrain").at("runs").as_int64(), 1);
  for (const char* field :
       {"applied_seq", "durable_seq", "events_applied", "pending_events", "users", "items",
        "catalog_items", "rank", "model_bytes", "snapshot_seq", "snapshot_age_seconds",
        "snapshots_written", "last_error", "recovery", "retrain", "closed", "memory"}) {
    EXPECT_TRUE(status.as_object().contains(field)) << field;
  }
  // The resident set is read from /proc; the store releases by default.
  EXPECT_GT(status.at("memory").at("resident_bytes").as_int64(), 0) << status;
  EXPECT_EQ(status.at("memory").at("release_enabled"), true);
  EXPECT_EQ(status.at("applied_seq"), 36);
  EXPECT_EQ(status.at("rank"), 8);
  EXPECT_TRUE(status.at("recovery").as_object().contains("replayed"));
  // The histories: the admin snapshot, then the retrain and its snapshot.
  const json::array& snapshots = status.at("snapshot_history").as_array();
  ASSERT_GE(snapshots.size(), 2u) << status;
  EXPECT_EQ(snapshots[0].at("reason"), "admin");
  EXPECT_EQ(snapshots[0].at("seq"), 36);
  EXPECT_EQ(snapshots[1].at("reason"), "retrain");
  const json::array& retrains = status.at("retrain_history").as_array();
  ASSERT_GE(retrains.size(), 1u) << status;
  EXPECT_EQ(retrains.back(), status.at("retrain"));
  EXPECT_EQ(retrains.back().at("trained_through_seq"), 36);
  EXPECT_LE(retrains.back().at("started_ms").as_int64(),
            retrains.back().at("finished_ms").as_int64());

  r = Get("/v1/users/o1/recommendations?n=3&include_seen=true");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(Json(r).at("source"), "model");
  EXPECT_EQ(Items(r).size(), 3u);
}

// A user's newest events, newest first, as stored; none for an unknown or
// forgotten user.
TEST_F(ApiTest, UserEventsAreTheNewestFirst) {
  Start();
  for (int k = 0; k < 5; ++k) {
    Ingest(EventJson("h", fmt::format("i{}", k), k == 2 ? "rating" : "view", k == 2 ? 4.5 : 0,
                     1'700'000'000'000 + k, fmt::format("h{}", k)));
  }
  ClientResponse r = Get("/v1/users/h/events?limit=3");
  ASSERT_EQ(r.status, 200u) << r.body;
  json::value v = Json(r);
  EXPECT_EQ(v.at("user"), "h");
  EXPECT_EQ(v.at("known"), true);
  EXPECT_EQ(v.at("seq"), 5);
  const json::array& events = v.at("events").as_array();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0], json::parse(R"({"seq":5,"event_id":"h4","user":"h","item":"i4",)"
                                   R"("type":"view","value":0,"ts":1700000000004})"));
  EXPECT_EQ(events[2].at("item"), "i2");
  EXPECT_EQ(events[2].at("value").to_number<double>(), 4.5);
  EXPECT_EQ(Json(Get("/v1/users/h/events")).at("events").as_array().size(), 5u);
  v = Json(Get("/v1/users/nobody/events"));
  EXPECT_EQ(v.at("known"), false);
  EXPECT_TRUE(v.at("events").as_array().empty());
  for (const char* bad : {"limit=0", "limit=1001", "limit=x", "n=3"}) {
    r = Get(fmt::format("/v1/users/h/events?{}", bad));
    EXPECT_EQ(r.status, 400u) << bad;
    EXPECT_NE(r.body.find(std::string_view(bad).substr(0, 1)), std::string::npos) << r.body;
  }
  ASSERT_EQ(Send("DELETE", "/v1/users/h").status, 200u);
  v = Json(Get("/v1/users/h/events"));
  EXPECT_EQ(v.at("known"), false);
  EXPECT_TRUE(v.at("events").as_array().empty());
}

TEST_F(ApiTest, MetricsCountEveryRoute) {
  Start();
  SeedCatalog();
  Ingest(EventJson("m", "i1", "view", 0, 1, "dup"));
  Ingest(EventJson("m", "i1", "view", 0, 1, "dup"));
  Get("/v1/items/popular");
  Get("/v1/items/popular?n=0");
  Send("PUT", "/v1/items/i1", "{}");
  Get("/nope");
  ClientResponse r = Get("/metrics");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(r.headers["content-type"].rfind("text/plain; version=0.0.4", 0), 0u);
  for (const char* line : {
           "# TYPE streamrec_http_requests_total counter\n",
           "streamrec_http_requests_total{route=\"/v1/events\",method=\"POST\",status=\"200\"} 3\n",
           "streamrec_http_requests_total{route=\"/v1/items/"
           "popular\",method=\"GET\",status=\"400\"} 1\n",
           "streamrec_http_requests_total{route=\"/v1/items/"
           "{item}\",method=\"PUT\",status=\"200\"} 1\n",
           "streamrec_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n",
           "# TYPE streamrec_http_request_duration_seconds histogram\n",
           "streamrec_http_request_duration_seconds_bucket{route=\"/v1/events\",method=\"POST\","
           "le=\"+Inf\"} 3\n",
           "streamrec_http_request_duration_seconds_count{route=\"/v1/events\",method=\"POST\"} "
           "3\n",
           "streamrec_events_ingested_total 37\n",
           "streamrec_events_duplicate_total 1\n",
           "streamrec_applied_seq 37\n",
           "streamrec_log_seq 37\n",
           "streamrec_model_items 8\n",
           "streamrec_uptime_seconds ",
           "# TYPE streamrec_memory_releases_total counter\n",
           "streamrec_resident_bytes ",
       }) {
    EXPECT_NE(r.body.find(line), std::string::npos) << line << "\nnot in:\n" << r.body;
  }
  // Buckets are cumulative.
  EXPECT_NE(r.body.find("_bucket{route=\"/v1/events\",method=\"POST\",le=\"2.5\"} 3\n"),
            std::string::npos);
  EXPECT_EQ(api_->metrics().requests(RouteId::kPopular, 200), 1u);
}

// Drift in /metrics and in the admin status; both drop it when it is off.
TEST_F(ApiTest, DriftIsInMetricsAndStatusUnlessDisabled) {
  store_options_.drift.reference_events = 20;
  store_options_.drift.drift.window = 10;
  store_options_.drift.report_every_seconds = 0;
  Start();
  SeedCatalog();  // 36 events: the first 20 become the reference, 16 are observed
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (store_->status().drift.report.observed < 16 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ClientResponse r = Get("/metrics");
  ASSERT_EQ(r.status, 200u);
  for (const char* line : {
           "# TYPE streamrec_drift_psi gauge\n",
           "streamrec_drift_psi{dimension=\"item\"} ",
           "streamrec_drift_psi{dimension=\"rating\"} ",
           "# TYPE streamrec_drift_kl gauge\n",
           "streamrec_drift_kl{dimension=\"user\"} ",
           // 10 events against 20: far too few for the PSI to say anything.
           "streamrec_drift_enough_data{dimension=\"item\"} 0\n",
           "# HELP streamrec_drift_other_share ",
           "streamrec_drift_other_share{dimension=\"type\",side=\"reference\"} ",
           "streamrec_drift_other_share{dimension=\"item\",side=\"window\"} ",
           "streamrec_drift_window_events 10\n",
           "streamrec_drift_reference_events 20\n",
           "streamrec_drift_reference_frozen 1\n",
       }) {
    EXPECT_NE(r.body.find(line), std::string::npos) << line << "\nnot in:\n" << r.body;
  }
  json::value status = Json(Get("/v1/admin/status"));
  const json::value& drift = status.at("drift");
  EXPECT_EQ(drift.at("enabled"), true);
  EXPECT_EQ(drift.at("frozen"), true);
  EXPECT_EQ(drift.at("source"), "live");
  EXPECT_EQ(drift.at("reference_events"), 20);
  EXPECT_EQ(drift.at("reference_through_seq"), 20);
  EXPECT_EQ(drift.at("window_events"), 10);
  EXPECT_EQ(drift.at("observed"), 16);
  for (const char* dim : {"item", "user", "type", "rating"}) {
    const json::object& d = drift.at("dimensions").at(dim).as_object();
    for (const char* field : {"psi", "kl", "window_events", "other_reference", "other_window",
                              "top_bucket", "top_reference", "top_window"}) {
      EXPECT_TRUE(d.contains(field)) << dim << "." << field;
    }
  }
  // The window (o5..o8's purchases, of i1..i4 only) lacks the reference's
  // i5..i8: the item mix moved. Every event is a purchase: the type did not.
  const double item_psi = drift.at("dimensions").at("item").at("psi").as_double();
  EXPECT_GT(item_psi, 0.25);
  // ... but over 10 events against 20, which chance alone moves that far.
  EXPECT_EQ(drift.at("dimensions").at("item").at("enough_data"), false);
  EXPECT_GT(drift.at("dimensions").at("item").at("noise_floor").as_double(), 0.05);
  EXPECT_LT(drift.at("dimensions").at("type").at("psi").as_double(), item_psi / 10);

  // A restart rebuilds the reference from the log's newest events.
  Stop();
  Start();
  status = Json(Get("/v1/admin/status"));
  EXPECT_EQ(status.at("drift").at("source"), "log");
  EXPECT_EQ(status.at("drift").at("reference_through_seq"), 36);

  Stop();
  store_options_.drift.enabled = false;
  Start();
  EXPECT_EQ(Get("/metrics").body.find("streamrec_drift_"), std::string::npos);
  EXPECT_EQ(Json(Get("/v1/admin/status")).at("drift"), json::parse(R"({"enabled":false})"));
}

TEST_F(ApiTest, AClosedStoreIsUnhealthyAndRefusesWrites) {
  Start();
  EXPECT_EQ(Json(Get("/healthz")), json::parse(R"({"status":"ok","writable":true})"));
  EXPECT_EQ(Json(Get("/readyz")), json::parse(R"({"status":"ready"})"));
  ASSERT_TRUE(store_->Close().ok());
  ClientResponse r = Get("/healthz");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(ErrorCode(r), "unavailable");
  r = Get("/readyz");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.headers["retry-after"], "1");
  r = Post("/v1/events", EventJson("u", "i"));
  EXPECT_EQ(r.status, 503u) << r.body;
  EXPECT_EQ(Post("/v1/admin/retrain", "").status, 503u);
  EXPECT_EQ(Get("/v1/items/popular").status, 200u);  // reads still work
}

TEST_F(ApiTest, AnOverloadedStoreAnswers429WithRetryAfter) {
  store_options_.max_pending_events = 1;
  store_options_.store.log.durability = storage::Durability::kSync;  // slow writes
  Start();
  std::atomic<int> too_many{0}, ok{0}, other{0};
  std::atomic<bool> retry_after_ok{true};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      Client client("127.0.0.1", server_->port(), 10.0);
      for (int k = 0; k < 30 && too_many.load() == 0; ++k) {
        auto r = client.Post("/v1/events", EventJson(fmt::format("t{}", t), fmt::format("i{}", k)));
        if (!r.ok()) {
          other.fetch_add(1);
        } else if (r->status == 200) {
          ok.fetch_add(1);
        } else if (r->status == 429) {
          too_many.fetch_add(1);
          if (r->headers["retry-after"] != "1" || ErrorCode(*r) != "resource_exhausted") {
            retry_after_ok = false;
          }
        } else {
          other.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_TRUE(retry_after_ok.load());
  if (too_many.load() == 0) GTEST_SKIP() << "the disk was too fast to fill the queue";
}

TEST_F(ApiTest, ConcurrentWritersAndReadersSeeTheirOwnWrites) {
  Start();
  SeedCatalog();
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      Client client("127.0.0.1", server_->port(), 10.0);
      const std::string user = fmt::format("w{}", w);
      for (int k = 0; k < 25; ++k) {
        auto r = client.Post("/v1/events", EventJson(user, fmt::format("i{}", 1 + k % 8), "click",
                                                     0, 1'700'000'001'000 + k));
        if (!r.ok() || r->status != 200) {
          failures.fetch_add(1);
          continue;
        }
        const int64_t seq = Json(*r).at("last_seq").as_int64();
        auto recs = client.Get(fmt::format("/v1/users/{}/recommendations?n=3", user));
        if (!recs.ok() || recs->status != 200 || Json(*recs).at("seq").as_int64() < seq) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (int rd = 0; rd < 2; ++rd) {
    threads.emplace_back([&] {
      Client client("127.0.0.1", server_->port(), 10.0);
      for (int k = 0; !stop.load(); ++k) {
        const std::string target = k % 3 == 0   ? "/v1/items/popular?n=5"
                                   : k % 3 == 1 ? "/v1/items/i2/similar?n=5"
                                                : "/v1/users/o3/recommendations";
        auto r = client.Get(target);
        if (!r.ok() || r->status != 200) failures.fetch_add(1);
      }
    });
  }
  for (int t = 0; t < 3; ++t) threads[t].join();
  stop = true;
  for (size_t t = 3; t < threads.size(); ++t) threads[t].join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->status().applied_seq, 36u + 75u);
}

// min_seq: a read waits for the replica to apply that seq (in a single
// process an acknowledged seq is always visible), 503 with Retry-After after
// the bound; malformed or misplaced, a 400 naming it.
TEST_F(ApiTest, MinSeqReadsWaitForTheirSeqOrAnswer503) {
  api_options_.min_seq_wait_ms = 150;
  Start();
  const json::value ack = Ingest(fmt::format("[{}]", EventJson("ms", "i1", "view")));
  const int64_t seq = ack.at("last_seq").as_int64();
  for (const std::string target : {"/v1/users/ms/recommendations?n=3", "/v1/items/i1/similar",
                                   "/v1/items/popular", "/v1/items/i1"}) {
    ClientResponse r = Get(fmt::format("{}{}min_seq={}", target,
                                       target.find('?') == std::string::npos ? "?" : "&", seq));
    EXPECT_EQ(r.status, 200u) << target << " " << r.body;
  }
  const auto start = std::chrono::steady_clock::now();
  ClientResponse ahead = Get(fmt::format("/v1/users/ms/recommendations?min_seq={}", seq + 5));
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(ahead.status, 503u) << ahead.body;
  EXPECT_EQ(ahead.headers["retry-after"], "1");
  EXPECT_EQ(Json(ahead).at("error").at("code"), "unavailable");
  EXPECT_GE(waited, 0.14);
  // Answered once the seq arrives, before the bound.
  api_options_.min_seq_wait_ms = 5000;
  Stop();
  Start();
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    Client other("127.0.0.1", server_->port(), 10.0);
    auto r = other.Post("/v1/events", fmt::format("[{}]", EventJson("ms", "i2", "view")));
    EXPECT_TRUE(r.ok() && r->status == 200u);
  });
  ClientResponse waited_for = Get(fmt::format("/v1/users/ms/recommendations?min_seq={}", seq + 1));
  later.join();
  EXPECT_EQ(waited_for.status, 200u) << waited_for.body;
  EXPECT_GE(Json(waited_for).at("seq").as_int64(), seq + 1);

  for (const std::string bad : {"/v1/items/popular?min_seq=abc", "/v1/items/popular?min_seq=-1",
                                "/v1/items/popular?min_seq=1&min_seq=2"}) {
    ClientResponse r = Get(bad);
    EXPECT_EQ(r.status, 400u) << bad;
    EXPECT_NE(r.body.find("min_seq"), std::string::npos) << r.body;
  }
  ClientResponse write =
      Post("/v1/events?min_seq=1", fmt::format("[{}]", EventJson("ms", "i3", "view")));
  EXPECT_EQ(write.status, 400u) << write.body;
  EXPECT_NE(write.body.find("only the read routes"), std::string::npos) << write.body;

  // The model checksum, on request; single process: no cluster section.
  ClientResponse st = Get("/v1/admin/status?checksum=true");
  ASSERT_EQ(st.status, 200u) << st.body;
  EXPECT_EQ(Json(st).at("model_checksum").at("value").as_string().size(), 16u);
  EXPECT_TRUE(Json(st).at("cluster").is_null());
  EXPECT_FALSE(Json(Get("/v1/admin/status")).as_object().contains("model_checksum"));
}

}  // namespace
}  // namespace streamrec::http::testing
