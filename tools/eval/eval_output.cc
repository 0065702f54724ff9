#include "tools/eval/eval_output.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tools/cli/cli_util.h"
#include "tools/report/report.h"

namespace streamrec::tools {
namespace {

namespace json = boost::json;

std::string Fixed(double v, int decimals = 4) { return fmt::format("{:.{}f}", v, decimals); }

std::string RatingCell(const engine::EvalResult& r, double v) {
  return r.has_rating_metrics ? Fixed(v) : "n/a";
}

std::string Name(engine::Algorithm a) { return std::string(engine::AlgorithmName(a)); }

std::vector<std::string> CompareHeader(size_t k) {
  return {"#",
          "algorithm",
          fmt::format("NDCG@{}", k),
          fmt::format("P@{}", k),
          fmt::format("R@{}", k),
          fmt::format("MAP@{}", k),
          fmt::format("HR@{}", k),
          fmt::format("MRR@{}", k),
          "coverage",
          "train s",
          "RMSE"};
}

std::vector<std::vector<std::string>> CompareRows(const std::vector<AlgorithmResult>& results) {
  std::vector<std::vector<std::string>> rows;
  for (size_t n = 0; n < results.size(); ++n) {
    const engine::EvalResult& r = results[n].mean;
    rows.push_back({fmt::format("{}", n + 1), Name(results[n].algorithm), Fixed(r.ranking.ndcg),
                    Fixed(r.ranking.precision), Fixed(r.ranking.recall), Fixed(r.ranking.map),
                    Fixed(r.ranking.hit_rate), Fixed(r.ranking.mrr), Fixed(r.ranking.coverage),
                    Fixed(r.train_seconds, 2), RatingCell(r, r.rating.rmse)});
  }
  return rows;
}

}  // namespace

StatusOr<std::vector<engine::Algorithm>> ParseAlgorithmList(std::string_view spec) {
  std::vector<engine::Algorithm> out;
  if (spec == "all") {
    const auto all = engine::AllAlgorithms();
    return std::vector<engine::Algorithm>(all.begin(), all.end());
  }
  size_t pos = 0;
  while (pos <= spec.size()) {
    const size_t comma = std::min(spec.find(',', pos), spec.size());
    const std::string_view name = spec.substr(pos, comma - pos);
    StatusOr<engine::Algorithm> a = engine::ParseAlgorithm(name);
    if (!a.ok()) return Status::InvalidArgument(fmt::format("--compare: {}", a.status().message()));
    if (std::find(out.begin(), out.end(), *a) != out.end()) {
      return Status::InvalidArgument(fmt::format("--compare: '{}' given twice", name));
    }
    out.push_back(*a);
    pos = comma + 1;
  }
  return out;
}

engine::EvalResult MeanOfFolds(const std::vector<FoldResult>& folds) {
  engine::EvalResult m;
  if (folds.empty()) return m;
  const double n = static_cast<double>(folds.size());
  m.has_rating_metrics = folds.front().result.has_rating_metrics;
  m.epoch_train_rmse = folds.front().result.epoch_train_rmse;
  m.epoch_metric = folds.front().result.epoch_metric;
  for (const auto& f : folds) {
    const auto& r = f.result;
    m.rating.rmse += r.rating.rmse / n;
    m.rating.mae += r.rating.mae / n;
    m.rating.count += r.rating.count;
    m.ranking.k = r.ranking.k;
    m.ranking.users += r.ranking.users;
    m.ranking.precision += r.ranking.precision / n;
    m.ranking.recall += r.ranking.recall / n;
    m.ranking.ndcg += r.ranking.ndcg / n;
    m.ranking.map += r.ranking.map / n;
    m.ranking.hit_rate += r.ranking.hit_rate / n;
    m.ranking.mrr += r.ranking.mrr / n;
    m.ranking.coverage += r.ranking.coverage / n;
    m.train_seconds += r.train_seconds;
  }
  return m;
}

json::object MetricsJson(const engine::EvalResult& r) {
  const auto& k = r.ranking;
  json::object o;
  if (r.has_rating_metrics) {
    o["rmse"] = r.rating.rmse;
    o["mae"] = r.rating.mae;
    o["test_ratings"] = r.rating.count;
  } else {
    o["rmse"] = nullptr;
    o["mae"] = nullptr;
    o["test_ratings"] = nullptr;
  }
  o["k"] = k.k;
  o["precision"] = k.precision;
  o["recall"] = k.recall;
  o["ndcg"] = k.ndcg;
  o["map"] = k.map;
  o["hit_rate"] = k.hit_rate;
  o["mrr"] = k.mrr;
  o["coverage"] = k.coverage;
  o["ranked_users"] = k.users;
  o["train_seconds"] = r.train_seconds;
  return o;
}

std::string FoldTable(const std::vector<FoldResult>& folds, size_t k) {
  auto row = [](const std::string& name, const engine::EvalResult& r) {
    return std::vector<std::string>{name,
                                    RatingCell(r, r.rating.rmse),
                                    RatingCell(r, r.rating.mae),
                                    Fixed(r.ranking.precision),
                                    Fixed(r.ranking.recall),
                                    Fixed(r.ranking.ndcg),
                                    Fixed(r.ranking.map),
                                    Fixed(r.ranking.hit_rate),
                                    Fixed(r.ranking.coverage),
                                    Fixed(r.train_seconds, 1)};
  };
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : folds) rows.push_back(row(f.name, f.result));
  if (folds.size() > 1) rows.push_back(row("mean", MeanOfFolds(folds)));
  return FormatTable({"fold", "RMSE", "MAE", fmt::format("P@{}", k), fmt::format("R@{}", k),
                      fmt::format("NDCG@{}", k), fmt::format("MAP@{}", k), fmt::format("HR@{}", k),
                      "coverage", "train s"},
                     rows) +
         MapDefinition(k) + "\n";
}

std::string MapDefinition(size_t k) {
  return fmt::format(
      "MAP@{0}: the mean over test users of AP@{0} = sum of P@r at each hit r <= {0}, divided "
      "by min({0}, the user's relevant items); tables that divide by the relevant items alone "
      "report lower figures.",
      k);
}

void SortByNdcg(std::vector<AlgorithmResult>* results) {
  std::stable_sort(results->begin(), results->end(), [](const auto& a, const auto& b) {
    return a.mean.ranking.ndcg > b.mean.ranking.ndcg;
  });
}

std::string CompareTable(const std::vector<AlgorithmResult>& results, size_t k) {
  return FormatTable(CompareHeader(k), CompareRows(results)) + MapDefinition(k) + "\n";
}

json::array CompareJson(const std::vector<AlgorithmResult>& results) {
  json::array arr;
  for (size_t n = 0; n < results.size(); ++n) {
    json::object o = MetricsJson(results[n].mean);
    o["algorithm"] = Name(results[n].algorithm);
    o["place"] = n + 1;
    o["folds"] = results[n].folds.size();
    arr.push_back(std::move(o));
  }
  return arr;
}

Status WriteEvalReport(const std::string& path, std::string_view subtitle,
                       const std::vector<AlgorithmResult>& results, size_t k) {
  HtmlReport report("streamrec eval");
  report.AddParagraph(subtitle);
  report.AddHeading("Results");
  report.AddTable(CompareHeader(k), CompareRows(results));

  BarChart ranking;
  ranking.title = fmt::format("Ranking quality per algorithm (full catalog, K = {})", k);
  ranking.y_label = "metric";
  ranking.value_decimals = 3;
  const std::vector<std::pair<std::string, double engine::RankingMetrics::*>> metrics = {
      {fmt::format("NDCG@{}", k), &engine::RankingMetrics::ndcg},
      {fmt::format("P@{}", k), &engine::RankingMetrics::precision},
      {fmt::format("R@{}", k), &engine::RankingMetrics::recall},
      {fmt::format("MAP@{}", k), &engine::RankingMetrics::map}};
  for (const auto& r : results) ranking.categories.push_back(Name(r.algorithm));
  for (const auto& [label, field] : metrics) {
    BarSeries s{label, {}};
    for (const auto& r : results) s.values.push_back(r.mean.ranking.*field);
    ranking.series.push_back(std::move(s));
  }
  report.AddBarChart(ranking);

  BarChart hits = ranking;
  hits.title = fmt::format("Hit rate, MRR and catalog coverage (K = {})", k);
  hits.series = {{fmt::format("HR@{}", k), {}}, {fmt::format("MRR@{}", k), {}}, {"coverage", {}}};
  for (const auto& r : results) {
    hits.series[0].values.push_back(r.mean.ranking.hit_rate);
    hits.series[1].values.push_back(r.mean.ranking.mrr);
    hits.series[2].values.push_back(r.mean.ranking.coverage);
  }
  report.AddBarChart(hits);

  BarChart seconds;
  seconds.title = "Training time";
  seconds.y_label = "seconds";
  seconds.value_decimals = 2;
  seconds.categories = ranking.categories;
  seconds.series = {{"train s", {}}};
  for (const auto& r : results) seconds.series[0].values.push_back(r.mean.train_seconds);
  report.AddBarChart(seconds);

  BarChart rmse;
  rmse.title = "Rating error (rating models only)";
  rmse.y_label = "RMSE";
  for (const auto& r : results) {
    if (!r.mean.has_rating_metrics) continue;
    rmse.categories.push_back(Name(r.algorithm));
    if (rmse.series.empty()) rmse.series = {{"RMSE", {}}};
    rmse.series[0].values.push_back(r.mean.rating.rmse);
  }
  if (!rmse.categories.empty()) report.AddBarChart(rmse);

  report.AddHeading("Training loss per epoch");
  bool any = false;
  for (const auto& r : results) {
    const auto& epochs = r.mean.epoch_train_rmse;
    if (epochs.size() < 2) continue;  // a single pass is no curve
    any = true;
    LineChart c;
    c.title = fmt::format("{}: {} per epoch", Name(r.algorithm), r.mean.epoch_metric);
    c.x_label = "epoch";
    c.y_label = std::string(r.mean.epoch_metric);
    c.markers = epochs.size() <= 60;
    c.height = 260;
    Series s{Name(r.algorithm), {}, epochs, {}};
    for (size_t e = 0; e < epochs.size(); ++e) s.x.push_back(static_cast<double>(e + 1));
    c.series.push_back(std::move(s));
    report.AddLineChart(c);
  }
  if (!any) report.AddParagraph("No algorithm here trains in several epochs.");
  return report.Write(path);
}

}  // namespace streamrec::tools
