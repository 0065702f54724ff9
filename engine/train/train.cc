#include "engine/train/train.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace streamrec::engine {
namespace {

Status TrainOnline(const TrainData& data, const TrainOptions& o, MFModel* model,
                   std::vector<double>* epoch_rmse, const ProgressFn& progress) {
  // The learner the server runs, fed examples in log order. The types
  // registry is not consulted: examples carry their target and weight.
  const EventTypes types = EventTypes::Defaults();
  OnlineLearner learner(model, &types, o.online);
  for (int pass = 1; pass <= o.online_passes; ++pass) {
    double se = 0.0, wsum = 0.0;
    for (const TrainingExample& x : data.examples) {
      const float err = learner.ApplyExample(x.user, x.item, x.target, x.weight);
      se += double{x.weight} * err * err;
      wsum += x.weight;
    }
    if (epoch_rmse) epoch_rmse->push_back(wsum > 0 ? std::sqrt(se / wsum) : 0.0);
    if (progress) progress(pass, o.online_passes);
  }
  // Queries score young users with their fold-in: evaluate that model.
  learner.MaterializeFoldIns();
  return Status::OK();
}

// Ranks by training interactions per item: zero factors, the count as the
// item bias (ties fall to the lower id in TopN).
void FitPopularity(const TrainData& data, MFModel* model) {
  model->SetUserRows(RowMatrixXf::Zero(model->num_users(), model->rank()));
  model->SetItemRows(RowMatrixXf::Zero(model->num_items(), model->rank()));
  for (uint32_t u = 0; u < model->num_users(); ++u) model->user_bias(u) = 0.0f;
  for (uint32_t i = 0; i < model->num_items(); ++i) model->item_bias(i) = 0.0f;
  for (const auto& x : data.examples) model->item_bias(x.item) += 1.0f;
  model->global_mean() = 0.0f;
}

constexpr Algorithm kAllAlgorithms[] = {Algorithm::kSgd,     Algorithm::kAls,   Algorithm::kOnline,
                                        Algorithm::kBpmf,    Algorithm::kIals,  Algorithm::kBpr,
                                        Algorithm::kPopular, Algorithm::kRandom};

}  // namespace

std::span<const Algorithm> AllAlgorithms() { return kAllAlgorithms; }

bool PredictsRatings(Algorithm a) {
  return a == Algorithm::kSgd || a == Algorithm::kAls || a == Algorithm::kOnline ||
         a == Algorithm::kBpmf;
}

bool LearnsFromInteractions(Algorithm a) { return a == Algorithm::kIals || a == Algorithm::kBpr; }

std::optional<float> TrainingTarget(const EventTypes& types, EventTypeId type, float value,
                                    const TrainOptions& options) {
  if (!LearnsFromInteractions(options.algorithm)) return types.Target(type, value);
  const ImplicitSignalOptions& signal =
      options.algorithm == Algorithm::kBpr ? options.bpr.signal : options.ials.signal;
  return ImplicitTarget(types, type, value, signal);
}

std::string_view AlgorithmName(Algorithm a) {
  switch (a) {
    case Algorithm::kSgd:
      return "sgd";
    case Algorithm::kAls:
      return "als";
    case Algorithm::kOnline:
      return "online";
    case Algorithm::kBpmf:
      return "bpmf";
    case Algorithm::kIals:
      return "ials";
    case Algorithm::kBpr:
      return "bpr";
    case Algorithm::kPopular:
      return "popular";
    case Algorithm::kRandom:
      return "random";
  }
  return "unknown";
}

StatusOr<Algorithm> ParseAlgorithm(std::string_view name) {
  for (Algorithm a : kAllAlgorithms) {
    if (AlgorithmName(a) == name) return a;
  }
  return Status::InvalidArgument(fmt::format(
      "unknown algorithm '{}' (expected sgd, als, online, bpmf, ials, bpr, popular or random)",
      name));
}

StatusOr<MFModel> TrainModel(const TrainData& data, const TrainOptions& o,
                             std::vector<double>* epoch_rmse, const ProgressFn& progress) {
  MFModel model(o.model);
  model.EnsureUsers(data.num_users);
  model.EnsureItems(data.num_items);
  for (const auto& x : data.examples) {
    if (x.user >= data.num_users || x.item >= data.num_items) {
      return Status::InvalidArgument("training example outside num_users/num_items");
    }
  }
  auto on_epoch = [&](int epoch, double rmse, int total) {
    if (epoch_rmse) epoch_rmse->push_back(rmse);
    if (progress) progress(static_cast<size_t>(epoch), static_cast<size_t>(total));
    return true;
  };
  switch (o.algorithm) {
    case Algorithm::kSgd:
      STREAMREC_RETURN_IF_ERROR(TrainSgd(data.examples, o.sgd, &model, [&](int e, double r) {
        return on_epoch(e, r, o.sgd.epochs);
      }));
      break;
    case Algorithm::kAls:
      STREAMREC_RETURN_IF_ERROR(TrainAls(data.examples, o.als, &model, [&](int e, double r) {
        return on_epoch(e, r, o.als.iterations);
      }));
      break;
    case Algorithm::kBpmf:
      STREAMREC_RETURN_IF_ERROR(TrainBpmf(data.examples, o.bpmf, &model, [&](int e, double r) {
        return on_epoch(e, r, o.bpmf.sweeps);
      }));
      break;
    case Algorithm::kOnline:
      if (o.online_passes < 1) return Status::InvalidArgument("online passes must be >= 1");
      STREAMREC_RETURN_IF_ERROR(TrainOnline(data, o, &model, epoch_rmse, progress));
      break;
    case Algorithm::kIals:
      STREAMREC_RETURN_IF_ERROR(TrainIals(data.examples, o.ials, &model, [&](int e, double r) {
        return on_epoch(e, r, o.ials.iterations);
      }));
      break;
    case Algorithm::kBpr:
      STREAMREC_RETURN_IF_ERROR(TrainBpr(data.examples, o.bpr, &model, [&](int e, double r) {
        return on_epoch(e, r, o.bpr.epochs);
      }));
      break;
    case Algorithm::kPopular:
      if (data.num_users > 0 && data.num_items > 0) FitPopularity(data, &model);
      break;
    case Algorithm::kRandom:
      break;  // the seeded initial vectors are the model
  }
  return model;
}

}  // namespace streamrec::engine
