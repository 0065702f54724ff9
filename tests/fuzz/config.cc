// Fuzz target: the configuration file (tools/config/config.h): ParseConfig, the
// stream form of LoadConfig, over Boost.Program_options' INI reader and
// streamrec's checks of every section, [events] type lines and [api] keys;
// and ParseApiKeys on the raw input, the syntax STREAMREC_API_KEYS shares.
//
// Invariants besides "no crash, no sanitizer report":
// - a bad file is an InvalidArgument naming it, never an exception (none
//   is caught here: one that escapes ParseConfig is a finding);
// - a Config that parses is one `serve` can start on: its options build a
//   Recommender that takes events and answers, and its checked ranges
//   hold (rank, API keys' names and secrets);
// - API keys: names unique and valid, secrets long enough, scopes set.
#include "tools/config/config.h"

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "engine/live/recommender.h"
#include "tests/fuzz/fuzz_check.h"

namespace streamrec::fuzz {
namespace {

constexpr const char* kName = "fuzz.conf";

void CheckKeys(const std::vector<http::ApiKey>& keys) {
  for (size_t i = 0; i < keys.size(); ++i) {
    const http::ApiKey& k = keys[i];
    FUZZ_CHECK(!k.name.empty() && k.name.size() <= 64, "key name '{}'", k.name);
    FUZZ_CHECK(k.secret.size() >= tools::kMinApiSecretLength, "key '{}': short secret", k.name);
    FUZZ_CHECK(k.scopes != 0 &&
                   (k.scopes & ~(http::kScopeRead | http::kScopeWrite | http::kScopeAdmin)) == 0,
               "key '{}': scopes {:#x}", k.name, k.scopes);
    for (size_t j = 0; j < i; ++j) FUZZ_CHECK(keys[j].name != k.name, "key '{}' twice", k.name);
  }
}

// What `serve` does first with a Config: build the live model and feed
// it a few events.
void CheckUsable(const tools::Config& c) {
  engine::RecommenderOptions r = c.recommender;
  FUZZ_CHECK(r.model.rank >= 1 && r.model.rank <= 1024, "rank {}", r.model.rank);
  FUZZ_CHECK(c.types.size() >= 1, "no event types");
  // The rank only sizes the vectors, and rank 1024 with 100 implicit
  // sweeps is a valid config at ~1e8 flops an event: capped, so that such
  // a config is not reported as a slow input.
  r.model.rank = std::min(r.model.rank, 16);
  engine::Recommender rec(r, c.types);
  for (engine::EventTypeId t = 0; t < c.types.size() && t < 8; ++t) {
    const engine::EventTypeSpec& spec = c.types.spec(t);
    const float value = spec.explicit_rating ? spec.max_value : 0.0f;
    (void)rec.Apply({"u1", "i1", t, value, 1'700'000'000'000});
    (void)rec.Apply({"u2", "i2", t, value, 1'700'000'001'000});
    (void)rec.Apply({"u1", "i2", t, value, 1'700'000'002'000});
  }
  engine::RecommendRequest req;
  req.n = 5;
  (void)rec.RecommendForUser("u1", req);
  (void)rec.SimilarItems("i1", 5);
  (void)rec.Popular(5);
  CheckKeys(c.api.keys);
}

}  // namespace
}  // namespace streamrec::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace streamrec;
  const std::string_view text = fuzz::AsText(data, size);
  std::istringstream in{std::string(text)};
  StatusOr<tools::Config> config = tools::ParseConfig(in, fuzz::kName);
  if (config.ok()) {
    fuzz::CheckUsable(*config);
  } else {
    FUZZ_CHECK(config.status().code() == StatusCode::kInvalidArgument &&
                   config.status().message().starts_with(fuzz::kName),
               "a config refused with {}", config.status().ToString());
  }
  StatusOr<std::vector<http::ApiKey>> keys = tools::ParseApiKeys(text, "fuzz");
  if (keys.ok()) {
    fuzz::CheckKeys(*keys);
  } else {
    FUZZ_CHECK(keys.status().code() == StatusCode::kInvalidArgument, "keys refused with {}",
               keys.status().ToString());
  }
  return 0;
}
