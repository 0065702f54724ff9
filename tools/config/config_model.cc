#include "tools/config/config_model.h"

#include <fmt/format.h>

#include <boost/program_options.hpp>

#include "tools/config/config.h"

namespace streamrec::tools {

namespace po = boost::program_options;

namespace {

// The retrain algorithm an objective takes when none is named.
engine::Algorithm RetrainAlgorithmOf(engine::Objective objective) {
  switch (objective) {
    case engine::Objective::kImplicit:
      return engine::Algorithm::kIals;
    case engine::Objective::kBpr:
      return engine::Algorithm::kBpr;
    case engine::Objective::kRating:
      break;
  }
  return engine::Algorithm::kAls;
}

// The signal the live model learns from: its retrain algorithm's.
const engine::ImplicitSignalOptions& SignalOf(engine::Objective objective,
                                              const engine::EvalOptions& training) {
  return objective == engine::Objective::kBpr ? training.bpr.signal : training.ials.signal;
}

}  // namespace

void DescribeModelKeys(po::options_description* d, engine::RecommenderOptions* r,
                       engine::EvalOptions* training, std::string* objective) {
  engine::ImplicitOnlineOptions& im = r->implicit;
  engine::IalsTrainOptions& ials = training->ials;
  engine::BprTrainOptions& bpr = training->bpr;
  d->add_options()("model.objective", po::value(objective))(
      "learner.implicit_sweeps", po::value(&im.sweeps))("learner.implicit_update_items",
                                                        po::value(&im.update_items))(
      "learner.implicit_max_user_cells", po::value(&im.max_user_cells))(
      "learner.implicit_max_item_cells", po::value(&im.max_item_cells))(
      "learner.implicit_min_item_step", po::value(&im.min_item_step))(
      "learner.bpr_learning_rate", po::value(&r->bpr.learning_rate))(
      "learner.bpr_negatives", po::value(&r->bpr.negatives))("training.ials_iterations",
                                                             po::value(&ials.iterations))(
      "training.ials_alpha", po::value(&ials.alpha))("training.ials_regularization",
                                                     po::value(&ials.regularization))(
      "training.ials_regularization_exponent", po::value(&ials.regularization_exponent))(
      "training.ials_rating_exponent", po::value(&ials.signal.target_exponent))(
      "training.bpr_epochs", po::value(&bpr.epochs))(
      "training.bpr_learning_rate", po::value(&bpr.learning_rate))("training.bpr_regularization",
                                                                   po::value(&bpr.regularization))(
      "training.bpr_rating_exponent", po::value(&bpr.signal.target_exponent));
}

Status ApplyObjective(const std::string& path, const std::string& objective,
                      engine::RecommenderOptions* r, std::string* algorithm) {
  StatusOr<engine::Objective> parsed = engine::ParseObjective(objective);
  if (!parsed.ok()) {
    return Status::InvalidArgument(
        fmt::format("{}: model.objective: {}", path, parsed.status().message()));
  }
  r->objective = *parsed;
  if (algorithm->empty()) *algorithm = engine::AlgorithmName(RetrainAlgorithmOf(*parsed));
  return Status::OK();
}

void SetObjective(engine::Objective objective, Config* c) {
  c->recommender.objective = objective;
  c->recommender.signal = SignalOf(objective, c->training);
  const engine::Algorithm algorithm = RetrainAlgorithmOf(objective);
  c->algorithm = std::string(engine::AlgorithmName(algorithm));
  c->training.algorithm = algorithm;
  c->live.training.algorithm = algorithm;
}

Status ApplyImplicitKeys(const std::string& path, const engine::EvalOptions& training,
                         engine::RecommenderOptions* r) {
  const engine::IalsTrainOptions& ials = training.ials;
  if (Status st = engine::ValidateIalsOptions(ials); !st.ok() || ials.iterations < 1) {
    return Status::InvalidArgument(
        fmt::format("{}: training.ials_*: need iterations >= 1, alpha >= 0, regularization > 0, "
                    "regularization_exponent in [0, 2]",
                    path));
  }
  if (Status st = engine::ValidateBprOptions(training.bpr); !st.ok() || training.bpr.epochs < 1) {
    return Status::InvalidArgument(fmt::format(
        "{}: training.bpr_*: need epochs >= 1, learning_rate > 0, regularization >= 0", path));
  }
  const engine::ImplicitOnlineOptions online = r->implicit;
  r->implicit = engine::ImplicitOnlineOptions::FromTraining(ials.objective());
  r->implicit.sweeps = online.sweeps;
  r->implicit.update_items = online.update_items;
  r->implicit.max_user_cells = online.max_user_cells;
  r->implicit.max_item_cells = online.max_item_cells;
  r->implicit.min_item_step = online.min_item_step;
  r->signal = SignalOf(r->objective, training);
  if (Status st = engine::ImplicitOnlineUpdater::Validate(r->implicit); !st.ok()) {
    return Status::InvalidArgument(fmt::format("{}: learner.implicit_*: {}", path, st.message()));
  }
  // BPR's online steps share λ and λ_b with the batch trainer.
  r->bpr.regularization = training.bpr.regularization;
  r->bpr.bias_regularization = training.bpr.bias_regularization;
  if (Status st = r->bpr.Validate(); !st.ok()) {
    return Status::InvalidArgument(fmt::format("{}: learner.bpr_*: {}", path, st.message()));
  }
  return Status::OK();
}

}  // namespace streamrec::tools
