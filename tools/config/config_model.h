// What the live model learns, in the configuration file: [model] objective,
// the implicit online update's [learner] implicit_* keys and the iALS/BPR
// [training] ials_* / bpr_* keys (config/streamrec.conf documents them).
// Internal to tools/config/config.cc, like tools/config/config_drift.h.
//
// One set of α, λ, ν and rating exponent (the ials_* keys) serves both the
// iALS retrain and the online updates, so the two pull towards the same
// optimum.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <string>

#include "engine/core/status.h"
#include "engine/eval/evaluation.h"
#include "engine/live/recommender.h"

namespace streamrec::tools {

// The shipped default objective: most streams are clicks and purchases,
// and what users see is a ranked list (on ml-100k in time order the
// implicit model's prequential HR@10 is 0.115, the rating model's 0.056
// and popularity's 0.078).
inline constexpr const char* kDefaultObjective = "implicit";

// Registers model.objective (into *objective, as written) and the
// learner.implicit_*, training.ials_* and training.bpr_* keys (into
// r->implicit and *training).
void DescribeModelKeys(boost::program_options::options_description* d,
                       engine::RecommenderOptions* r, engine::EvalOptions* training,
                       std::string* objective);

// Parses the objective into r->objective and, if *algorithm is empty, names
// the objective's retrain algorithm (ials for implicit, als for rating).
// InvalidArgument names the file and the key.
Status ApplyObjective(const std::string& path, const std::string& objective,
                      engine::RecommenderOptions* r, std::string* algorithm);

// Checks the ials_* / bpr_* / implicit_* values and copies α, λ, ν and the
// signal from training->ials into r->implicit and r->signal.
Status ApplyImplicitKeys(const std::string& path, const engine::EvalOptions& training,
                         engine::RecommenderOptions* r);

}  // namespace streamrec::tools
