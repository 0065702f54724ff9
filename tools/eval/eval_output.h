// What `streamrec eval` prints and writes: per-fold tables and JSON, the
// `--compare` ranking of several algorithms evaluated on the same folds,
// and the `--report` HTML page (metric per algorithm, training loss per
// epoch).
//
// Rating metrics (RMSE, MAE) exist only for rating models: implicit models
// and the baselines print "n/a" and null in JSON.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "engine/eval/evaluation.h"

namespace streamrec::tools {

struct FoldResult {
  std::string name;
  engine::EvalResult result;
};

// One algorithm of a comparison: its result per fold and their mean.
struct AlgorithmResult {
  engine::Algorithm algorithm = engine::Algorithm::kAls;
  std::vector<FoldResult> folds;
  engine::EvalResult mean;
};

// "all" (every algorithm) or a comma-separated list of algorithm names,
// each at most once. InvalidArgument names the bad entry.
StatusOr<std::vector<engine::Algorithm>> ParseAlgorithmList(std::string_view spec);

// The mean of the folds' metrics (train seconds summed; epochs of the
// first fold).
engine::EvalResult MeanOfFolds(const std::vector<FoldResult>& folds);

// One result as JSON: rating metrics null where undefined.
boost::json::object MetricsJson(const engine::EvalResult& r);

// How MAP@K is computed, as one sentence printed under the tables: AP@K
// divides by min(K, relevant), unlike some published tables.
std::string MapDefinition(size_t k);

// The single-algorithm table (one row per fold, plus the mean).
std::string FoldTable(const std::vector<FoldResult>& folds, size_t k);

// Sorts by mean NDCG@K, best first (ties: the order given).
void SortByNdcg(std::vector<AlgorithmResult>* results);
// The comparison table, in the order given.
std::string CompareTable(const std::vector<AlgorithmResult>& results, size_t k);
// The comparison as a JSON array, in the order given: per algorithm its
// name, place (1 = best) and mean metrics.
boost::json::array CompareJson(const std::vector<AlgorithmResult>& results);

// Writes the HTML report of one or more algorithms' results: a table, bars
// of the ranking metrics and of training time per algorithm, RMSE bars for
// the rating models, and each algorithm's training loss per epoch (first
// fold). `subtitle`: what was evaluated (data, split, rank). IOError if the
// file cannot be written.
Status WriteEvalReport(const std::string& path, std::string_view subtitle,
                       const std::vector<AlgorithmResult>& results, size_t k);

}  // namespace streamrec::tools
