// `streamrec eval`: train on official folds or a seeded random split and
// report rating error and full-catalog ranking quality.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>

#include "tools/cli/cli_util.h"
#include "tools/cli/command_line.h"
#include "tools/commands/commands.h"
#include "tools/config/model_flags.h"
#include "tools/data/dataset.h"
#include "tools/data/importers.h"
#include "tools/eval/eval_output.h"

namespace streamrec::tools {
namespace {

namespace po = boost::program_options;
namespace json = boost::json;

// One fold's data, mapped to dense ids once and shared by every algorithm
// a comparison runs.
struct NamedSplit {
  std::string name;
  engine::EvalSplit split;
};

StatusOr<NamedSplit> MakeSplit(const std::string& name, const std::vector<EventRecord>& train,
                               const std::vector<EventRecord>& test) {
  const engine::EventTypes types = engine::EventTypes::Defaults();
  StatusOr<DenseSplit> dense = BuildSplit(train, test, types);
  if (!dense.ok()) return dense.status();
  return NamedSplit{name, std::move(dense->split)};
}

StatusOr<AlgorithmResult> Evaluate(const std::vector<NamedSplit>& splits,
                                   const engine::EvalOptions& options) {
  AlgorithmResult out;
  out.algorithm = options.algorithm;
  for (const NamedSplit& s : splits) {
    ProgressBar bar(
        fmt::format("{} {}: training", engine::AlgorithmName(options.algorithm), s.name));
    auto r = engine::EvaluateSplit(s.split, options, [&](size_t d, size_t t) { bar.Update(d, t); });
    bar.Finish();
    if (!r.ok()) return r.status();
    out.folds.push_back({s.name, std::move(r).value()});
  }
  out.mean = MeanOfFolds(out.folds);
  return out;
}

void Report(const AlgorithmResult& result, const ModelFlags& flags, bool as_json) {
  const auto& o = flags.options;
  if (as_json) {
    json::array arr;
    for (const auto& f : result.folds) {
      json::object obj = MetricsJson(f.result);
      obj["fold"] = f.name;
      arr.push_back(std::move(obj));
    }
    json::object root{{"algorithm", flags.algorithm},
                      {"rank", o.model.rank},
                      {"folds", std::move(arr)},
                      {"mean", MetricsJson(result.mean)}};
    std::cout << json::serialize(root) << "\n";
    return;
  }
  fmt::print("algorithm {} rank {}; ranking over the full catalog, training items excluded\n",
             flags.algorithm, o.model.rank);
  std::cout << FoldTable(result.folds, o.k);
}

void ReportComparison(const std::vector<AlgorithmResult>& results, const ModelFlags& flags,
                      const std::string& what, bool as_json) {
  if (as_json) {
    std::cout << json::serialize(CompareJson(results)) << "\n";
    return;
  }
  fmt::print(
      "{}, rank {}: ranked by NDCG@{} over the full catalog, training items excluded; "
      "RMSE for rating models only\n",
      what, flags.options.model.rank, flags.options.k);
  std::cout << CompareTable(results, flags.options.k);
}

// Bad input (malformed data, unknown event types) is exit 2; anything else
// that fails while training is a runtime failure, exit 1.
constexpr std::string_view kEval = "eval";

}  // namespace

int RunEval(int argc, const char* const* argv) {
  std::string data, folds_spec, split_spec, compare_spec, report_path;
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
      "  streamrec eval --data ratings.csv --split 75/25 --seed 42 --json\n"
      "  streamrec eval --data ../shared/data/ml-100k --split 75/25 --compare all\n\nOptions");
  desc.add_options()("help,h", "show this help")(
      "data", po::value(&data),
      "a MovieLens directory, a ratings file, a streamrec event file, or - for stdin")(
      "folds", po::value(&folds_spec),
      "official folds in --data: NAME.base trains, NAME.test tests (e.g. u1..u5, ua,ub)")(
      "split", po::value(&split_spec), "random TRAIN/TEST split of all of --data, e.g. 75/25")(
      "seed", po::value(&split_seed)->default_value(split_seed), "seed of the --split shuffle")(
      "json", po::bool_switch(&as_json),
      "print JSON instead of a table (with --compare: an array, best first)")(
      "compare", po::value(&compare_spec),
      "evaluate these algorithms on the same split and rank them by NDCG@K: a comma-separated "
      "list (sgd,als,online,bpmf,ials,bpr,popular,random) or all")(
      "report", po::value(&report_path),
      "also write a self-contained HTML report (metrics per algorithm, loss per epoch) here");
  AddModelFlags(&desc, &flags);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(kEval, argc, argv, desc, nullptr, &vm)) return *rc;
  auto usage = [](const std::string& msg) {
    fmt::print(stderr, "streamrec eval: {}\n", msg);
    return 2;
  };
  if (data.empty()) return usage("--data is required");
  if (folds_spec.empty() == split_spec.empty()) {
    return usage("give exactly one of --folds or --split");
  }
  if (Status st = FinishModelFlags(&flags); !st.ok()) return usage(st.message());

  std::vector<engine::Algorithm> compare;
  if (!compare_spec.empty()) {
    auto list = ParseAlgorithmList(compare_spec);
    if (!list.ok()) return usage(list.status().message());
    compare = std::move(list).value();
  }

  std::vector<NamedSplit> splits;
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
      auto s = MakeSplit(f, *train_events, *test_events);
      if (!s.ok()) return usage(s.status().message());
      splits.push_back(std::move(s).value());
    }
  } else {
    StatusOr<double> frac = ParseSplit(split_spec);
    if (!frac.ok()) return usage(frac.status().message());
    auto events = LoadEvents(data);
    if (!events.ok()) return usage(events.status().message());
    auto [train, test] = RandomSplit(std::move(events).value(), *frac, split_seed);
    auto s = MakeSplit(split_spec, train, test);
    if (!s.ok()) return usage(s.status().message());
    splits.push_back(std::move(s).value());
  }
  const std::string what = folds_spec.empty()
                               ? fmt::format("{} split {} (seed {})", data, split_spec, split_seed)
                               : fmt::format("{} folds {}", data, folds_spec);

  std::vector<AlgorithmResult> results;
  if (compare.empty()) compare.push_back(flags.options.algorithm);
  for (engine::Algorithm a : compare) {
    engine::EvalOptions options = flags.options;
    options.algorithm = a;
    auto r = Evaluate(splits, options);
    if (!r.ok()) return Fail(kEval, r.status());
    results.push_back(std::move(r).value());
  }
  if (compare_spec.empty()) {
    Report(results.front(), flags, as_json);
  } else {
    SortByNdcg(&results);
    ReportComparison(results, flags, what, as_json);
  }
  if (!report_path.empty()) {
    const std::string subtitle =
        fmt::format("{}; rank {}; ranking over the full catalog, training items excluded.", what,
                    flags.options.model.rank);
    if (Status st = WriteEvalReport(report_path, subtitle, results, flags.options.k); !st.ok()) {
      fmt::print(stderr, "streamrec eval: {}\n", st.message());
      return 1;
    }
    if (!as_json) fmt::print("report written to {}\n", report_path);
  }
  return 0;
}

}  // namespace streamrec::tools
