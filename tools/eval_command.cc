// `streamrec eval`: train on official folds or a seeded random split and
// report rating error and full-catalog ranking quality.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>

#include "tools/cli_util.h"
#include "tools/commands.h"
#include "tools/dataset.h"
#include "tools/importers.h"
#include "tools/model_flags.h"

namespace streamrec::tools {
namespace {

namespace po = boost::program_options;
namespace json = boost::json;

struct FoldResult {
  std::string name;
  engine::EvalResult result;
};

StatusOr<FoldResult> RunFold(const std::string& name, const std::vector<EventRecord>& train,
                             const std::vector<EventRecord>& test, const ModelFlags& flags) {
  const engine::EventTypes types = engine::EventTypes::Defaults();
  StatusOr<DenseSplit> dense = BuildSplit(train, test, types);
  if (!dense.ok()) return dense.status();
  ProgressBar bar(fmt::format("{}: training", name));
  auto r = engine::EvaluateSplit(dense->split, flags.options,
                                 [&](size_t d, size_t t) { bar.Update(d, t); });
  bar.Finish();
  if (!r.ok()) return r.status();
  return FoldResult{name, std::move(r).value()};
}

json::object MetricsJson(const engine::EvalResult& r) {
  const auto& k = r.ranking;
  return {{"rmse", r.rating.rmse},
          {"mae", r.rating.mae},
          {"test_ratings", r.rating.count},
          {"k", k.k},
          {"precision", k.precision},
          {"recall", k.recall},
          {"ndcg", k.ndcg},
          {"map", k.map},
          {"hit_rate", k.hit_rate},
          {"mrr", k.mrr},
          {"coverage", k.coverage},
          {"ranked_users", k.users},
          {"train_seconds", r.train_seconds}};
}

engine::EvalResult Mean(const std::vector<FoldResult>& folds) {
  engine::EvalResult m;
  const double n = static_cast<double>(folds.size());
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

std::vector<std::string> Row(const std::string& name, const engine::EvalResult& r) {
  return {name,
          fmt::format("{:.4f}", r.rating.rmse),
          fmt::format("{:.4f}", r.rating.mae),
          fmt::format("{:.4f}", r.ranking.precision),
          fmt::format("{:.4f}", r.ranking.recall),
          fmt::format("{:.4f}", r.ranking.ndcg),
          fmt::format("{:.4f}", r.ranking.map),
          fmt::format("{:.4f}", r.ranking.hit_rate),
          fmt::format("{:.4f}", r.ranking.coverage),
          fmt::format("{:.1f}", r.train_seconds)};
}

void Report(const std::vector<FoldResult>& folds, const ModelFlags& flags, bool as_json) {
  const engine::EvalResult mean = Mean(folds);
  const auto& o = flags.options;
  if (as_json) {
    json::array arr;
    for (const auto& f : folds) {
      json::object obj = MetricsJson(f.result);
      obj["fold"] = f.name;
      arr.push_back(std::move(obj));
    }
    json::object root{{"algorithm", flags.algorithm},
                      {"rank", o.model.rank},
                      {"folds", std::move(arr)},
                      {"mean", MetricsJson(mean)}};
    std::cout << json::serialize(root) << "\n";
    return;
  }
  const size_t k = o.k;
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : folds) rows.push_back(Row(f.name, f.result));
  if (folds.size() > 1) rows.push_back(Row("mean", mean));
  fmt::print("algorithm {} rank {}; ranking over the full catalog, training items excluded\n",
             flags.algorithm, o.model.rank);
  std::cout << FormatTable({"fold", "RMSE", "MAE", fmt::format("P@{}", k), fmt::format("R@{}", k),
                            fmt::format("NDCG@{}", k), fmt::format("MAP@{}", k),
                            fmt::format("HR@{}", k), "coverage", "train s"},
                           rows);
}

// Bad input (malformed data, unknown event types) is exit 2; anything else
// that fails while training is a runtime failure, exit 1.
int Fail(const Status& st) {
  fmt::print(stderr, "streamrec eval: {}\n", st.message());
  return st.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

}  // namespace

int RunEval(int argc, const char* const* argv) {
  std::string data, folds_spec, split_spec;
  uint64_t split_seed = 42;
  bool as_json = false;
  ModelFlags flags;
  std::string config_path;
  if (Status st = ApplyConfigFromArgs(argc, argv, &flags, &config_path); !st.ok()) {
    fmt::print(stderr, "streamrec eval: {}\n", st.message());
    return 2;
  }
  po::options_description desc(
      "streamrec eval: train and evaluate a model offline\n\n"
      "  streamrec eval --data ../shared/data/ml-100k --folds u1..u5\n"
      "  streamrec eval --data ratings.csv --split 75/25 --seed 42 --json\n\nOptions");
  desc.add_options()("help,h", "show this help")(
      "data", po::value(&data),
      "a MovieLens directory, a ratings file, a streamrec event file, or - for stdin")(
      "folds", po::value(&folds_spec),
      "official folds in --data: NAME.base trains, NAME.test tests (e.g. u1..u5, ua,ub)")(
      "split", po::value(&split_spec), "random TRAIN/TEST split of all of --data, e.g. 75/25")(
      "seed", po::value(&split_seed)->default_value(split_seed), "seed of the --split shuffle")(
      "json", po::bool_switch(&as_json), "print one JSON object instead of a table");
  AddModelFlags(&desc, &flags);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "streamrec eval: {}\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  auto usage = [](const std::string& msg) {
    fmt::print(stderr, "streamrec eval: {}\n", msg);
    return 2;
  };
  if (data.empty()) return usage("--data is required");
  if (folds_spec.empty() == split_spec.empty()) {
    return usage("give exactly one of --folds or --split");
  }
  if (Status st = FinishModelFlags(&flags); !st.ok()) return usage(st.message());

  std::vector<FoldResult> results;
  if (!folds_spec.empty()) {
    StatusOr<std::vector<std::string>> folds = ParseFolds(folds_spec);
    if (!folds.ok()) return usage(folds.status().message());
    for (const std::string& f : *folds) {
      const auto base = (std::filesystem::path(data) / (f + ".base")).string();
      const auto test = (std::filesystem::path(data) / (f + ".test")).string();
      auto train_events = ReadRatingsFile(base);
      if (!train_events.ok()) return usage(train_events.status().message());
      auto test_events = ReadRatingsFile(test);
      if (!test_events.ok()) return usage(test_events.status().message());
      auto r = RunFold(f, *train_events, *test_events, flags);
      if (!r.ok()) return Fail(r.status());
      results.push_back(std::move(r).value());
    }
  } else {
    StatusOr<double> frac = ParseSplit(split_spec);
    if (!frac.ok()) return usage(frac.status().message());
    auto events = LoadEvents(data);
    if (!events.ok()) return usage(events.status().message());
    auto [train, test] = RandomSplit(std::move(events).value(), *frac, split_seed);
    auto r = RunFold(split_spec, train, test, flags);
    if (!r.ok()) return Fail(r.status());
    results.push_back(std::move(r).value());
  }
  Report(results, flags, as_json);
  return 0;
}

}  // namespace streamrec::tools
