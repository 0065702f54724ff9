// The recommenders the snapshot fuzz target decodes into, and that
// make_seeds.cc writes its seed snapshots from. A snapshot only decodes
// into a recommender with the rank, seed, init_stddev, fold_in_max_events
// and objective it was written with, so the two must agree: rank 2 keeps
// the seeds small (a few hundred bytes), the IVF top-N at any catalog size
// gives the seeds an ivf section, the rest are the defaults.
#pragma once

#include <memory>

#include "engine/core/event_types.h"
#include "engine/live/recommender.h"

namespace streamrec::fuzz {

inline constexpr engine::Objective kSnapshotObjectives[] = {
    engine::Objective::kRating, engine::Objective::kImplicit, engine::Objective::kBpr};

inline engine::RecommenderOptions SnapshotOptions(engine::Objective objective) {
  engine::RecommenderOptions o;
  o.objective = objective;
  o.model.rank = 2;
  o.topn.method = engine::TopNMethod::kIvf;
  return o;
}

inline std::unique_ptr<engine::Recommender> SnapshotRecommender(engine::Objective objective) {
  return std::make_unique<engine::Recommender>(SnapshotOptions(objective),
                                               engine::EventTypes::Defaults());
}

}  // namespace streamrec::fuzz
