// The streamrec configuration file (config/streamrec.conf documents every
// field): INI sections [model], [learner], [popularity], [training],
// [storage], and for `streamrec serve` [server], [api], [events], [drift]
// (tools/config/config_drift.h) and [cluster]. Only `main`-level code turns it into the
// engine's, the store's and the HTTP layer's option structs, here.
//
// Unknown sections or keys are errors (a typo must not silently fall back to
// a default); a missing key keeps the built-in default.
//
// [events] is the one section with keys of the user's choosing: one line
// per event type,
//   type.<name> = [implicit|explicit] [weight=W] [implied=R|implied=none]
//                 [min=A] [max=B]
// A built-in type (view, click, cart, purchase, rating) keeps whatever the
// line does not say; a new type starts implicit, weight 1, no implied
// rating. `defaults = false` drops the built-ins, keeping only the lines.
//
// API keys: `[api] keys = NAME:SCOPES:SECRET, ...` with SCOPES a '+'-joined
// subset of read, write, admin, and the environment variable
// STREAMREC_API_KEYS in the same syntax (a name it repeats replaces the
// file's key). Error messages name keys, never print secrets.
//
// Thread-safety: pure functions (ApplyApiKeysFromEnv reads the environment).
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/event_types.h"
#include "engine/core/status.h"
#include "engine/eval/evaluation.h"
#include "engine/live/recommender.h"
#include "http/api.h"
#include "http/server.h"
#include "storage/live_store.h"
#include "storage/storage_options.h"

namespace streamrec::tools {

// The environment variable with API keys (same syntax as [api] keys).
inline constexpr const char* kApiKeysEnv = "STREAMREC_API_KEYS";
// Shortest secret accepted: a guessable key is no key.
inline constexpr size_t kMinApiSecretLength = 16;

// [cluster]: several replicas on one NATS JetStream stream (README
// "Cluster"). No `nats` servers (the default): the single process.
struct ClusterConfig {
  std::vector<std::string> nats;  // server URLs
  std::string stream = "streamrec";
  int replicas = 3;  // of the stream, when this replica creates it
  double publish_timeout_seconds = 10;
  // How long a stored event batch waits for this replica to apply it.
  double apply_timeout_seconds = 10;
  bool enabled() const { return !nats.empty(); }
};

struct Config {
  engine::RecommenderOptions recommender;  // [model], [learner], [popularity]
  engine::EvalOptions training;            // [training] (+ [model] for its rank/seed)
  std::string algorithm;  // [training] algorithm ("": als, or ials under model.objective implicit)
  storage::StorageOptions store;         // [storage]
  std::string durability_name = "sync";  // [storage] durability, as written

  http::ServerOptions server;               // [server] (transport)
  http::ApiOptions api;                     // [api] (+ STREAMREC_API_KEYS via ApplyApiKeysFromEnv)
  std::string data_dir = "streamrec-data";  // [server] data_dir: the database directory
  engine::EventTypes types = engine::EventTypes::Defaults();  // [events]
  ClusterConfig cluster;                                      // [cluster]
  // What `serve` opens the store with: .store and .training are copies of
  // `store` and `training` above (made by LoadConfig/DefaultConfig), plus
  // [server] max_pending_events and [drift] (.drift).
  // [limits] sets .ids (DefaultLiveOptions until then).
  storage::LiveStoreOptions live = DefaultLiveOptions();

  // The caps on new ids `serve` runs with unless [limits] says otherwise
  // (config/streamrec.conf explains them).
  static storage::LiveStoreOptions DefaultLiveOptions() {
    storage::LiveStoreOptions o;
    o.ids.max_users = 5'000'000;
    o.ids.max_items = 1'000'000;
    o.ids.max_new_ids_per_request = 20'000;
    o.ids.max_new_ids_per_second = 20'000;
    return o;
  }
};

// The built-in defaults, with the derived fields filled in as LoadConfig
// fills them (what `serve` runs on without --config).
Config DefaultConfig();

// Reads `path` over the defaults. InvalidArgument names the file and the
// offending key or value; NotFound if the file cannot be opened.
StatusOr<Config> LoadConfig(const std::string& path);
// LoadConfig on an open stream; `name` (the path) prefixes messages. Any
// bytes are an InvalidArgument or a Config, never an exception (the fuzz
// target tests/fuzz/config.cc holds it to that).
StatusOr<Config> ParseConfig(std::istream& in, const std::string& name);

// Switches the live model's objective (e.g. replay --objective): sets
// recommender.objective, the signal it learns from (the ials or bpr keys')
// and the retrain algorithm that fits it (ials, bpr or als), in `training`
// and `live.training`.
void SetObjective(engine::Objective objective, Config* config);

// Parses an API key list: "NAME:SCOPES:SECRET" entries separated by commas
// and/or whitespace; SCOPES is read, write, admin joined by '+'. `origin`
// (e.g. "conf:api.keys") prefixes error messages, which name the entry by
// position and name, never by secret. Names must be unique within the list.
StatusOr<std::vector<http::ApiKey>> ParseApiKeys(std::string_view spec, std::string_view origin);

// Merges `extra` into `keys`: an entry whose name is already there replaces
// it, the others are appended.
void MergeApiKeys(std::vector<http::ApiKey> extra, std::vector<http::ApiKey>* keys);

// Reads STREAMREC_API_KEYS (if set and non-empty) into config->api.keys.
Status ApplyApiKeysFromEnv(Config* config);

// "read+write" for a scope mask.
std::string ScopeNames(uint32_t scopes);

}  // namespace streamrec::tools
