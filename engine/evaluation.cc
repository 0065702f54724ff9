#include "engine/evaluation.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "engine/topn.h"

namespace streamrec::engine {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

Status TrainOnline(const EvalSplit& split, const EvalOptions& o, MFModel* model,
                   std::vector<double>* epoch_rmse, const ProgressFn& progress) {
  // The learner the server runs, fed examples in log order. The types
  // registry is not consulted: examples carry their target and weight.
  const EventTypes types = EventTypes::Defaults();
  OnlineLearner learner(model, &types, o.online);
  for (int pass = 1; pass <= o.online_passes; ++pass) {
    double se = 0.0, wsum = 0.0;
    for (const TrainingExample& x : split.train) {
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
void FitPopularity(const EvalSplit& split, MFModel* model) {
  std::fill_n(model->user_factors(0), size_t{model->num_users()} * model->rank(), 0.0f);
  std::fill_n(model->item_factors(0), size_t{model->num_items()} * model->rank(), 0.0f);
  for (uint32_t u = 0; u < model->num_users(); ++u) model->user_bias(u) = 0.0f;
  for (uint32_t i = 0; i < model->num_items(); ++i) model->item_bias(i) = 0.0f;
  for (const auto& x : split.train) model->item_bias(x.item) += 1.0f;
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
                                    const EvalOptions& options) {
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

StatusOr<MFModel> TrainModel(const EvalSplit& split, const EvalOptions& o,
                             std::vector<double>* epoch_rmse, const ProgressFn& progress) {
  MFModel model(o.model);
  model.EnsureUsers(split.num_users);
  model.EnsureItems(split.num_items);
  for (const auto& x : split.train) {
    if (x.user >= split.num_users || x.item >= split.num_items) {
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
      STREAMREC_RETURN_IF_ERROR(TrainSgd(split.train, o.sgd, &model, [&](int e, double r) {
        return on_epoch(e, r, o.sgd.epochs);
      }));
      break;
    case Algorithm::kAls:
      STREAMREC_RETURN_IF_ERROR(TrainAls(split.train, o.als, &model, [&](int e, double r) {
        return on_epoch(e, r, o.als.iterations);
      }));
      break;
    case Algorithm::kBpmf:
      STREAMREC_RETURN_IF_ERROR(TrainBpmf(split.train, o.bpmf, &model, [&](int e, double r) {
        return on_epoch(e, r, o.bpmf.sweeps);
      }));
      break;
    case Algorithm::kOnline:
      if (o.online_passes < 1) return Status::InvalidArgument("online passes must be >= 1");
      STREAMREC_RETURN_IF_ERROR(TrainOnline(split, o, &model, epoch_rmse, progress));
      break;
    case Algorithm::kIals:
      STREAMREC_RETURN_IF_ERROR(TrainIals(split.train, o.ials, &model, [&](int e, double r) {
        return on_epoch(e, r, o.ials.iterations);
      }));
      break;
    case Algorithm::kBpr:
      STREAMREC_RETURN_IF_ERROR(TrainBpr(split.train, o.bpr, &model, [&](int e, double r) {
        return on_epoch(e, r, o.bpr.epochs);
      }));
      break;
    case Algorithm::kPopular:
      if (split.num_users > 0 && split.num_items > 0) FitPopularity(split, &model);
      break;
    case Algorithm::kRandom:
      break;  // the seeded initial vectors are the model
  }
  return model;
}

namespace {

RatingMetrics RatingError(const EvalSplit& split, const EvalOptions& o, const MFModel& model) {
  float lo = split.train.front().target, hi = lo;
  for (const auto& x : split.train) {
    lo = std::min(lo, x.target);
    hi = std::max(hi, x.target);
  }
  RatingAccumulator rating;
  for (const auto& x : split.test) {
    float p = model.Predict(x.user, x.item);
    if (o.clip_predictions) p = std::clamp(p, lo, hi);
    rating.Add(p, x.target);
  }
  return rating.Result();
}

}  // namespace

RankingMetrics EvaluateRanking(const EvalSplit& split, const MFModel& model, const EvalOptions& o) {
  // Per-user train (excluded) and relevant test items, sorted.
  std::vector<std::vector<uint32_t>> seen(split.num_users), relevant(split.num_users);
  for (const auto& x : split.train) seen[x.user].push_back(x.item);
  for (const auto& x : split.test) {
    if (x.user < split.num_users && x.target >= o.relevance_threshold) {
      relevant[x.user].push_back(x.item);
    }
  }
  for (uint32_t u = 0; u < split.num_users; ++u) {
    std::sort(seen[u].begin(), seen[u].end());
    std::sort(relevant[u].begin(), relevant[u].end());
    relevant[u].erase(std::unique(relevant[u].begin(), relevant[u].end()), relevant[u].end());
  }
  RankingAccumulator ranking(o.k, split.num_items);
  ScanOptions scan;
  scan.item_bias = model.item_biases();
  constexpr size_t kBatch = 64;  // queries per scan: amortises the item reads
  std::vector<uint32_t> users;
  for (uint32_t u = 0; u < split.num_users; ++u) {
    if (!relevant[u].empty()) users.push_back(u);
  }
  std::vector<std::vector<ScoredItem>> lists;
  std::vector<uint32_t> ids;
  for (size_t b = 0; b < users.size(); b += kBatch) {
    const size_t e = std::min(users.size(), b + kBatch);
    std::vector<ScanQuery> queries(e - b);
    for (size_t j = b; j < e; ++j) {
      queries[j - b].vector = model.user_factors(users[j]);
      queries[j - b].exclude_a = seen[users[j]];
    }
    TopNScan(model.item_factors(), model.num_items(), model.rank(), queries, o.k, scan, &lists);
    for (size_t j = b; j < e; ++j) {
      ids.clear();
      for (const auto& s : lists[j - b]) ids.push_back(s.item);
      ranking.AddUser(ids, relevant[users[j]]);
    }
  }
  return ranking.Result();
}

StatusOr<EvalResult> EvaluateSplit(const EvalSplit& split, const EvalOptions& o,
                                   const ProgressFn& progress) {
  if (split.train.empty()) return Status::InvalidArgument("the training set is empty");
  if (o.k == 0) return Status::InvalidArgument("k must be >= 1");
  EvalResult result;
  auto t0 = std::chrono::steady_clock::now();
  StatusOr<MFModel> trained = TrainModel(split, o, &result.epoch_train_rmse, progress);
  if (!trained.ok()) return trained.status();
  const MFModel& model = *trained;
  result.train_seconds = Seconds(t0);
  t0 = std::chrono::steady_clock::now();

  result.has_rating_metrics = PredictsRatings(o.algorithm);
  if (o.algorithm == Algorithm::kIals) result.epoch_metric = "iALS objective per observed cell";
  if (o.algorithm == Algorithm::kBpr) result.epoch_metric = "BPR loss";
  if (result.has_rating_metrics) result.rating = RatingError(split, o, model);

  result.ranking = EvaluateRanking(split, model, o);
  result.eval_seconds = Seconds(t0);
  return result;
}

}  // namespace streamrec::engine
