// `streamrec replay`: rebuild a model from a database's log and write it as
// a snapshot, or evaluate prequentially (predict each event before learning
// it, in log order: what the live model would have shown) a database or a
// time-ordered event file: ranking (HR/NDCG/MRR@K of online, retrained,
// popularity and random), rating error, and drift (tools/eval/replay_evaluate.h).
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>
#include <optional>
#include <sstream>

#include "engine/eval/evaluation.h"
#include "http/api_json.h"
#include "storage/event_log.h"
#include "storage/recovery.h"
#include "tools/cli/command_line.h"
#include "tools/commands/commands.h"
#include "tools/config/config.h"
#include "tools/data/event_file.h"
#include "tools/eval/replay_evaluate.h"

namespace streamrec::tools {
namespace {

namespace po = boost::program_options;
namespace json = boost::json;

constexpr std::string_view kReplay = "replay";

// Replays [from, to] into `rec` from scratch.
Status ReplayRange(const storage::EventLog& log, uint64_t from, uint64_t to,
                   engine::Recommender* rec, uint64_t* applied, uint64_t* last_seq) {
  Status apply;
  Status scan = log.Scan(from, to, [&](const storage::StoredEvent& e) {
    apply = storage::ApplyStored(e, rec);
    if (!apply.ok()) return false;
    ++*applied;
    *last_seq = e.seq;
    return true;
  });
  STREAMREC_RETURN_IF_ERROR(scan);
  return apply;
}

// The events [from, to] of a log, in log order.
Status LoadLog(const storage::EventLog& log, uint64_t from, uint64_t to,
               std::vector<EventRecord>* events, uint64_t* last_seq) {
  return log.Scan(from, to, [&](const storage::StoredEvent& e) {
    events->push_back({e.ts_ms, e.user, e.item, e.type, e.value});
    *last_seq = e.seq;
    return true;
  });
}

// Events whose time is earlier than the one before them.
size_t OutOfOrder(const std::vector<EventRecord>& events) {
  size_t n = 0;
  for (size_t i = 1; i < events.size(); ++i) n += events[i].ts_ms < events[i - 1].ts_ms;
  return n;
}

struct Flags {
  std::string db, events_path, config_path, report,
      methods = "online,retrained,retrained+fold-in,popularity,random";
  std::string algo, objective;
  std::optional<float> exploration_share;
  uint64_t from = 1, to = UINT64_MAX;
  bool snapshot = false, evaluate = false, json = false, sort_by_time = false;
  bool count_repeats = false;
  bool from_given = false;  // --from on the command line: replay from scratch
  ReplayEvalOptions eval;
};

void AddFlags(po::options_description* desc, Flags* f) {
  engine::PrequentialOptions& p = f->eval.prequential;
  desc->add_options()("help,h", "show this help")("db", po::value(&f->db), "database directory")(
      "events", po::value(&f->events_path), "event file to evaluate instead of a database")(
      "from", po::value(&f->from), "first seq (from scratch, no snapshot)")(
      "to", po::value(&f->to), "last seq")("config", po::value(&f->config_path),
                                           "configuration file (model and learner settings)")(
      "snapshot", po::bool_switch(&f->snapshot), "store the rebuilt model as the newest snapshot")(
      "evaluate", po::bool_switch(&f->evaluate), "prequential evaluation (see above)")(
      "k", po::value(&p.k)->default_value(10), "list length K")(
      "methods", Defaulted(&f->methods),
      "comma-separated: online, retrained, retrained+fold-in, online+retrain, popularity, "
      "random")("retrain-every", po::value(&p.retrain_every)->default_value(10000),
                "batch retrain after every N events (0: no retrained methods)")(
      "algo", po::value(&f->algo), "batch algorithm of the retrains (default: [training])")(
      "objective", po::value(&f->objective),
      "what the online model learns: rating or implicit (default: [model] objective); "
      "with --objective and no --algo the retrains use als, ials or bpr to match")(
      "window", po::value(&p.window)->default_value(5000),
      "events per point of the HR@K-over-time and drift series")(
      "sample-every", po::value(&p.sample_every)->default_value(1),
      "score one in N eligible events (faster; all events are still learned)")(
      "count-repeats", po::bool_switch(&f->count_repeats),
      "score events of an item the user already has (as misses) instead of skipping them")(
      "seed", po::value(&p.seed)->default_value(1), "seed of the random baseline")(
      "exploration-share", po::value<float>()->notifier([f](float v) { f->exploration_share = v; }),
      "give this share of the online lists to the newest items (default: [model] "
      "exploration_share)")(
      "diversity", po::value(&p.online_rules.diversity)->default_value(0.0f, "0"),
      "re-rank the online methods' lists by maximal marginal relevance with this weight (0..1)")(
      "max-per-category", po::value(&p.online_rules.max_per_category)->default_value(0),
      "at most N items of one category in the online methods' lists (0: no cap)")(
      "drift-top", po::value(&f->eval.drift.top_n)->default_value(50),
      "values per id dimension with a drift bucket of their own (the rest: 'other')")(
      "reference", po::value(&f->eval.reference_fraction)->default_value(0.5),
      "share of the stream (from its start) that is the drift reference")(
      "sort-by-time", po::bool_switch(&f->sort_by_time),
      "replay the event file in timestamp order (stable) instead of file order")(
      "json", po::bool_switch(&f->json), "print the evaluation as one JSON object")(
      "report", po::value(&f->report), "write an HTML report with charts to this file");
}

Status ParseMethods(const std::string& list, std::vector<engine::PrequentialMethod>* out) {
  out->clear();
  std::stringstream in(list);
  std::string name;
  while (std::getline(in, name, ',')) {
    if (name.empty()) continue;
    auto m = engine::ParsePrequentialMethod(name);
    if (!m.ok()) return m.status();
    if (std::find(out->begin(), out->end(), *m) == out->end()) out->push_back(*m);
  }
  if (out->empty()) return Status::InvalidArgument("--methods names no method");
  return Status::OK();
}

std::string CommandLine(int argc, const char* const* argv) {
  std::string s = "streamrec replay";  // argv[0] is "replay"
  for (int i = 1; i < argc; ++i) s += fmt::format(" {}", argv[i]);
  return s;
}

// --evaluate: load the events, replay them through every method, print.
int Evaluate(Flags& f, const Config& config) {
  std::vector<EventRecord> events;
  json::object db_fields;
  if (!f.db.empty()) {
    storage::EventLogOptions lo;
    lo.create_if_missing = false;
    auto log = storage::EventLog::Open(f.db, lo);
    if (!log.ok()) return Fail(kReplay, log.status());
    uint64_t last_seq = 0;
    if (Status st = LoadLog(**log, f.from, f.to, &events, &last_seq); !st.ok())
      return Fail(kReplay, st);
    db_fields = {{"replayed", events.size()}, {"last_seq", last_seq}, {"snapshot_seq", 0}};
    f.eval.source = fmt::format("database {} (seq {}..{})", f.db, f.from, last_seq);
  } else {
    auto loaded = ReadEventFile(f.events_path);
    if (!loaded.ok()) return Fail(kReplay, loaded.status());
    events = std::move(loaded).value();
    f.eval.source = f.events_path;
  }
  const size_t disorder = OutOfOrder(events);
  if (f.sort_by_time) {
    std::stable_sort(events.begin(), events.end(),
                     [](const EventRecord& a, const EventRecord& b) { return a.ts_ms < b.ts_ms; });
    f.eval.source += " in timestamp order";
  } else if (disorder > 0) {
    fmt::print(stderr,
               "streamrec replay: warning: {} of {} events are earlier than the event before "
               "them; replaying in {} order{}\n",
               disorder, events.size(), f.db.empty() ? "file" : "log",
               f.db.empty() ? " (--sort-by-time replays in time order)" : "");
    f.eval.source += f.db.empty() ? " in file order" : "";
  }
  auto result = EvaluateReplay(events, config.recommender, config.types, f.eval);
  if (!result.ok()) return Fail(kReplay, result.status());
  if (!f.report.empty()) {
    if (Status st = WriteReplayReport(*result, f.eval, f.report); !st.ok())
      return Fail(kReplay, st);
  }
  if (f.json) {
    json::object out = ReplayEvalJson(*result, f.eval);
    for (auto& [k, v] : db_fields) out[k] = v;
    std::cout << http::SerializeJson(out) << "\n";
  } else {
    PrintReplayTable(*result, f.eval, stdout);
    if (!f.report.empty()) fmt::print("\nreport written to {}\n", f.report);
  }
  return 0;
}

// Returns the exit code to stop with, or nullopt to go on.
std::optional<int> ParseReplay(int argc, const char* const* argv, Flags* f) {
  po::options_description desc(
      "streamrec replay: rebuild the model from a database's event log, or evaluate it\n\n"
      "  streamrec replay --db DIR                  newest snapshot + the log after it\n"
      "  streamrec replay --db DIR --snapshot       ... then store the result as a snapshot\n"
      "  streamrec replay --db DIR --from 1 --to N  only events 1..N, from scratch\n"
      "  streamrec replay --db DIR --evaluate       prequential evaluation of the log\n"
      "  streamrec replay --events F --evaluate     ... of an event file (--sort-by-time)\n\n"
      "--evaluate: for each event in order, each method ranks the full catalog for the user\n"
      "(seen items excluded) and scores HR/NDCG/MRR@K on the event's item, then learns it.\n"
      "Methods: the online model; the same model retrained in batch every N events and frozen\n"
      "in between (users it did not model answered with popular items), and the same with\n"
      "those users folded in from their events against its item vectors (retrained+fold-in,\n"
      "as the server does); online+retrain (the online model with each retrain installed);\n"
      "time-decayed popularity; random. Events of items never seen before are not scored (cold "
      "items),\n"
      "nor repeats of an item the user already has (unless --count-repeats). Also: the online\n"
      "model's rating RMSE/MAE, and drift (PSI, KL) of each window against the first part.\n\n"
      "Options");
  AddFlags(&desc, f);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(kReplay, argc, argv, desc, nullptr, &vm)) return rc;
  f->from_given = vm.count("from") > 0;
  f->eval.command_line = CommandLine(argc, argv);
  return std::nullopt;
}

// --evaluate's flags into f->eval.prequential.
Status ValidateEvaluate(const Config& config, Flags* f) {
  engine::PrequentialOptions& p = f->eval.prequential;
  STREAMREC_RETURN_IF_ERROR(ParseMethods(f->methods, &p.methods));
  p.retrain = config.training;
  if (!f->algo.empty()) {
    auto a = engine::ParseAlgorithm(f->algo);
    if (!a.ok()) return Status::InvalidArgument(a.status().message());
    p.retrain.algorithm = *a;
  }
  p.skip_repeats = !f->count_repeats;
  if (p.k == 0 || p.sample_every == 0) {
    return Status::InvalidArgument("--k and --sample-every must be >= 1");
  }
  if (!(p.online_rules.diversity >= 0.0f && p.online_rules.diversity <= 1.0f)) {
    return Status::InvalidArgument("--diversity must be from 0 to 1");
  }
  if (f->eval.drift.top_n == 0) return Status::InvalidArgument("--drift-top must be >= 1");
  return Status::OK();
}

// Checks the flags and loads --config (with --objective) into *config.
Status ValidateReplay(Flags* f, Config* config) {
  if (f->db.empty() && f->events_path.empty()) {
    return Status::InvalidArgument("--db is required (or --events FILE with --evaluate)");
  }
  if (!f->db.empty() && !f->events_path.empty()) {
    return Status::InvalidArgument("--db and --events: give one source");
  }
  if (!f->events_path.empty() && !f->evaluate) {
    return Status::InvalidArgument("--events needs --evaluate (a file has no snapshots)");
  }
  if (f->from == 0 || f->from > f->to) return Status::InvalidArgument("need 1 <= --from <= --to");
  if (f->snapshot && f->from != 1) {
    return Status::InvalidArgument(
        "--snapshot needs the whole log from seq 1: a model of a slice is not the database's");
  }
  if (f->snapshot && f->evaluate) {
    return Status::InvalidArgument(
        "--snapshot and --evaluate: run them separately (the evaluation replays from scratch)");
  }
  *config = DefaultConfig();
  if (!f->config_path.empty()) {
    auto loaded = LoadConfig(f->config_path);
    if (!loaded.ok()) return loaded.status();
    *config = std::move(loaded).value();
  }
  if (!f->objective.empty()) {
    auto o = engine::ParseObjective(f->objective);
    if (!o.ok()) return o.status();
    SetObjective(*o, config);
  }
  if (f->exploration_share) {
    if (!f->evaluate) return Status::InvalidArgument("--exploration-share needs --evaluate");
    config->recommender.exploration.share = *f->exploration_share;
    STREAMREC_RETURN_IF_ERROR(engine::Recommender::ValidateOptions(config->recommender));
  }
  return f->evaluate ? ValidateEvaluate(*config, f) : Status::OK();
}

// Without --evaluate: rebuild the model from the log (from a snapshot
// unless --from), print what was replayed as JSON, and with --snapshot
// store the result.
int Rebuild(const Flags& f, const Config& config) {
  storage::EventLogOptions lo;
  lo.create_if_missing = false;
  auto log = storage::EventLog::Open(f.db, lo);
  if (!log.ok()) return Fail(kReplay, log.status());
  engine::Recommender rec(config.recommender, config.types);
  json::object out;
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t applied = 0, last_seq = 0;
  if (f.from_given) {
    Status st = ReplayRange(**log, f.from, f.to, &rec, &applied, &last_seq);
    if (!st.ok()) return Fail(kReplay, st);
    out["snapshot_seq"] = 0;
  } else {
    auto r = storage::Recover(**log, &rec, f.to);
    if (!r.ok()) return Fail(kReplay, r.status());
    applied = r->replayed;
    last_seq = r->last_seq;
    out["snapshot_seq"] = r->snapshot_seq;
    if (!r->snapshot_skipped.empty()) out["snapshot_skipped"] = r->snapshot_skipped;
  }
  out["replayed"] = applied;
  out["last_seq"] = last_seq;
  out["users"] = rec.users().size();
  out["items"] = rec.items().size();
  out["seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (f.snapshot && last_seq > 0) {
    Status st = storage::WriteSnapshot(log->get(), rec, last_seq);
    if (!st.ok()) return Fail(kReplay, st);
    out["snapshot_written"] = last_seq;
  }
  std::cout << http::SerializeJson(out) << "\n";
  return kExitOk;
}

int ExecuteReplay(Flags* f, const Config& config) {
  return f->evaluate ? Evaluate(*f, config) : Rebuild(*f, config);
}

}  // namespace

int RunReplay(int argc, const char* const* argv) {
  Flags f;
  if (auto rc = ParseReplay(argc, argv, &f)) return *rc;
  Config config;
  if (Status st = ValidateReplay(&f, &config); !st.ok()) return Fail(kReplay, st);
  return ExecuteReplay(&f, config);
}

}  // namespace streamrec::tools
