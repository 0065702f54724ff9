// `streamrec log stats|dump|append|verify` and `streamrec replay`: inspect, load
// and replay a streamrec database.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <cmath>
#include <iostream>
#include <optional>
#include <string>

#include "engine/eval/metrics.h"
#include "http/api_json.h"
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

int RunStats(const std::string& db) {
  auto log = OpenExisting(db);
  if (!log.ok()) return Fail(kLog, log.status());
  auto st = (*log)->Stats();
  if (!st.ok()) return Fail(kLog, st.status());
  const json::object o{{"next_seq", st->next_seq},           {"first_seq", st->first_seq},
                       {"last_seq", st->last_seq},           {"events", st->events},
                       {"snapshot_seq", st->snapshot_seq},   {"snapshots", st->snapshots},
                       {"catalog_items", st->catalog_items}, {"disk_bytes", st->disk_bytes}};
  std::cout << http::SerializeJson(o) << "\n";
  return 0;
}

int RunDump(const std::string& db, uint64_t from, uint64_t to) {
  auto log = OpenExisting(db);
  if (!log.ok()) return Fail(kLog, log.status());
  Status st = (*log)->Scan(from, to, [](const storage::StoredEvent& e) {
    std::cout << http::SerializeJson(http::StoredEventJson(e)) << "\n";
    return static_cast<bool>(std::cout);
  });
  if (!st.ok()) return Fail(kLog, st);
  return 0;
}

int RunAppend(const std::string& db, const std::string& events_path, size_t batch,
              storage::Durability durability, const std::string& id_prefix) {
  auto events = LoadEvents(events_path);
  if (!events.ok()) return Fail(kLog, events.status());
  storage::EventLogOptions o;
  o.durability = durability;
  auto log = storage::EventLog::Open(db, o);
  if (!log.ok()) return Fail(kLog, log.status());
  size_t accepted = 0, duplicates = 0;
  std::vector<storage::StoredEvent> chunk;
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
  std::cout << http::SerializeJson(o) << "\n";
  for (const auto& p : r.problems) fmt::print(stderr, "streamrec log verify: {}: {}\n", db, p);
  return r.problems.empty() ? 0 : 1;
}

struct LogFlags {
  std::string what;  // stats | dump | append | verify
  std::string db;
  std::string events;  // append: the file to load
  std::string durability = "sync";
  bool durability_given = false;  // else [storage] durability of --config
  std::string id_prefix;
  std::string config_path;
  uint64_t from = 1;
  uint64_t to = UINT64_MAX;
  size_t batch = 1000;
  // Set by ValidateLog for append: --durability (or the config's), parsed.
  storage::Durability mode = storage::Durability::kSync;
};

// Returns the exit code to stop with, or nullopt to go on.
std::optional<int> ParseLog(int argc, const char* const* argv, LogFlags* f) {
  po::options_description desc(
      "streamrec log: inspect or load a streamrec database (JSON lines out)\n\n"
      "  streamrec log stats --db DIR\n"
      "  streamrec log dump --db DIR [--from SEQ] [--to SEQ]\n"
      "  streamrec log append --db DIR --events FILE [--batch 1000] [--id-prefix P]\n"
      "  streamrec log verify --db DIR [--config FILE]   (full checksum and decode scan;\n"
      "      exit 1 naming what is damaged)\n\nOptions");
  desc.add_options()("help,h", "show this help")(
      "what", po::value(&f->what), "stats | dump | append | verify")("db", po::value(&f->db),
                                                                     "database directory")(
      "from", Defaulted(&f->from), "dump: first seq")("to", Defaulted(&f->to), "dump: last seq")(
      "events", po::value(&f->events), "append: an event file, ratings file, or - for stdin")(
      "batch", Defaulted(&f->batch), "append: events per atomic batch")(
      "durability", Defaulted(&f->durability),
      "append: sync | process (default: the config's, else sync)")(
      "config", po::value(&f->config_path),
      "configuration file ([storage] durability; verify: the model settings snapshots are "
      "decoded with)")(
      "id-prefix", po::value(&f->id_prefix),
      "append: give event n the event_id PREFIX<n>, so a re-run stores nothing twice");
  po::positional_options_description pos;
  pos.add("what", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine(kLog, argc, argv, desc, &pos, &vm)) return rc;
  f->durability_given = !vm["durability"].defaulted();
  return std::nullopt;
}

// --db, the subcommand and its flags; the durability from --config unless
// --durability is given.
Status ValidateLog(LogFlags* f) {
  if (f->db.empty()) return Status::InvalidArgument("--db is required");
  if (f->what == "verify") return Status::OK();  // loads --config itself
  if (!f->config_path.empty() && !f->durability_given) {
    auto config = LoadConfig(f->config_path);
    if (!config.ok()) return config.status();
    f->durability = config->durability_name;
  }
  if (f->what == "stats" || f->what == "dump") return Status::OK();
  if (f->what != "append") {
    return Status::InvalidArgument(
        fmt::format("expected stats, dump, append or verify, got '{}'", f->what));
  }
  if (f->events.empty()) return Status::InvalidArgument("--events is required");
  auto mode = ParseDurability(f->durability);
  if (!mode.ok()) return mode.status();
  f->mode = *mode;
  if (f->batch == 0) return Status::InvalidArgument("--batch must be >= 1");
  return Status::OK();
}

int ExecuteLog(const LogFlags& f) {
  if (f.what == "verify") return RunVerify(f.db, f.config_path);
  if (f.what == "stats") return RunStats(f.db);
  if (f.what == "dump") return RunDump(f.db, f.from, f.to);
  return RunAppend(f.db, f.events, f.batch, f.mode, f.id_prefix);
}

}  // namespace

int RunLog(int argc, const char* const* argv) {
  LogFlags f;
  if (auto rc = ParseLog(argc, argv, &f)) return *rc;
  if (Status st = ValidateLog(&f); !st.ok()) return Fail(kLog, st);
  return ExecuteLog(f);
}

}  // namespace streamrec::tools
