// `streamrec log stats|dump|append|verify` and `streamrec replay`: inspect, load
// and replay a streamrec database.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <cmath>
#include <iostream>

#include "engine/metrics.h"
#include "storage/event_log.h"
#include "storage/recovery.h"
#include "storage/verify.h"
#include "tools/cli/command_line.h"
#include "tools/commands/commands.h"
#include "tools/config/config.h"
#include "tools/data/dataset.h"

namespace streamrec::tools {
namespace {

namespace po = boost::program_options;
namespace json = boost::json;

constexpr std::string_view kLog = "log";

StatusOr<storage::Durability> ParseDurability(const std::string& s) {
  if (s == "sync") return storage::Durability::kSync;
  if (s == "process") return storage::Durability::kProcess;
  return Status::InvalidArgument(
      fmt::format("--durability must be 'sync' or 'process', got '{}'", s));
}

StatusOr<std::unique_ptr<storage::EventLog>> OpenExisting(const std::string& db) {
  storage::EventLogOptions o;
  o.create_if_missing = false;
  return storage::EventLog::Open(db, o);
}

json::object EventJson(const storage::StoredEvent& e) {
  return {{"seq", e.seq},   {"event_id", e.event_id}, {"user", e.user}, {"item", e.item},
          {"type", e.type}, {"value", e.value},       {"ts", e.ts_ms}};
}

int RunStats(const std::string& db) {
  auto log = OpenExisting(db);
  if (!log.ok()) return Fail(kLog, log.status());
  auto st = (*log)->Stats();
  if (!st.ok()) return Fail(kLog, st.status());
  const json::object o{{"next_seq", st->next_seq},           {"first_seq", st->first_seq},
                       {"last_seq", st->last_seq},           {"events", st->events},
                       {"snapshot_seq", st->snapshot_seq},   {"snapshots", st->snapshots},
                       {"catalog_items", st->catalog_items}, {"disk_bytes", st->disk_bytes}};
  std::cout << json::serialize(o) << "\n";
  return 0;
}

int RunDump(const std::string& db, uint64_t from, uint64_t to) {
  auto log = OpenExisting(db);
  if (!log.ok()) return Fail(kLog, log.status());
  Status st = (*log)->Scan(from, to, [](const storage::StoredEvent& e) {
    std::cout << json::serialize(EventJson(e)) << "\n";
    return static_cast<bool>(std::cout);
  });
  if (!st.ok()) return Fail(kLog, st);
  return 0;
}

int RunAppend(const std::string& db, const std::string& events_path, size_t batch,
              const std::string& durability, const std::string& id_prefix) {
  auto mode = ParseDurability(durability);
  if (!mode.ok()) return Fail(kLog, mode.status());
  if (batch == 0) return Usage(kLog, "--batch must be >= 1");
  auto events = LoadEvents(events_path);
  if (!events.ok()) return Fail(kLog, events.status());
  storage::EventLogOptions o;
  o.durability = *mode;
  auto log = storage::EventLog::Open(db, o);
  if (!log.ok()) return Fail(kLog, log.status());
  size_t accepted = 0, duplicates = 0;
  std::vector<storage::NewEvent> chunk;
  for (size_t start = 0; start < events->size(); start += batch) {
    chunk.clear();
    for (size_t n = start; n < std::min(events->size(), start + batch); ++n) {
      const EventRecord& r = (*events)[n];
      chunk.push_back({0, id_prefix.empty() ? "" : id_prefix + std::to_string(n), r.user, r.item,
                       r.type, r.value, r.ts_ms});
    }
    auto res = (*log)->Append(chunk);
    if (!res.ok()) return Fail(kLog, res.status());
    accepted += res->accepted;
    duplicates += res->duplicates;
  }
  fmt::print(stderr, "appended {} events ({} duplicates) to {}; next seq {}\n", accepted,
             duplicates, db, (*log)->next_seq());
  return 0;
}

// Exit 0 if every check passes, 1 (each problem on stderr) if not.
int RunVerify(const std::string& db, const std::string& config_path) {
  auto config = config_path.empty() ? StatusOr<Config>(DefaultConfig()) : LoadConfig(config_path);
  if (!config.ok()) return Fail(kLog, config.status());
  auto log = OpenExisting(db);
  storage::VerifyReport r;
  if (log.ok()) {
    r = storage::VerifyDatabase(**log, config->recommender, config->types);
  } else if (log.status().code() == StatusCode::kCorruption) {
    // Damage RocksDB finds on open (a table file's index or footer) is a
    // finding like the others.
    r.problems.push_back(log.status().ToString());
  } else {
    return Fail(kLog, log.status());
  }
  json::array problems;
  for (const auto& p : r.problems) problems.emplace_back(p);
  const json::object o{
      {"ok", r.problems.empty()},         {"events", r.events},
      {"snapshots", r.snapshots},         {"snapshots_other_settings", r.snapshots_foreign},
      {"catalog_items", r.catalog_items}, {"problems", std::move(problems)}};
  std::cout << json::serialize(o) << "\n";
  for (const auto& p : r.problems) fmt::print(stderr, "streamrec log verify: {}: {}\n", db, p);
  return r.problems.empty() ? 0 : 1;
}

}  // namespace

int RunLog(int argc, const char* const* argv) {
  std::string what, db, events, durability = "sync", id_prefix, config_path;
  uint64_t from = 1, to = UINT64_MAX;
  size_t batch = 1000;
  po::options_description desc(
      "streamrec log: inspect or load a streamrec database (JSON lines out)\n\n"
      "  streamrec log stats --db DIR\n"
      "  streamrec log dump --db DIR [--from SEQ] [--to SEQ]\n"
      "  streamrec log append --db DIR --events FILE [--batch 1000] [--id-prefix P]\n"
      "  streamrec log verify --db DIR [--config FILE]   (full checksum and decode scan;\n"
      "      exit 1 naming what is damaged)\n\nOptions");
  desc.add_options()("help,h", "show this help")("what", po::value(&what),
                                                 "stats | dump | append | verify")(
      "db", po::value(&db), "database directory")("from", po::value(&from)->default_value(from),
                                                  "dump: first seq")(
      "to", po::value(&to)->default_value(to), "dump: last seq")(
      "events", po::value(&events), "append: an event file, ratings file, or - for stdin")(
      "batch", po::value(&batch)->default_value(batch), "append: events per atomic batch")(
      "durability", po::value(&durability)->default_value(durability),
      "append: sync | process (default: the config's, else sync)")(
      "config", po::value(&config_path),
      "configuration file ([storage] durability; verify: the model settings snapshots are "
      "decoded with)")(
      "id-prefix", po::value(&id_prefix),
      "append: give event n the event_id PREFIX<n>, so a re-run stores nothing twice");
  po::positional_options_description pos;
  pos.add("what", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(kLog, argc, argv, desc, &pos, &vm)) return *rc;
  if (db.empty()) return Usage(kLog, "--db is required");
  if (what == "verify") return RunVerify(db, config_path);
  if (!config_path.empty() && vm["durability"].defaulted()) {
    auto config = LoadConfig(config_path);
    if (!config.ok()) return Fail(kLog, config.status());
    durability = config->durability_name;
  }
  if (what == "stats") return RunStats(db);
  if (what == "dump") return RunDump(db, from, to);
  if (what == "append") {
    if (events.empty()) return Usage(kLog, "--events is required");
    return RunAppend(db, events, batch, durability, id_prefix);
  }
  return Usage(kLog, fmt::format("expected stats, dump, append or verify, got '{}'", what));
}

}  // namespace streamrec::tools
