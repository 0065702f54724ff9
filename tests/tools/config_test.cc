// LoadConfig for the serving sections: [server], [api] (keys, also from
// STREAMREC_API_KEYS), [events] and [drift], good values and bad ones, and
// the shipped config/streamrec.conf.
#include "tools/config/config.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "tests/tools/config_fixture.h"

namespace streamrec::tools {
namespace {

class ConfigTest : public testing::ConfigFileTest {
 protected:
  void TearDown() override {
    ConfigFileTest::TearDown();
    unsetenv(kApiKeysEnv);
  }
  const engine::EventTypeSpec& Spec(const Config& c, std::string_view name) {
    const std::optional<engine::EventTypeId> id = c.types.Find(name);
    EXPECT_TRUE(id.has_value()) << name;
    return c.types.spec(id.value_or(0));
  }
};

TEST_F(ConfigTest, ShippedConfigMatchesBuiltInDefaults) {
  StatusOr<Config> c = LoadConfig(std::string(STREAMREC_SOURCE_DIR) + "/config/streamrec.conf");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const Config d = DefaultConfig();
  EXPECT_EQ(c->server.address, d.server.address);
  EXPECT_EQ(c->server.port, d.server.port);
  EXPECT_EQ(c->server.threads, d.server.threads);
  EXPECT_EQ(c->server.body_limit, d.server.body_limit);
  EXPECT_EQ(c->server.header_limit, d.server.header_limit);
  EXPECT_EQ(c->server.read_timeout_seconds, d.server.read_timeout_seconds);
  EXPECT_EQ(c->server.idle_timeout_seconds, d.server.idle_timeout_seconds);
  EXPECT_EQ(c->server.max_connections, d.server.max_connections);
  EXPECT_EQ(c->data_dir, d.data_dir);
  EXPECT_EQ(c->live.max_pending_events, d.live.max_pending_events);
  EXPECT_EQ(c->live.memory.interval, d.live.memory.interval);
  EXPECT_EQ(c->live.memory.min_growth_bytes, d.live.memory.min_growth_bytes);
  EXPECT_EQ(c->api.max_batch_events, d.api.max_batch_events);
  EXPECT_EQ(c->api.max_json_depth, d.api.max_json_depth);
  EXPECT_EQ(c->api.max_results, d.api.max_results);
  EXPECT_TRUE(c->api.keys.empty());
  EXPECT_EQ(c->api.max_id_length, d.api.max_id_length);
  EXPECT_EQ(c->live.ids.max_users, d.live.ids.max_users);
  EXPECT_EQ(c->live.ids.max_items, d.live.ids.max_items);
  EXPECT_EQ(c->live.ids.max_new_ids_per_request, d.live.ids.max_new_ids_per_request);
  EXPECT_EQ(c->live.ids.max_new_ids_per_second, d.live.ids.max_new_ids_per_second);
  EXPECT_TRUE(d.live.ids.any());  // `serve` is capped out of the box
  EXPECT_EQ(c->live.drift.enabled, d.live.drift.enabled);
  EXPECT_EQ(c->live.drift.reference_events, d.live.drift.reference_events);
  EXPECT_EQ(c->live.drift.drift.window, d.live.drift.drift.window);
  EXPECT_EQ(c->live.drift.drift.top_n, d.live.drift.drift.top_n);
  EXPECT_EQ(c->live.drift.drift.smoothing, d.live.drift.drift.smoothing);
  EXPECT_EQ(c->live.drift.drift.rating_step, d.live.drift.drift.rating_step);
  // The [events] lines spell out the built-ins exactly.
  const engine::EventTypes builtin = engine::EventTypes::Defaults();
  ASSERT_EQ(c->types.size(), builtin.size());
  for (size_t i = 0; i < builtin.size(); ++i) {
    const auto& want = builtin.spec(static_cast<engine::EventTypeId>(i));
    const auto& got = c->types.spec(static_cast<engine::EventTypeId>(i));
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.weight, want.weight) << want.name;
    EXPECT_EQ(got.explicit_rating, want.explicit_rating) << want.name;
    EXPECT_EQ(got.implied_rating, want.implied_rating) << want.name;
    if (want.explicit_rating) {
      EXPECT_EQ(got.min_value, want.min_value);
      EXPECT_EQ(got.max_value, want.max_value);
    }
  }
}

// Boost.Program_options' messages, reworded in tools/config/config.cc from the
// error's parts: the same words as Boost's what().
TEST_F(ConfigTest, SyntaxAndValueErrorsKeepBoostsWording) {
  ExpectError("[model]\nrank = 1e3\n", {"the argument ('1e3') for option 'model.rank' is invalid"});
  ExpectError("[drift]\nenabled = maybe\n",
              {"the argument ('maybe') for option 'drift.enabled' is invalid. Valid choices are "
               "'on|off', 'yes|no', '1|0' and 'true|false'"});
  ExpectError("[model]\nrank = 2\nrank = 3\n",
              {"option 'model.rank' cannot be specified more than once"});
  ExpectError("[model]\nno equals here\n",
              {"the options configuration file contains an invalid line 'no equals here'"});
  ExpectError("[model\nrank = 2\n", {"contains an invalid line '[model'"});
}

// Boost's what() replaces a placeholder ("%value%") with the offending
// text until none is left, so a value or line holding one hung LoadConfig
// (found by the config fuzz target). Each case runs in a child under
// alarm(): a regression fails the test instead of hanging the run.
TEST_F(ConfigTest, PlaceholdersInTheFileAreQuotedNotExpanded) {
  const std::pair<std::string, std::string> cases[] = {
      {"[drift]\nenabled = %value%\n",
       "the argument ('%value%') for option 'drift.enabled' is invalid. Valid choices"},
      {"[model]\nrank = x%value%%canonical_option%\n",
       "the argument ('x%value%%canonical_option%') for option 'model.rank' is invalid"},
      {"[model]\n%invalid_line%\n", "contains an invalid line '%invalid_line%'"},
      {"[model]\nrank = 2\nrank = %value%\n",
       "option 'model.rank' cannot be specified more than once"},
  };
  for (const auto& [text, want] : cases) {
    EXPECT_EXIT(
        {
          alarm(10);
          StatusOr<Config> c = Load(text);
          const bool ok = !c.ok() && c.status().message().find(want) != std::string::npos;
          if (!ok) std::fprintf(stderr, "got: %s\n", c.status().ToString().c_str());
          std::_Exit(ok ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "")
        << text;
  }
}

TEST_F(ConfigTest, ServerAndApiFields) {
  StatusOr<Config> c = Load(
      "[server]\naddress = 0.0.0.0\nport = 0\nthreads = 6\nbody_limit = 1000\n"
      "header_limit = 2000\nread_timeout_seconds = 1.5\nwrite_timeout_seconds = 2\n"
      "idle_timeout_seconds = 3\nmax_connections = 7\ndata_dir = /tmp/x\n"
      "max_pending_events = 9\nrelease_memory_seconds = 0.25\nrelease_memory_growth_mb = 3\n"
      "[api]\nmax_batch_events = 11\nmax_json_depth = 5\n"
      "max_results = 13\n[storage]\ndurability = process\nsnapshot_every_events = 17\n"
      "snapshot_spacing_factor = 2.5\nsnapshot_encode_spacing_factor = 12\n"
      "[training]\nalgorithm = sgd\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server.address, "0.0.0.0");
  EXPECT_EQ(c->server.port, 0);
  EXPECT_EQ(c->server.threads, 6);
  EXPECT_EQ(c->server.body_limit, 1000u);
  EXPECT_EQ(c->server.header_limit, 2000u);
  EXPECT_EQ(c->server.read_timeout_seconds, 1.5);
  EXPECT_EQ(c->server.write_timeout_seconds, 2.0);
  EXPECT_EQ(c->server.idle_timeout_seconds, 3.0);
  EXPECT_EQ(c->server.max_connections, 7u);
  EXPECT_EQ(c->data_dir, "/tmp/x");
  EXPECT_EQ(c->live.max_pending_events, 9u);
  EXPECT_EQ(c->live.memory.interval, std::chrono::milliseconds(250));
  EXPECT_EQ(c->live.memory.min_growth_bytes, uint64_t{3} << 20);
  EXPECT_EQ(c->api.max_batch_events, 11u);
  EXPECT_EQ(c->api.max_json_depth, 5);
  EXPECT_EQ(c->api.max_results, 13u);
  // The store and the retrainer get [storage] and [training].
  EXPECT_EQ(c->live.store.log.durability, storage::Durability::kProcess);
  EXPECT_EQ(c->live.store.snapshot_every_events, 17u);
  EXPECT_EQ(c->live.store.snapshot_spacing_factor, 2.5);
  EXPECT_EQ(c->live.store.snapshot_encode_spacing_factor, 12.0);
  EXPECT_EQ(c->live.training.algorithm, engine::Algorithm::kSgd);
}

TEST_F(ConfigTest, BadServerAndApiValuesNameTheKey) {
  ExpectError("[server]\nport = 70000\n", {"server.port", "[0, 65535]"});
  ExpectError("[storage]\nsnapshot_spacing_factor = -1\n", {"storage.snapshot_spacing_factor"});
  ExpectError("[storage]\nsnapshot_spacing_factor = nan\n", {"storage.snapshot_spacing_factor"});
  ExpectError("[storage]\nsnapshot_encode_spacing_factor = -3\n",
              {"storage.snapshot_encode_spacing_factor"});
  ExpectError("[server]\nport = -1\n", {"server.port"});
  ExpectError("[server]\nport = http\n", {"server.port"});
  ExpectError("[server]\nthreads = 0\n", {"server.threads"});
  ExpectError("[server]\nbody_limit = 0\n", {"server.body_limit"});
  ExpectError("[server]\nheader_limit = -5\n", {"server.header_limit"});
  ExpectError("[server]\nmax_connections = 0\n", {"server.max_connections"});
  ExpectError("[server]\nmax_pending_events = 0\n", {"server.max_pending_events"});
  ExpectError("[server]\nrelease_memory_seconds = -1\n", {"server.release_memory_seconds"});
  ExpectError("[server]\nrelease_memory_seconds = nan\n", {"server.release_memory_seconds"});
  // Below a millisecond it would round to 0 (off) silently.
  ExpectError("[server]\nrelease_memory_seconds = 0.0004\n",
              {"server.release_memory_seconds must be 0 (never) or in [0.001, 86400]"});
  ExpectError("[server]\nrelease_memory_growth_mb = 0\n", {"server.release_memory_growth_mb"});
  ExpectError("[server]\nread_timeout_seconds = 0\n", {"server.read_timeout_seconds"});
  ExpectError("[server]\nidle_timeout_seconds = -1\n", {"server.idle_timeout_seconds"});
  ExpectError("[server]\naddress =\n", {"server.address"});
  ExpectError("[server]\ndata_dir =\n", {"server.data_dir"});
  ExpectError("[server]\nprot = 80\n", {"server.prot"});
  ExpectError("[api]\nmax_batch_events = 0\n", {"api.max_batch_events"});
  ExpectError("[api]\nmax_json_depth = 1\n", {"api.max_json_depth"});
  ExpectError("[api]\nmax_results = 0\n", {"api.max_results"});
  ExpectError("[api]\nkey = a:read:0123456789abcdef\n", {"api.key"});
  // The older sections keep their checks.
  ExpectError("[model]\nrank = 0\n", {"model.rank must be in [1, 1024]"});
  ExpectError("[modle]\nrank = 8\n", {"modle.rank"});
}

TEST_F(ConfigTest, LimitsFields) {
  StatusOr<Config> c = Load(
      "[limits]\nmax_id_length = 64\nmax_users = 100\nmax_items = 0\n"
      "max_new_ids_per_request = 50\nmax_new_ids_per_second = 500\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->api.max_id_length, 64u);
  EXPECT_EQ(c->live.ids.max_users, 100u);
  EXPECT_EQ(c->live.ids.max_items, 0u);
  EXPECT_EQ(c->live.ids.max_new_ids_per_request, 50u);
  EXPECT_EQ(c->live.ids.max_new_ids_per_second, 500u);
  // Per request unset (0) under a rate: the rate's burst.
  c = Load("[limits]\nmax_new_ids_per_request = 0\nmax_new_ids_per_second = 300\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->live.ids.max_new_ids_per_request, 300u);
  // Every cap off.
  c = Load(
      "[limits]\nmax_users = 0\nmax_items = 0\nmax_new_ids_per_request = 0\n"
      "max_new_ids_per_second = 0\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_FALSE(c->live.ids.any());
}

TEST_F(ConfigTest, BadLimitsNameTheKey) {
  ExpectError("[limits]\nmax_id_length = 0\n", {"limits.max_id_length", "[1, 256]"});
  ExpectError("[limits]\nmax_id_length = 257\n", {"limits.max_id_length"});
  ExpectError("[limits]\nmax_users = -1\n", {"limits.max_users"});
  ExpectError("[limits]\nmax_items = 4294967296\n", {"limits.max_items"});
  ExpectError("[limits]\nmax_new_ids_per_request = 10\nmax_new_ids_per_second = 5\n",
              {"max_new_ids_per_request (10) must not exceed max_new_ids_per_second (5)"});
  ExpectError("[limits]\nmax_userz = 5\n", {"limits.max_userz"});
}

TEST_F(ConfigTest, DriftFields) {
  StatusOr<Config> c = Load(
      "[drift]\nenabled = false\nreference_events = 5000\nwindow = 700\ntop_n = 9\n"
      "smoothing = 0.25\nrating_step = 0\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  const storage::LiveDriftOptions& d = c->live.drift;
  EXPECT_FALSE(d.enabled);
  EXPECT_EQ(d.reference_events, 5000u);
  EXPECT_EQ(d.drift.window, 700u);
  EXPECT_EQ(d.drift.top_n, 9u);
  EXPECT_EQ(d.drift.smoothing, 0.25);
  EXPECT_EQ(d.drift.rating_step, 0.0);
  // Unset keys keep the defaults, and the store gets them.
  c = Load("[drift]\nwindow = 2000\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->live.drift.enabled);
  EXPECT_EQ(c->live.drift.drift.window, 2000u);
  EXPECT_EQ(c->live.drift.reference_events, storage::LiveDriftOptions().reference_events);
}

TEST_F(ConfigTest, BadDriftValuesNameTheKey) {
  ExpectError("[drift]\nreference_events = 0\n", {"drift.reference_events", "got 0"});
  ExpectError("[drift]\nreference_events = -5\n", {"drift.reference_events"});
  ExpectError("[drift]\nwindow = 0\n", {"drift.window"});
  ExpectError("[drift]\nwindow = 100000000000\n", {"drift.window"});
  ExpectError("[drift]\ntop_n = 0\n", {"drift.top_n"});
  ExpectError("[drift]\nsmoothing = 0\n", {"drift.smoothing", "(0, "});
  ExpectError("[drift]\nsmoothing = nan\n", {"drift.smoothing"});
  ExpectError("[drift]\nrating_step = -0.5\n", {"drift.rating_step"});
  ExpectError("[drift]\nenabled = maybe\n", {"drift.enabled"});
  ExpectError("[drift]\nwindows = 10\n", {"drift.windows"});
}

TEST_F(ConfigTest, EventTypesChangeWeightsAndAddTypes) {
  StatusOr<Config> c = Load(
      "[events]\ntype.view = weight=0.2\ntype.like = implicit weight=0.5 implied=4.5\n"
      "type.stars10 = explicit min=1 max=10\ntype.impression = weight=0.01\n"
      "type.purchase = implied=none\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->types.size(), 8u);  // 5 built-ins + 3 new
  EXPECT_FLOAT_EQ(Spec(*c, "view").weight, 0.2f);
  EXPECT_EQ(Spec(*c, "view").implied_rating, 3.5f);  // kept from the built-in
  EXPECT_FALSE(Spec(*c, "purchase").implied_rating.has_value());
  EXPECT_FLOAT_EQ(Spec(*c, "like").weight, 0.5f);
  EXPECT_EQ(Spec(*c, "like").implied_rating, 4.5f);
  EXPECT_FALSE(Spec(*c, "like").explicit_rating);
  EXPECT_TRUE(Spec(*c, "stars10").explicit_rating);
  EXPECT_EQ(Spec(*c, "stars10").min_value, 1.0f);
  EXPECT_EQ(Spec(*c, "stars10").max_value, 10.0f);
  EXPECT_EQ(Spec(*c, "impression").weight, 0.01f);
  EXPECT_FALSE(Spec(*c, "impression").implied_rating.has_value());
  EXPECT_TRUE(Spec(*c, "rating").explicit_rating);
}

TEST_F(ConfigTest, EventTypesWithoutDefaults) {
  StatusOr<Config> c = Load("[events]\ndefaults = false\ntype.play = weight=2 implied=4\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->types.size(), 1u);
  EXPECT_EQ(c->types.Names(), "play");
  EXPECT_FALSE(c->types.Find("view").has_value());
  ExpectError("[events]\ndefaults = false\n", {"no event types defined"});
}

TEST_F(ConfigTest, BadEventTypesNameTheKey) {
  ExpectError("[events]\ntype.view = wieght=2\n",
              {"events.type.view", "unknown setting 'wieght=2'"});
  ExpectError("[events]\ntype.view = weight=0\n", {"weight must be in (0, 1000]"});
  ExpectError("[events]\ntype.view = weight=abc\n", {"events.type.view", "'abc'"});
  ExpectError("[events]\ntype.view = weight=nan\n", {"events.type.view"});
  ExpectError("[events]\ntype.rating = implied=4\n", {"events.type.rating", "implied="});
  ExpectError("[events]\ntype.view = min=1\n", {"events.type.view", "min=/max="});
  ExpectError("[events]\ntype.x = explicit min=5 max=1\n", {"min_value must be below max_value"});
  ExpectError("[events]\ntype.b@d = weight=1\n", {"events.type.b@d"});
  ExpectError("[events]\ntype.a = weight=1\ntype.a = weight=2\n", {"events.type.a", "twice"});
  ExpectError("[events]\ntype = view\n", {"events.type"});
  ExpectError("[events]\nview = weight=1\n", {"events.view"});
}

TEST_F(ConfigTest, ApiKeysFromFile) {
  StatusOr<Config> c = Load(
      "[api]\nkeys = app:read+write:0123456789abcdef, ops:admin:fedcba9876543210xx\n"
      "keys = ro:read:aaaaaaaaaaaaaaaa:with:colons\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->api.keys.size(), 3u);
  EXPECT_EQ(c->api.keys[0].name, "app");
  EXPECT_EQ(c->api.keys[0].secret, "0123456789abcdef");
  EXPECT_EQ(c->api.keys[0].scopes, http::kScopeRead | http::kScopeWrite);
  EXPECT_EQ(c->api.keys[1].scopes, static_cast<uint32_t>(http::kScopeAdmin));
  EXPECT_EQ(c->api.keys[2].secret, "aaaaaaaaaaaaaaaa:with:colons");
  EXPECT_EQ(ScopeNames(c->api.keys[0].scopes), "read+write");

  StatusOr<Config> none = Load("[api]\nkeys =\n");
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_TRUE(none->api.keys.empty());
}

TEST_F(ConfigTest, BadApiKeysNeverEchoTheSecret) {
  const std::string secret = "s3cr3t-s3cr3t-s3cr3t";
  ExpectError("[api]\nkeys = app:reed:" + secret + "\n",
              {"api.keys", "'app'", "unknown scope 'reed'"});
  ExpectError("[api]\nkeys = app::" + secret + "\n", {"'app'", "no scopes"});
  ExpectError("[api]\nkeys = app:read:short\n", {"'app'", "shorter than 16"});
  ExpectError("[api]\nkeys = " + secret + "\n", {"key 1", "NAME:SCOPES:SECRET"});
  ExpectError("[api]\nkeys = a:read:" + secret + " a:write:" + secret + "\n", {"'a'", "twice"});
  for (const char* text :
       {"[api]\nkeys = app:reed:s3cr3t-s3cr3t-s3cr3t\n", "[api]\nkeys = s3cr3t-s3cr3t-s3cr3t\n"}) {
    StatusOr<Config> c = Load(text);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(std::string(c.status().message()).find(secret), std::string::npos)
        << c.status().message();
  }
}

TEST_F(ConfigTest, ApiKeysFromEnvironmentExtendAndReplace) {
  StatusOr<Config> c = Load("[api]\nkeys = app:read:0123456789abcdef ops:admin:fedcba9876543210\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  setenv(kApiKeysEnv, "app:read+write:ffffffffffffffff, ci:write:eeeeeeeeeeeeeeee", 1);
  ASSERT_TRUE(ApplyApiKeysFromEnv(&*c).ok());
  ASSERT_EQ(c->api.keys.size(), 3u);
  EXPECT_EQ(c->api.keys[0].name, "app");  // replaced in place
  EXPECT_EQ(c->api.keys[0].secret, "ffffffffffffffff");
  EXPECT_EQ(c->api.keys[0].scopes, http::kScopeRead | http::kScopeWrite);
  EXPECT_EQ(c->api.keys[1].name, "ops");
  EXPECT_EQ(c->api.keys[2].name, "ci");

  setenv(kApiKeysEnv, "ci:wrte:eeeeeeeeeeeeeeee", 1);
  const Status bad = ApplyApiKeysFromEnv(&*c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(std::string(bad.message()).find(kApiKeysEnv), std::string::npos) << bad.message();
  EXPECT_EQ(std::string(bad.message()).find("eeeeeeee"), std::string::npos) << bad.message();

  setenv(kApiKeysEnv, "", 1);  // empty: nothing to add
  Config d = DefaultConfig();
  ASSERT_TRUE(ApplyApiKeysFromEnv(&d).ok());
  EXPECT_TRUE(d.api.keys.empty());
}

}  // namespace
TEST_F(ConfigTest, ClusterSectionAndMinSeqWait) {
  StatusOr<Config> c = Load("");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->cluster.enabled());  // the single process by default
  EXPECT_EQ(c->api.min_seq_wait_ms, 2000);
  c = Load(
      "[cluster]\nnats = nats://10.0.0.1:4222, nats://10.0.0.2:4222 ,\nstream = shop-1\n"
      "replicas = 5\npublish_timeout_seconds = 3.5\napply_timeout_seconds = 20\n"
      "[api]\nmin_seq_wait_ms = 250\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->cluster.enabled());
  EXPECT_EQ(c->cluster.nats,
            (std::vector<std::string>{"nats://10.0.0.1:4222", "nats://10.0.0.2:4222"}));
  EXPECT_EQ(c->cluster.stream, "shop-1");
  EXPECT_EQ(c->cluster.replicas, 5);
  EXPECT_DOUBLE_EQ(c->cluster.publish_timeout_seconds, 3.5);
  EXPECT_DOUBLE_EQ(c->cluster.apply_timeout_seconds, 20);
  EXPECT_EQ(c->api.min_seq_wait_ms, 250);
  ExpectError("[cluster]\nnats = http://x:4222\n", {"cluster.nats", "http://x:4222"});
  ExpectError("[cluster]\nreplicas = 2\n", {"cluster.replicas", "1, 3 or 5"});
  ExpectError("[cluster]\nstream = a.b\n", {"cluster.stream"});
  ExpectError("[cluster]\npublish_timeout_seconds = 0\n", {"cluster.publish_timeout_seconds"});
  ExpectError("[cluster]\napply_timeout_seconds = -1\n", {"cluster.apply_timeout_seconds"});
  ExpectError("[api]\nmin_seq_wait_ms = -1\n", {"api.min_seq_wait_ms"});
  ExpectError("[cluster]\nnatz = nats://x:1\n", {"cluster.natz"});
}

}  // namespace streamrec::tools
