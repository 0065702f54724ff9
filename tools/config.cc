#include "tools/config.h"

#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <fstream>

namespace streamrec::tools {

namespace po = boost::program_options;

namespace {

void Describe(po::options_description* d, Config* c) {
  engine::RecommenderOptions& r = c->recommender;
  engine::EvalOptions& t = c->training;
  d->add_options()("model.rank", po::value(&r.model.rank))(
      "model.init_stddev", po::value(&r.model.init_stddev))("model.seed", po::value(&r.model.seed))(
      "learner.learning_rate", po::value(&r.learner.sgd.learning_rate))(
      "learner.regularization", po::value(&r.learner.sgd.regularization))(
      "learner.bias_learning_rate", po::value(&r.learner.sgd.bias_learning_rate))(
      "learner.bias_regularization", po::value(&r.learner.sgd.bias_regularization))(
      "learner.cold_start_min_items", po::value(&r.cold_start_min_items))(
      "learner.fold_in_max_events", po::value(&r.learner.fold_in_max_events))(
      "learner.fold_in_regularization", po::value(&r.learner.fold_in_regularization))(
      "learner.fold_in_bias_regularization", po::value(&r.learner.fold_in_bias_regularization))(
      "popularity.half_life_hours", po::value<double>()->notifier([&r](double h) {
        r.popularity.half_life_ms = h * 3600.0 * 1000.0;
      }))("training.algorithm", po::value(&c->algorithm))(
      "training.epochs", po::value(&t.sgd.epochs))("training.learning_rate",
                                                   po::value(&t.sgd.params.learning_rate))(
      "training.regularization", po::value(&t.sgd.params.regularization))(
      "training.bias_learning_rate", po::value(&t.sgd.params.bias_learning_rate))(
      "training.bias_regularization", po::value(&t.sgd.params.bias_regularization))(
      "training.decay", po::value(&t.sgd.decay))(
      "training.als_iterations", po::value(&t.als.iterations))("training.als_regularization",
                                                               po::value(&t.als.regularization))(
      "training.als_bias_regularization", po::value(&t.als.bias_regularization))(
      "training.bpmf_sweeps", po::value(&t.bpmf.sweeps))("training.bpmf_burn_in",
                                                         po::value(&t.bpmf.burn_in))(
      "training.bpmf_noise_precision", po::value(&t.bpmf.observation_precision))(
      "training.threads", po::value(&t.als.threads))("storage.durability",
                                                     po::value(&c->durability_name))(
      "storage.snapshot_every_events", po::value(&c->store.snapshot_every_events))(
      "storage.snapshot_every_seconds", po::value(&c->store.snapshot_every_seconds))(
      "storage.snapshots_to_keep", po::value(&c->store.log.snapshots_to_keep));
}

}  // namespace

StatusOr<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("cannot open config file '{}'", path));
  Config c;
  po::options_description desc;
  Describe(&desc, &c);
  try {
    po::variables_map vm;
    po::store(po::parse_config_file(in, desc, /*allow_unregistered=*/false), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Status::InvalidArgument(fmt::format("{}: {}", path, e.what()));
  }
  engine::RecommenderOptions& r = c.recommender;
  if (r.model.rank < 1 || r.model.rank > 1024) {
    return Status::InvalidArgument(fmt::format("{}: model.rank must be in [1, 1024]", path));
  }
  if (!(r.popularity.half_life_ms > 0)) {
    return Status::InvalidArgument(
        fmt::format("{}: popularity.half_life_hours must be positive", path));
  }
  if (!(r.learner.sgd.learning_rate > 0) || r.learner.sgd.regularization < 0 ||
      !(r.learner.sgd.bias_learning_rate >= 0) || r.learner.sgd.bias_regularization < 0) {
    return Status::InvalidArgument(
        fmt::format("{}: learner rates must be positive and regularisation >= 0", path));
  }
  if (c.durability_name == "sync") {
    c.store.log.durability = storage::Durability::kSync;
  } else if (c.durability_name == "process") {
    c.store.log.durability = storage::Durability::kProcess;
  } else {
    return Status::InvalidArgument(fmt::format(
        "{}: storage.durability must be 'sync' or 'process', got '{}'", path, c.durability_name));
  }
  if (c.store.log.snapshots_to_keep < 1 || !(c.store.snapshot_every_seconds >= 0)) {
    return Status::InvalidArgument(fmt::format(
        "{}: storage.snapshots_to_keep must be >= 1 and snapshot_every_seconds >= 0", path));
  }
  StatusOr<engine::Algorithm> algo = engine::ParseAlgorithm(c.algorithm);
  if (!algo.ok()) {
    return Status::InvalidArgument(
        fmt::format("{}: training.algorithm: {}", path, algo.status().message()));
  }
  c.training.algorithm = *algo;
  if (!(r.learner.fold_in_regularization > 0) || !(r.learner.fold_in_bias_regularization > 0)) {
    return Status::InvalidArgument(
        fmt::format("{}: learner fold-in regularisation must be positive", path));
  }
  c.training.model = r.model;
  c.training.online = r.learner;
  return c;
}

}  // namespace streamrec::tools
