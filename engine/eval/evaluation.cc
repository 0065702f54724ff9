#include "engine/eval/evaluation.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "engine/model/topn.h"

namespace streamrec::engine {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

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
    TopNScan(model.item_rows(), model.num_items(), model.rank(), queries, o.k, scan, &lists);
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
