// `streamrec serve` end to end: the real binary on an ephemeral port, talked
// to over HTTP (http::Client): start-up line, health, ingest and
// recommendations, SIGTERM -> snapshot -> exit 0, recovery on restart, auth
// from the environment, configured event types, and the refusals (no keys
// on a non-loopback address, bad configuration, unopenable database).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <boost/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "http/client.h"
#include "tests/tools/serve_harness.h"

namespace streamrec::tools {
namespace {

using testing::ServeTest;
using testing::Server;
using testing::Contains;
using testing::ExpectUsageError;
using testing::ReadFile;
using testing::RunResult;
using testing::WriteFile;
namespace fs = std::filesystem;
namespace json = boost::json;

// 30 users with ratings over 40 items, and alice with five items.
std::string TrainingBatch() {
  json::array events;
  for (int u = 0; u < 30; ++u) {
    for (int k = 0; k < 10; ++k) {
      const int item = (u * 7 + k * 3) % 40;
      events.push_back({{"event_id", fmt::format("e{}-{}", u, k)},
                        {"user", fmt::format("u{}", u)},
                        {"item", fmt::format("i{}", item)},
                        {"type", "rating"},
                        {"value", 1 + (u + item) % 5},
                        {"ts", 1700000000000 + u * 100 + k}});
    }
  }
  for (int k = 0; k < 5; ++k) {
    events.push_back({{"user", "alice"}, {"item", fmt::format("i{}", k)}, {"type", "purchase"}});
  }
  return json::serialize(events);
}

TEST_F(ServeTest, ServesIngestsAndRecoversAfterSigterm) {
  const std::string db = Path("db");
  Server s;
  ASSERT_NO_FATAL_FAILURE(Start(&s, {"--port", "0", "--data-dir", db}));
  const std::string out = ReadFile(s.out_path);
  EXPECT_TRUE(Contains(out, "auth off")) << out;
  EXPECT_TRUE(Contains(out, "0 users, 0 items")) << out;

  uint64_t last_seq = 0;
  std::string recs_before;
  {
    http::Client client("127.0.0.1", s.port);
    auto health = client.Get("/healthz");
    ASSERT_TRUE(health.ok()) << health.status().message();
    EXPECT_EQ(health->status, 200u);
    auto ack = client.Post("/v1/events", TrainingBatch());
    ASSERT_TRUE(ack.ok()) << ack.status().message();
    ASSERT_EQ(ack->status, 200u) << ack->body;
    const json::object a = json::parse(ack->body).as_object();
    EXPECT_EQ(a.at("accepted").as_int64(), 305);
    last_seq = a.at("last_seq").to_number<uint64_t>();
    EXPECT_EQ(last_seq, 305u);

    auto recs = client.Get("/v1/users/alice/recommendations?n=5");
    ASSERT_TRUE(recs.ok()) << recs.status().message();
    ASSERT_EQ(recs->status, 200u) << recs->body;
    const json::object r = json::parse(recs->body).as_object();
    EXPECT_GE(r.at("seq").to_number<uint64_t>(), last_seq);  // read-your-writes
    const json::array& items = r.at("items").as_array();
    EXPECT_EQ(items.size(), 5u);
    for (const json::value& it : items) {
      const std::string item(it.at("item").as_string());
      for (int k = 0; k < 5; ++k) EXPECT_NE(item, fmt::format("i{}", k)) << "seen item returned";
    }
    recs_before = recs->body;
    auto bad = client.Post("/v1/events", R"([{"user":"a","item":"b","type":"clik"}])");
    ASSERT_TRUE(bad.ok());
    EXPECT_EQ(bad->status, 400u) << bad->body;
  }
  EXPECT_EQ(Stop(&s), 0) << ReadFile(s.err_path);
  const std::string stopped = ReadFile(s.out_path);
  EXPECT_TRUE(Contains(stopped, "SIGTERM")) << stopped;
  EXPECT_TRUE(Contains(stopped, fmt::format("snapshot at seq {}, database closed", last_seq)))
      << stopped;

  // The same directory again: the snapshot is loaded, nothing replayed, and
  // the model answers exactly as before.
  Server again;
  ASSERT_NO_FATAL_FAILURE(Start(&again, {"--port", "0", "--data-dir", db}));
  const std::string out2 = ReadFile(again.out_path);
  EXPECT_TRUE(Contains(out2, fmt::format("snapshot at seq {} + 0 events replayed", last_seq)))
      << out2;
  EXPECT_TRUE(Contains(out2, "31 users, 40 items")) << out2;
  {
    http::Client client("127.0.0.1", again.port);
    auto recs = client.Get("/v1/users/alice/recommendations?n=5");
    ASSERT_TRUE(recs.ok()) << recs.status().message();
    EXPECT_EQ(recs->body, recs_before);
  }
  EXPECT_EQ(Stop(&again, SIGINT), 0) << ReadFile(again.err_path);
  EXPECT_TRUE(Contains(ReadFile(again.out_path), "SIGINT"));
}

// SIGTERM while clients are ingesting: every acknowledged event is in the
// database after a restart, and the model holds all of it.
TEST_F(ServeTest, SigtermUnderLoadKeepsEveryAcknowledgedEvent) {
  const std::string db = Path("db");
  Server s;
  ASSERT_NO_FATAL_FAILURE(Start(&s, {"--port", "0", "--data-dir", db}));
  std::atomic<uint64_t> max_acked{0}, acks{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) {
    clients.emplace_back([&, t] {
      http::Client client("127.0.0.1", s.port, 5.0);
      for (int n = 0;; ++n) {
        const std::string body =
            fmt::format(R"([{{"event_id":"t{}-{}","user":"u{}","item":"i{}","type":"view"}}])", t,
                        n, n % 50, n % 70);
        auto r = client.Post("/v1/events", body);
        if (!r.ok() || r->status != 200) return;  // the server is going away
        const uint64_t seq = json::parse(r->body).at("last_seq").to_number<uint64_t>();
        uint64_t prev = max_acked.load();
        while (seq > prev && !max_acked.compare_exchange_weak(prev, seq)) {
        }
        ++acks;
      }
    });
  }
  while (acks.load() < 200) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(Stop(&s), 0) << ReadFile(s.err_path);
  for (auto& c : clients) c.join();
  ASSERT_GT(max_acked.load(), 0u);

  Server again;
  ASSERT_NO_FATAL_FAILURE(Start(&again, {"--port", "0", "--data-dir", db}));
  EXPECT_TRUE(Contains(ReadFile(again.out_path), "+ 0 events replayed"))
      << ReadFile(again.out_path);
  http::Client client("127.0.0.1", again.port);
  auto st = client.Get("/v1/admin/status");
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->status, 200u) << st->body;
  const json::object o = json::parse(st->body).as_object();
  EXPECT_GE(o.at("durable_seq").to_number<uint64_t>(), max_acked.load());
  EXPECT_EQ(o.at("applied_seq"), o.at("durable_seq"));
  client.Close();
  EXPECT_EQ(Stop(&again), 0);
}

TEST_F(ServeTest, HttpBenchmarksRunAgainstTheirOwnServer) {
  const RunResult fresh =
      Run({"bench", "freshness", "--events", "30", "--preload", "3000", "--users", "300", "--items",
           "200", "--rank", "8", "--dir", Path("b")});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_TRUE(Contains(fresh.out, "ack -> visible")) << fresh.out;
  EXPECT_TRUE(Contains(fresh.out, "0 never visible")) << fresh.out;
  const RunResult ingest =
      Run({"bench", "ingest", "--batch", "1", "20", "--seconds", "0.2", "--connections", "2",
           "--preload", "500", "--rank", "8", "--durability", "process", "--dir", Path("b")});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_TRUE(Contains(ingest.out, "durability process")) << ingest.out;
  EXPECT_TRUE(std::regex_search(ingest.out, std::regex(R"(\n +20 +[0-9]+ )"))) << ingest.out;
  // Its own server runs in this process: CPU per event by thread follows
  // each size (the model and log threads apply and store every event).
  EXPECT_TRUE(std::regex_search(
      ingest.out, std::regex(R"(\n +20 +[0-9]+ .*\n +CPU per event \(us\) by thread: .*sr-model)")))
      << ingest.out;
  const RunResult features =
      Run({"bench", "features", "--seconds", "0.2", "--connections", "2", "--preload", "3000",
           "--users", "300", "--items", "200", "--rank", "8", "--dir", Path("b")});
  ASSERT_EQ(features.exit_code, 0) << features.err;
  for (const char* row : {"plain", "explain=true", "rows (4 x 10)", "session (5 items)",
                          "diversity=0.3", "max_per_category=2"}) {
    // Every feature answered, none with an error.
    EXPECT_TRUE(std::regex_search(
        features.out, std::regex(std::string("\n  ") + std::regex_replace(row, std::regex(R"([()=+.])"), R"(\$&)") +
                                 R"( +[1-9][0-9]* .* 0\n)")))
        << row << "\n" << features.out;
  }
  EXPECT_TRUE(fs::is_empty(Path("b")));  // the temporary database is removed
  ExpectUsageError(Run({"bench", "ingest", "--durability", "fast"}), {"--durability"});
  ExpectUsageError(Run({"bench", "freshness", "--url", "nowhere"}), {"--url"});
}

// Against a running server the HTTP benchmarks spread their requests over
// the users and items the server knows (its status), not over 5,000 users
// of their own: a large store is not hammered on a few users, and a small
// one does not grow ids it never had.
TEST_F(ServeTest, HttpBenchmarksAgainstAServerUseItsUsersAndItems) {
  Server s;
  ASSERT_NO_FATAL_FAILURE(Start(&s, {"--port", "0", "--data-dir", Path("db")}));
  http::Client client("127.0.0.1", s.port);
  json::array events;
  for (int u = 0; u < 6; ++u) {
    for (int i = 0; i < 4; ++i) {
      events.push_back({{"user", fmt::format("user{}", u)},
                        {"item", fmt::format("item{}", (u + i) % 5)},
                        {"type", "view"}});
    }
  }
  auto ack = client.Post("/v1/events", json::serialize(events));
  ASSERT_TRUE(ack.ok());
  ASSERT_EQ(ack->status, 200u) << ack->body;
  const std::string url = fmt::format("127.0.0.1:{}", s.port);
  const RunResult ingest = Run(
      {"bench", "ingest", "--url", url, "--batch", "5", "--seconds", "0.2", "--connections", "1"});
  ASSERT_EQ(ingest.exit_code, 0) << ingest.err;
  EXPECT_TRUE(Contains(ingest.out, "users and items as the server knows them (its status): 6 x 5"))
      << ingest.out;
  // The status once every acknowledged event is applied too.
  const auto applied_status = [&]() {
    for (int tries = 0;; ++tries) {
      auto st = client.Get("/v1/admin/status");
      if (!st.ok() || st->status != 200) return json::object();
      json::object o = json::parse(st->body).as_object();
      if (o.at("applied_seq") == o.at("durable_seq") || tries == 500) return o;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  const json::object o = applied_status();
  ASSERT_FALSE(o.empty());
  EXPECT_GT(o.at("events_applied").to_number<uint64_t>(), 24u);  // the bench wrote
  EXPECT_EQ(o.at("users").to_number<uint64_t>(), 6u);            // to the users it had
  EXPECT_EQ(o.at("items").to_number<uint64_t>(), 5u);
  // Given flags win over the server's figures.
  const RunResult given = Run({"bench", "ingest", "--url", url, "--batch", "5", "--seconds", "0.2",
                               "--connections", "1", "--users", "8", "--items", "5"});
  ASSERT_EQ(given.exit_code, 0) << given.err;
  EXPECT_FALSE(Contains(given.out, "its status")) << given.out;
  const json::object after = applied_status();
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after.at("users").to_number<uint64_t>(), 8u);
  client.Close();
  EXPECT_EQ(Stop(&s), 0);
}

TEST_F(ServeTest, RefusesNonLoopbackAddressWithoutKeys) {
  const RunResult r =
      Run({"serve", "--address", "0.0.0.0", "--port", "0", "--data-dir", Path("db")});
  ExpectUsageError(r, {"0.0.0.0", "without API keys", "STREAMREC_API_KEYS", "loopback"});
  EXPECT_FALSE(fs::exists(Path("db")));  // refused before touching the disk
  const std::string conf = Path("open.conf");
  WriteFile(conf, "[server]\naddress = 192.0.2.1\n");
  ExpectUsageError(Run({"serve", "--config", conf, "--data-dir", Path("db")}),
                   {"192.0.2.1", "without API keys"});
}

TEST_F(ServeTest, RefusesARetrainAlgorithmTheLiveModelCannotTake) {
  const std::string conf = Path("mismatch.conf");
  WriteFile(conf, "[training]\nalgorithm = als\n");  // the default objective is implicit
  ExpectUsageError(Run({"serve", "--config", conf, "--port", "0", "--data-dir", Path("db")}),
                   {"'als'", "use ials", "objective = implicit"});
  EXPECT_FALSE(fs::exists(Path("db")));
}

TEST_F(ServeTest, RefusesTwoKeysWithOneSecret) {
  const std::string secret = "same-0123456789abcdef";
  const std::string conf = Path("keys.conf");
  WriteFile(conf, fmt::format("[api]\nkeys = reader:read:{0} writer:read+write:{0}\n", secret));
  RunResult r = Run({"serve", "--config", conf, "--port", "0", "--data-dir", Path("db")});
  ExpectUsageError(r, {"'reader'", "'writer'", "same secret"});
  EXPECT_FALSE(Contains(r.err, secret)) << r.err;  // never printed
  // Across the file and the environment too.
  WriteFile(conf, fmt::format("[api]\nkeys = reader:read:{}\n", secret));
  ASSERT_EQ(setenv("STREAMREC_API_KEYS", fmt::format("ops:admin:{}", secret).c_str(), 1), 0);
  r = Run({"serve", "--config", conf, "--port", "0", "--data-dir", Path("db")});
  unsetenv("STREAMREC_API_KEYS");
  ExpectUsageError(r, {"'reader'", "'ops'", "same secret"});
  EXPECT_FALSE(fs::exists(Path("db")));
}

TEST_F(ServeTest, ApiKeysFromEnvironment) {
  const std::string secret = "rw-0123456789abcdef";
  Server s;
  ASSERT_NO_FATAL_FAILURE(Start(&s,
                                {"--address", "0.0.0.0", "--port", "0", "--data-dir", Path("db")},
                                {fmt::format("STREAMREC_API_KEYS=app:read+write:{}", secret)}));
  {
    http::Client client("127.0.0.1", s.port);
    auto health = client.Get("/healthz");  // open
    ASSERT_TRUE(health.ok());
    EXPECT_EQ(health->status, 200u);
    auto anon = client.Get("/v1/items/popular");
    ASSERT_TRUE(anon.ok());
    EXPECT_EQ(anon->status, 401u) << anon->body;
    auto keyed =
        client.Get("/v1/items/popular", {{"Authorization", fmt::format("Bearer {}", secret)}});
    ASSERT_TRUE(keyed.ok());
    EXPECT_EQ(keyed->status, 200u) << keyed->body;
    auto admin =
        client.Get("/v1/admin/status", {{"Authorization", fmt::format("Bearer {}", secret)}});
    ASSERT_TRUE(admin.ok());
    EXPECT_EQ(admin->status, 403u) << admin->body;  // read+write, not admin
  }
  EXPECT_EQ(Stop(&s), 0);
  const std::string all = ReadFile(s.out_path) + ReadFile(s.err_path);
  EXPECT_TRUE(Contains(all, "auth on: 1 API key(s): app (read+write)")) << all;
  EXPECT_FALSE(Contains(all, secret)) << "secret printed";
}

TEST_F(ServeTest, ConfiguredEventTypes) {
  const std::string conf = Path("types.conf");
  WriteFile(conf, "[events]\ntype.like = implicit weight=0.5 implied=4.5\n");
  Server s;
  ASSERT_NO_FATAL_FAILURE(Start(&s, {"--config", conf, "--port", "0", "--data-dir", Path("db")}));
  EXPECT_TRUE(
      Contains(ReadFile(s.out_path), "event types: view, click, cart, purchase, rating, like"));
  http::Client client("127.0.0.1", s.port);
  auto like = client.Post("/v1/events", R"([{"user":"a","item":"b","type":"like"}])");
  ASSERT_TRUE(like.ok());
  EXPECT_EQ(like->status, 200u) << like->body;
  auto unknown = client.Post("/v1/events", R"([{"user":"a","item":"b","type":"love"}])");
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->status, 400u) << unknown->body;
  EXPECT_TRUE(Contains(unknown->body, "love")) << unknown->body;
  client.Close();
  EXPECT_EQ(Stop(&s), 0);
}

TEST_F(ServeTest, BadConfigurationExits2) {
  const std::string conf = Path("bad.conf");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[server]\nport = 70000\n", "server.port"},
      {"[server]\nthreads = 0\n", "server.threads"},
      {"[events]\ntype.view = weight=-1\n", "weight"},
      {"[api]\nkeys = app:read:short\n", "api.keys"},
      {"[events]\nmax_future_skew_seconds = -2\n", "events.max_future_skew_seconds"},
      {"[events]\nmax_past_age_seconds = -1\n", "events.max_past_age_seconds"},
  };
  for (const auto& [text, needle] : cases) {
    WriteFile(conf, text);
    ExpectUsageError(Run({"serve", "--config", conf, "--data-dir", Path("db")}),
                     {"bad.conf", needle});
  }
  ExpectUsageError(Run({"serve", "--config", Path("none.conf")}), {"cannot open config file"});
  ExpectUsageError(Run({"serve", "--port", "70000", "--data-dir", Path("db")}), {"--port"});
  ExpectUsageError(Run({"serve", "--threads", "0", "--data-dir", Path("db")}), {"--threads"});
  ExpectUsageError(Run({"serve", "--bogus"}), {"bogus"});
  EXPECT_FALSE(fs::exists(Path("db")));
}

TEST_F(ServeTest, UnopenableDatabaseExits1) {
  const std::string file = Path("not-a-dir");
  WriteFile(file, "x");
  const RunResult r = Run({"serve", "--port", "0", "--data-dir", file});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Contains(r.err, "cannot open database")) << r.err;
}

TEST_F(ServeTest, Help) {
  const RunResult r = Run({"serve", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(Contains(r.out, "--data-dir")) << r.out;
  EXPECT_TRUE(Contains(r.out, "STREAMREC_API_KEYS")) << r.out;
}

}  // namespace
}  // namespace streamrec::tools
