#include "tools/config/model_flags.h"

#include <fmt/format.h>

#include <cstring>

#include "tools/config/config.h"

namespace streamrec::tools {

namespace po = boost::program_options;

Status ApplyConfigFromArgs(int argc, const char* const* argv, ModelFlags* flags,
                           std::string* config_path) {
  config_path->clear();
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
      *config_path = argv[i + 1];
    } else if (std::strncmp(argv[i], "--config=", 9) == 0) {
      *config_path = argv[i] + 9;
    }
  }
  if (config_path->empty()) return Status::OK();
  StatusOr<Config> config = LoadConfig(*config_path);
  if (!config.ok()) return config.status();
  flags->algorithm = config->algorithm;
  flags->options = config->training;
  return Status::OK();
}

void AddModelFlags(po::options_description* desc, ModelFlags* f) {
  engine::EvalOptions& o = f->options;
  desc->add_options()("config", po::value<std::string>(),
                      "read [model] and [training] defaults from this file (flags override it)")(
      "algo", po::value(&f->algorithm)->default_value(f->algorithm),
      "training algorithm: sgd (batch SGD epochs), als (alternating least squares), "
      "online (one pass in time order, as the live server learns), "
      "bpmf (Bayesian MF by Gibbs sampling: most accurate, no λ to tune), "
      "ials (implicit-feedback weighted MF: best ranking), bpr (Bayesian personalised ranking), "
      "popular or random (baselines)")(
      "rank", po::value(&o.model.rank)->default_value(o.model.rank), "latent dimensions k")(
      "init-std", po::value(&o.model.init_stddev)->default_value(o.model.init_stddev),
      "std-dev of initial factors")("model-seed",
                                    po::value(&o.model.seed)->default_value(o.model.seed),
                                    "seed of the initial factors")(
      "epochs", po::value(&o.sgd.epochs)->default_value(o.sgd.epochs), "SGD epochs")(
      "lr", po::value(&o.sgd.params.learning_rate)->default_value(o.sgd.params.learning_rate),
      "SGD learning rate of the factors")(
      "reg", po::value(&o.sgd.params.regularization)->default_value(o.sgd.params.regularization),
      "SGD L2 regularisation of the factors")(
      "bias-lr",
      po::value(&o.sgd.params.bias_learning_rate)->default_value(o.sgd.params.bias_learning_rate),
      "SGD learning rate of the biases")(
      "bias-reg",
      po::value(&o.sgd.params.bias_regularization)->default_value(o.sgd.params.bias_regularization),
      "SGD L2 regularisation of the biases")("decay",
                                             po::value(&o.sgd.decay)->default_value(o.sgd.decay),
                                             "SGD learning-rate decay per epoch")(
      "als-iters", po::value(&o.als.iterations)->default_value(o.als.iterations), "ALS iterations")(
      "als-reg", po::value(&o.als.regularization)->default_value(o.als.regularization),
      "ALS ridge per observation (λ·n_u)")(
      "als-bias-reg",
      po::value(&o.als.bias_regularization)->default_value(o.als.bias_regularization),
      "ALS ridge on the biases")("threads", po::value(&o.als.threads)->default_value(o.als.threads),
                                 "ALS threads")(
      "sweeps", po::value(&o.bpmf.sweeps)->default_value(o.bpmf.sweeps), "BPMF Gibbs sweeps")(
      "burn-in", po::value(&o.bpmf.burn_in)->default_value(o.bpmf.burn_in),
      "BPMF sweeps discarded before averaging")(
      "noise-precision",
      po::value(&o.bpmf.observation_precision)->default_value(o.bpmf.observation_precision),
      "BPMF precision α of a rating around p·q (1/α = noise variance)")(
      "alpha", po::value(&o.ials.alpha)->default_value(o.ials.alpha),
      "iALS confidence slope α: c = 1 + α·w")(
      "ials-iters", po::value(&o.ials.iterations)->default_value(o.ials.iterations),
      "iALS iterations")("ials-reg",
                         po::value(&o.ials.regularization)->default_value(o.ials.regularization),
                         "iALS ridge λ")(
      "ials-reg-exp",
      po::value(&o.ials.regularization_exponent)->default_value(o.ials.regularization_exponent),
      "iALS frequency scaling ν of the ridge: λ·n^ν for a row with n interactions")(
      "ials-rating-exp",
      po::value(&o.ials.signal.target_exponent)->default_value(o.ials.signal.target_exponent),
      "iALS: an interaction's strength is its event weight · (rating/5)^this (0: every rating "
      "counts as one plain interaction)")(
      "bpr-epochs", po::value(&o.bpr.epochs)->default_value(o.bpr.epochs), "BPR epochs")(
      "bpr-lr", po::value(&o.bpr.learning_rate)->default_value(o.bpr.learning_rate),
      "BPR learning rate")("bpr-reg",
                           po::value(&o.bpr.regularization)->default_value(o.bpr.regularization),
                           "BPR L2 regularisation of the factors")(
      "bpr-rating-exp",
      po::value(&o.bpr.signal.target_exponent)->default_value(o.bpr.signal.target_exponent),
      "BPR: positives are drawn in proportion to event weight · (rating/5)^this")(
      "online-passes", po::value(&o.online_passes)->default_value(o.online_passes),
      "passes of the online learner over the training stream")(
      "online-lr",
      po::value(&o.online.sgd.learning_rate)->default_value(o.online.sgd.learning_rate),
      "online learning rate (factors and biases)")(
      "online-reg",
      po::value(&o.online.sgd.regularization)->default_value(o.online.sgd.regularization),
      "online L2 regularisation of the factors")(
      "fold-in",
      po::value(&o.online.fold_in_max_events)->default_value(o.online.fold_in_max_events),
      "online: users with at most this many events are scored by an exact fold-in (0: off)")(
      "k", po::value(&o.k)->default_value(o.k), "ranking list length K")(
      "relevance-threshold",
      po::value(&o.relevance_threshold)->default_value(o.relevance_threshold),
      "held-out items with a rating >= this count as relevant (0: all)");
}

Status FinishModelFlags(ModelFlags* f) {
  engine::EvalOptions& o = f->options;
  StatusOr<engine::Algorithm> algo = engine::ParseAlgorithm(f->algorithm);
  if (!algo.ok()) return algo.status();
  o.algorithm = *algo;
  o.online.sgd.bias_learning_rate = o.online.sgd.learning_rate;
  if (Status st = engine::ValidateModelOptions(o.model); !st.ok()) {
    return Status::InvalidArgument(fmt::format("--{}", st.message()));
  }
  if (o.sgd.epochs < 1 || o.als.iterations < 1 || o.online_passes < 1) {
    return Status::InvalidArgument("--epochs, --als-iters and --online-passes must be >= 1");
  }
  if (!(o.sgd.params.learning_rate > 0) || !(o.online.sgd.learning_rate > 0) ||
      !(o.sgd.params.bias_learning_rate >= 0)) {
    return Status::InvalidArgument("learning rates must be positive");
  }
  if (o.sgd.params.regularization < 0 || o.sgd.params.bias_regularization < 0 ||
      o.als.regularization < 0 || o.als.bias_regularization < 0 ||
      o.online.sgd.regularization < 0) {
    return Status::InvalidArgument("regularisation must be >= 0");
  }
  if (!(o.sgd.decay > 0 && o.sgd.decay <= 1)) {
    return Status::InvalidArgument("--decay must be in (0, 1]");
  }
  if (o.bpmf.sweeps < 1 || o.bpmf.burn_in < 0 || o.bpmf.burn_in >= o.bpmf.sweeps) {
    return Status::InvalidArgument("need --sweeps >= 1 and 0 <= --burn-in < --sweeps");
  }
  if (!(o.bpmf.observation_precision > 0)) {
    return Status::InvalidArgument("--noise-precision must be positive");
  }
  o.bpmf.threads = o.als.threads;
  if (o.k < 1 || o.k > 10000) return Status::InvalidArgument("--k must be in [1, 10000]");
  if (o.als.threads < 1 || o.als.threads > 256) {
    return Status::InvalidArgument("--threads must be in [1, 256]");
  }
  o.ials.threads = o.als.threads;
  if (Status st = engine::ValidateIalsOptions(o.ials); !st.ok() || o.ials.iterations < 1) {
    return Status::InvalidArgument(
        "need --ials-iters >= 1, --alpha >= 0, --ials-reg > 0, --ials-reg-exp in [0, 2]");
  }
  if (Status st = engine::ValidateBprOptions(o.bpr); !st.ok() || o.bpr.epochs < 1) {
    return Status::InvalidArgument("need --bpr-epochs >= 1, --bpr-lr > 0, --bpr-reg >= 0");
  }
  return Status::OK();
}

}  // namespace streamrec::tools
