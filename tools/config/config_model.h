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

struct Config;

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

// The std-dev of the random starting vectors that [model] init_stddev =
// auto gives `objective` at `rank`: 0.1 / sqrt(rank) for implicit (a
// starting vector of length ~0.1 at any rank, as Rendle et al. start iALS,
// "Revisiting the Performance of iALS on Item Recommendation Benchmarks",
// RecSys 2022), 0.1 for rating and bpr. Why implicit starts small: the
// online step moves an item's vector only by the events on it, so a long
// tail of items with a handful of events keeps vectors about as long as the
// start; at 0.1 per dimension (length ~0.8 at rank 64) they were as long as
// the learned popular items' and took ~4% of the exact top 10 at random.
// Measured on bench scale's stream at 1M users x 1M items x 20M events,
// HR@10 of the next 1M events against the model at 20M: 0.037 at 0.1,
// 0.086 at 0.1/sqrt(64); and the IVF index, whose cells cannot find those
// random matches, read 60 cells of 965 for its recall target instead of
// 750 (config/streamrec.conf). The rating model keeps 0.1: started small,
// its lists fall back on the item biases (45-63% of ml-100k's catalog shown
// prequentially at 0.1, 11% at 0.0125, at the same RMSE).
float InitStddevFor(engine::Objective objective, int rank);

// [model] init_stddev as written: `auto` (InitStddevFor the objective and
// rank already parsed into c->recommender) or a number, into
// c->recommender.model.init_stddev and c->init_stddev_auto.
// InvalidArgument names the file and the key.
Status ApplyInitStddev(const std::string& path, const std::string& written, Config* c);

// Checks the ials_* / bpr_* / implicit_* values and copies α, λ, ν and the
// signal from training->ials into r->implicit and r->signal.
Status ApplyImplicitKeys(const std::string& path, const engine::EvalOptions& training,
                         engine::RecommenderOptions* r);

}  // namespace streamrec::tools
