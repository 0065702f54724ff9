// `streamrec eval`: train on official folds or a seeded random split and
// report rating error and full-catalog ranking quality.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "http/api_json.h"
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
                      {"mean", MetricsJson(result.mean)},
                      {"map_definition", MapDefinition(o.k)}};
    std::cout << http::SerializeJson(root) << "\n";
    return;
  }
  fmt::print("algorithm {} rank {}; ranking over the full catalog, training items excluded\n",
             flags.algorithm, o.model.rank);
  std::cout << FoldTable(result.folds, o.k);
}

void ReportComparison(const std::vector<AlgorithmResult>& results, const ModelFlags& flags,
                      const std::string& what, bool as_json) {
  if (as_json) {
    std::cout << http::SerializeJson(CompareJson(results)) << "\n";
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

struct EvalFlags {
  std::string data;        // a MovieLens directory, a ratings or event file, "-"
  std::string folds_spec;  // --folds: "u1..u5", "ua,ub"
  std::string split_spec;  // --split: "75/25"
  std::string train_path;  // --train and --test: a fixed split in two files
  std::string test_path;
  std::string compare_spec;  // --compare: a list, or "all"
  std::string report_path;   // HTML report; empty: none
  std::string config_path;
  uint64_t split_seed = 42;
  bool as_json = false;
  ModelFlags model;
  // Set by ValidateEval: --compare's algorithms, else the one of --algo.
  std::vector<engine::Algorithm> algorithms;
};

// Returns the exit code to stop with, or nullopt to go on.
std::optional<int> ParseEval(int argc, const char* const* argv, EvalFlags* f) {
  if (Status st = ApplyConfigFromArgs(argc, argv, &f->model, &f->config_path); !st.ok()) {
    return Usage(kEval, st.message());
  }
  po::options_description desc(
      "streamrec eval: train and evaluate a model offline\n\n"
      "  streamrec eval --data ../shared/data/ml-100k --folds u1..u5\n"
      "  streamrec eval --data ratings.csv --split 75/25 --seed 42 --json\n"
      "  streamrec eval --train train.events --test test.events\n"
      "  streamrec eval --data ../shared/data/ml-100k --split 75/25 --compare all\n\nOptions");
  desc.add_options()("help,h", "show this help")(
      "data", po::value(&f->data),
      "a MovieLens directory, a ratings file, a streamrec event file, or - for stdin")(
      "folds", po::value(&f->folds_spec),
      "official folds in --data: NAME.base trains, NAME.test tests (e.g. u1..u5, ua,ub)")(
      "split", po::value(&f->split_spec), "random TRAIN/TEST split of all of --data, e.g. 75/25")(
      "train", po::value(&f->train_path),
      "a fixed split: train on this file (any format --data reads), test on --test")(
      "test", po::value(&f->test_path), "the test file of --train")(
      "seed", Defaulted(&f->split_seed), "seed of the --split shuffle")(
      "json", po::bool_switch(&f->as_json),
      "print JSON instead of a table (with --compare: an array, "
      "best first)")(
      "compare", po::value(&f->compare_spec),
      "evaluate these algorithms on the same split and rank them by NDCG@K: a comma-separated "
      "list (sgd,als,online,bpmf,ials,bpr,popular,random) or all")(
      "report", po::value(&f->report_path),
      "also write a self-contained HTML report (metrics per algorithm, loss per epoch) here");
  AddModelFlags(&desc, &f->model);
  po::variables_map vm;
  return ParseCommandLine(kEval, argc, argv, desc, nullptr, &vm);
}

// Every problem is bad usage (InvalidArgument), whatever its code.
Status ValidateEval(EvalFlags* f) {
  if (f->train_path.empty() != f->test_path.empty()) {
    return Status::InvalidArgument("--train and --test go together");
  }
  const bool fixed = !f->train_path.empty();
  if (fixed) {
    if (!f->data.empty() || !f->folds_spec.empty() || !f->split_spec.empty()) {
      return Status::InvalidArgument("--train/--test replace --data, --folds and --split");
    }
  } else {
    if (f->data.empty()) return Status::InvalidArgument("--data is required (or --train/--test)");
    if (f->folds_spec.empty() == f->split_spec.empty()) {
      return Status::InvalidArgument("give exactly one of --folds or --split (or --train/--test)");
    }
  }
  if (Status st = FinishModelFlags(&f->model); !st.ok()) {
    return Status::InvalidArgument(st.message());
  }
  if (!f->compare_spec.empty()) {
    auto list = ParseAlgorithmList(f->compare_spec);
    if (!list.ok()) return Status::InvalidArgument(list.status().message());
    f->algorithms = std::move(list).value();
  }
  if (f->algorithms.empty()) f->algorithms.push_back(f->model.options.algorithm);
  return Status::OK();
}

// --folds: NAME.base and NAME.test in --data for each fold. Every error is
// InvalidArgument (bad input).
StatusOr<std::vector<NamedSplit>> LoadFolds(const EvalFlags& f) {
  StatusOr<std::vector<std::string>> folds = ParseFolds(f.folds_spec);
  if (!folds.ok()) return Status::InvalidArgument(folds.status().message());
  std::vector<NamedSplit> splits;
  for (const std::string& name : *folds) {
    const auto base = (std::filesystem::path(f.data) / (name + ".base")).string();
    const auto test = (std::filesystem::path(f.data) / (name + ".test")).string();
    auto train_events = ReadRatingsFile(base);
    if (!train_events.ok()) return Status::InvalidArgument(train_events.status().message());
    auto test_events = ReadRatingsFile(test);
    if (!test_events.ok()) return Status::InvalidArgument(test_events.status().message());
    auto s = MakeSplit(name, *train_events, *test_events);
    if (!s.ok()) return Status::InvalidArgument(s.status().message());
    splits.push_back(std::move(s).value());
  }
  return splits;
}

// --split: all of --data, shuffled with --seed. Every error is
// InvalidArgument (bad input).
StatusOr<std::vector<NamedSplit>> LoadRandomSplit(const EvalFlags& f) {
  StatusOr<double> frac = ParseSplit(f.split_spec);
  if (!frac.ok()) return Status::InvalidArgument(frac.status().message());
  auto events = LoadEvents(f.data);
  if (!events.ok()) return Status::InvalidArgument(events.status().message());
  auto [train, test] = RandomSplit(std::move(events).value(), *frac, f.split_seed);
  auto s = MakeSplit(f.split_spec, train, test);
  if (!s.ok()) return Status::InvalidArgument(s.status().message());
  std::vector<NamedSplit> splits;
  splits.push_back(std::move(s).value());
  return splits;
}

// --train and --test: two files, each in any format LoadEvents reads. Every
// error is InvalidArgument (bad input).
StatusOr<std::vector<NamedSplit>> LoadFixedSplit(const EvalFlags& f) {
  auto train = LoadEvents(f.train_path);
  if (!train.ok()) return Status::InvalidArgument(train.status().message());
  auto test = LoadEvents(f.test_path);
  if (!test.ok()) return Status::InvalidArgument(test.status().message());
  if (train->empty() || test->empty()) {
    return Status::InvalidArgument(
        fmt::format("{} is empty", train->empty() ? f.train_path : f.test_path));
  }
  auto s = MakeSplit("train/test", *train, *test);
  if (!s.ok()) return Status::InvalidArgument(s.status().message());
  std::vector<NamedSplit> splits;
  splits.push_back(std::move(s).value());
  return splits;
}

// Prints the results (and writes --report); returns the exit code.
int ReportEval(const EvalFlags& f, std::vector<AlgorithmResult> results) {
  const std::string what =
      !f.train_path.empty() ? fmt::format("train {}, test {}", f.train_path, f.test_path)
      : f.folds_spec.empty()
          ? fmt::format("{} split {} (seed {})", f.data, f.split_spec, f.split_seed)
          : fmt::format("{} folds {}", f.data, f.folds_spec);
  if (f.compare_spec.empty()) {
    Report(results.front(), f.model, f.as_json);
  } else {
    SortByNdcg(&results);
    ReportComparison(results, f.model, what, f.as_json);
  }
  if (f.report_path.empty()) return kExitOk;
  const std::string subtitle =
      fmt::format("{}; rank {}; ranking over the full catalog, training items excluded.", what,
                  f.model.options.model.rank);
  if (Status st = WriteEvalReport(f.report_path, subtitle, results, f.model.options.k); !st.ok()) {
    return Failure(kEval, st.message());
  }
  if (!f.as_json) fmt::print("report written to {}\n", f.report_path);
  return kExitOk;
}

int ExecuteEval(const EvalFlags& f) {
  auto splits = !f.train_path.empty()  ? LoadFixedSplit(f)
                : f.folds_spec.empty() ? LoadRandomSplit(f)
                                       : LoadFolds(f);
  if (!splits.ok()) return Fail(kEval, splits.status());
  std::vector<AlgorithmResult> results;
  for (engine::Algorithm a : f.algorithms) {
    engine::EvalOptions options = f.model.options;
    options.algorithm = a;
    auto r = Evaluate(*splits, options);
    if (!r.ok()) return Fail(kEval, r.status());
    results.push_back(std::move(r).value());
  }
  return ReportEval(f, std::move(results));
}

}  // namespace

int RunEval(int argc, const char* const* argv) {
  EvalFlags f;
  if (auto rc = ParseEval(argc, argv, &f)) return *rc;
  if (Status st = ValidateEval(&f); !st.ok()) return Fail(kEval, st);
  return ExecuteEval(f);
}

}  // namespace streamrec::tools
