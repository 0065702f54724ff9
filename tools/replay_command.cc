// `streamrec replay`: rebuild a model from a database's log, then write it
// as a snapshot or evaluate it prequentially (predict each rating before
// learning it, in log order: what the live model would have scored).
#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>

#include "engine/metrics.h"
#include "storage/event_log.h"
#include "storage/recovery.h"
#include "tools/commands.h"
#include "tools/config.h"

namespace streamrec::tools {
namespace {

namespace po = boost::program_options;
namespace json = boost::json;

int Fail(const Status& st) {
  fmt::print(stderr, "streamrec replay: {}\n", st.message());
  return st.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

// Replays [from, to] into `rec` from scratch, scoring each explicit rating
// with the model as it stood just before the event.
Status Prequential(const storage::EventLog& log, uint64_t from, uint64_t to,
                   engine::Recommender* rec, engine::RatingAccumulator* acc, uint64_t* applied,
                   uint64_t* last_seq) {
  Status apply;
  Status scan = log.Scan(from, to, [&](const storage::StoredEvent& e) {
    const auto type = rec->types().Find(e.type);
    if (type && rec->types().spec(*type).explicit_rating) {
      const auto u = rec->users().Find(e.user);
      const auto i = rec->items().Find(e.item);
      // Unknown ids predict from what is known (Predict handles rows
      // beyond the model with μ and the known bias).
      const uint32_t uu = u ? *u : UINT32_MAX, ii = i ? *i : UINT32_MAX;
      const auto& spec = rec->types().spec(*type);
      const float p = std::clamp(rec->learner().Predict(uu, ii), spec.min_value, spec.max_value);
      acc->Add(p, e.value);
    }
    apply = storage::ApplyStored(e, rec);
    if (!apply.ok()) return false;
    ++*applied;
    *last_seq = e.seq;
    return true;
  });
  STREAMREC_RETURN_IF_ERROR(scan);
  return apply;
}

}  // namespace

int RunReplay(int argc, const char* const* argv) {
  std::string db, config_path;
  uint64_t from = 1, to = UINT64_MAX;
  bool snapshot = false, evaluate = false;
  po::options_description desc(
      "streamrec replay: rebuild the model from a database's event log\n\n"
      "  streamrec replay --db DIR                  newest snapshot + the log after it\n"
      "  streamrec replay --db DIR --snapshot       ... then store the result as a snapshot\n"
      "  streamrec replay --db DIR --evaluate       from scratch, scoring each rating before\n"
      "                                             learning it (prequential RMSE/MAE)\n"
      "  streamrec replay --db DIR --from 1 --to N  only events 1..N\n\nOptions");
  desc.add_options()("help,h", "show this help")("db", po::value(&db), "database directory")(
      "from", po::value(&from), "first seq (from scratch, no snapshot)")(
      "to", po::value(&to), "last seq")("config", po::value(&config_path),
                                        "configuration file (model and learner settings)")(
      "snapshot", po::bool_switch(&snapshot), "store the rebuilt model as the newest snapshot")(
      "evaluate", po::bool_switch(&evaluate), "prequential evaluation of the online model");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "streamrec replay: {}\n", e.what());
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (db.empty()) return Fail(Status::InvalidArgument("--db is required"));
  if (from == 0 || from > to) return Fail(Status::InvalidArgument("need 1 <= --from <= --to"));
  if (snapshot && from != 1) {
    return Fail(Status::InvalidArgument(
        "--snapshot needs the whole log from seq 1: a model of a slice is not the database's"));
  }
  Config config;
  if (!config_path.empty()) {
    auto loaded = LoadConfig(config_path);
    if (!loaded.ok()) return Fail(loaded.status());
    config = std::move(loaded).value();
  }
  storage::EventLogOptions lo;
  lo.create_if_missing = false;
  auto log = storage::EventLog::Open(db, lo);
  if (!log.ok()) return Fail(log.status());
  engine::Recommender rec(config.recommender, engine::EventTypes::Defaults());
  json::object out;
  const auto t0 = std::chrono::steady_clock::now();
  uint64_t applied = 0, last_seq = 0;
  if (evaluate || vm.count("from")) {
    engine::RatingAccumulator acc;
    Status st = Prequential(**log, from, to, &rec, &acc, &applied, &last_seq);
    if (!st.ok()) return Fail(st);
    if (evaluate) {
      const engine::RatingMetrics m = acc.Result();
      out["prequential"] = {{"ratings", m.count}, {"rmse", m.rmse}, {"mae", m.mae}};
    }
    out["snapshot_seq"] = 0;
  } else {
    auto r = storage::Recover(**log, &rec, to);
    if (!r.ok()) return Fail(r.status());
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
  if (snapshot && last_seq > 0) {
    Status st = storage::WriteSnapshot(log->get(), rec, last_seq);
    if (!st.ok()) return Fail(st);
    out["snapshot_written"] = last_seq;
  }
  std::cout << json::serialize(out) << "\n";
  return 0;
}

}  // namespace streamrec::tools
