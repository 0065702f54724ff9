#include "tools/config/model_flags.h"

#include <fmt/format.h>

#include <cstring>

#include "tools/cli/command_line.h"
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
      "algo", Defaulted(&f->algorithm),
      "training algorithm: sgd (batch SGD epochs), als (alternating least squares), "
      "online (one pass in time order, as the live server learns), "
      "bpmf (Bayesian MF by Gibbs sampling: most accurate, no λ to tune), "
      "ials (implicit-feedback weighted MF: best ranking), bpr (Bayesian personalised ranking), "
      "popular or random (baselines)")("rank", Defaulted(&o.model.rank), "latent dimensions k")(
      "init-std", Defaulted(&o.model.init_stddev), "std-dev of initial factors")(
      "init-full-scale-users", Defaulted(&o.model.init_full_scale_users),
      "user rows past this many start smaller (x sqrt(N / (row + 1))); 0: none")(
      "init-full-scale-items", Defaulted(&o.model.init_full_scale_items),
      "item rows past this many start smaller (x sqrt(N / (row + 1))); 0: none")(
      "model-seed", Defaulted(&o.model.seed), "seed of the initial factors")(
      "epochs", Defaulted(&o.sgd.epochs), "SGD epochs")(
      "lr", Defaulted(&o.sgd.params.learning_rate), "SGD learning rate of the factors")(
      "reg", Defaulted(&o.sgd.params.regularization), "SGD L2 regularisation of the factors")(
      "bias-lr", Defaulted(&o.sgd.params.bias_learning_rate), "SGD learning rate of the biases")(
      "bias-reg", Defaulted(&o.sgd.params.bias_regularization),
      "SGD L2 regularisation of the biases")("decay", Defaulted(&o.sgd.decay),
                                             "SGD learning-rate decay per epoch")(
      "als-iters", Defaulted(&o.als.iterations), "ALS iterations")(
      "als-reg", Defaulted(&o.als.regularization), "ALS ridge per observation (λ·n_u)")(
      "als-bias-reg", Defaulted(&o.als.bias_regularization), "ALS ridge on the biases")(
      "threads", Defaulted(&o.als.threads), "ALS threads")("sweeps", Defaulted(&o.bpmf.sweeps),
                                                           "BPMF Gibbs sweeps")(
      "burn-in", Defaulted(&o.bpmf.burn_in), "BPMF sweeps discarded before averaging")(
      "noise-precision", Defaulted(&o.bpmf.observation_precision),
      "BPMF precision α of a rating around p·q (1/α = noise variance)")(
      "alpha", Defaulted(&o.ials.alpha), "iALS confidence slope α: c = 1 + α·w")(
      "ials-iters", Defaulted(&o.ials.iterations), "iALS iterations")(
      "ials-reg", Defaulted(&o.ials.regularization), "iALS ridge λ")(
      "ials-reg-exp", Defaulted(&o.ials.regularization_exponent),
      "iALS frequency scaling ν of the ridge: λ·n^ν for a row with n interactions")(
      "ials-rating-exp", Defaulted(&o.ials.signal.target_exponent),
      "iALS: an interaction's strength is its event weight · (rating/5)^this (0: every rating "
      "counts as one plain interaction)")("bpr-epochs", Defaulted(&o.bpr.epochs), "BPR epochs")(
      "bpr-lr", Defaulted(&o.bpr.learning_rate), "BPR learning rate")(
      "bpr-reg", Defaulted(&o.bpr.regularization), "BPR L2 regularisation of the factors")(
      "bpr-rating-exp", Defaulted(&o.bpr.signal.target_exponent),
      "BPR: positives are drawn in proportion to event weight · (rating/5)^this")(
      "online-passes", Defaulted(&o.online_passes),
      "passes of the online learner over the training stream")(
      "online-lr", Defaulted(&o.online.sgd.learning_rate),
      "online learning rate (factors and biases)")("online-reg",
                                                   Defaulted(&o.online.sgd.regularization),
                                                   "online L2 regularisation of the factors")(
      "fold-in", Defaulted(&o.online.fold_in_max_events),
      "online: users with at most this many events are scored by an exact fold-in (0: off)")(
      "k", Defaulted(&o.k), "ranking list length K")(
      "relevance-threshold", Defaulted(&o.relevance_threshold),
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
