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

}  // namespace

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
  }
  return "unknown";
}

StatusOr<Algorithm> ParseAlgorithm(std::string_view name) {
  for (Algorithm a : {Algorithm::kSgd, Algorithm::kAls, Algorithm::kOnline, Algorithm::kBpmf}) {
    if (AlgorithmName(a) == name) return a;
  }
  return Status::InvalidArgument(
      fmt::format("unknown algorithm '{}' (expected sgd, als, online or bpmf)", name));
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
  }
  return model;
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
  result.rating = rating.Result();

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
  result.ranking = ranking.Result();
  result.eval_seconds = Seconds(t0);
  return result;
}

}  // namespace streamrec::engine
