// The streamrec configuration file (config/streamrec.conf documents every
// field): INI sections [model], [learner], [popularity], [training],
// [storage]. Only
// `main`-level code turns it into the engine's option structs, here.
//
// Unknown sections or keys are errors (a typo must not silently fall back to
// a default); a missing key keeps the engine's default.
#pragma once

#include <string>

#include "engine/evaluation.h"
#include "engine/recommender.h"
#include "engine/status.h"
#include "storage/model_store.h"

namespace streamrec::tools {

struct Config {
  engine::RecommenderOptions recommender;  // [model], [learner], [popularity]
  engine::EvalOptions training;            // [training] (+ [model] for its rank/seed)
  std::string algorithm = "als";           // [training] algorithm
  storage::ModelStoreOptions store;        // [storage]
  std::string durability_name = "sync";    // [storage] durability, as written
};

// Reads `path` over the defaults. InvalidArgument names the file and the
// offending key or value.
StatusOr<Config> LoadConfig(const std::string& path);

}  // namespace streamrec::tools
