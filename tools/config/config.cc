#include "tools/config/config.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cassert>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <optional>

#include "tools/config/config_drift.h"
#include "tools/config/config_model.h"
#include "tools/text/text_parse.h"

namespace streamrec::tools {

namespace po = boost::program_options;

namespace {

constexpr std::string_view kTypePrefix = "events.type.";

// Values range-checked before they reach the option structs: read as wide
// signed integers so that "-1" is an error, not 2^64-1.
struct Raw {
  int64_t port = 0, threads = 0, body_limit = 0, header_limit = 0, max_connections = 0;
  int64_t max_connections_per_address = 0, max_body_bytes_in_flight = 0;
  int64_t max_pending_events = 0, max_batch_events = 0, max_json_depth = 0, max_results = 0;
  int64_t max_future_skew_seconds = 0, max_past_age_seconds = 0;
  int64_t max_wal_mb = 0;  // storage.max_wal_mb
  int64_t max_id_length = 0, max_users = 0, max_items = 0;  // [limits]
  int64_t max_new_ids_per_request = 0, max_new_ids_per_second = 0;
  std::vector<std::string> keys;
  bool default_types = true;
  std::string objective = kDefaultObjective;  // model.objective, as written
};

void Describe(po::options_description* d, Config* c, Raw* raw) {
  engine::RecommenderOptions& r = c->recommender;
  engine::EvalOptions& t = c->training;
  d->add_options()("model.rank", po::value(&r.model.rank))(
      "model.init_stddev", po::value(&r.model.init_stddev))("model.seed", po::value(&r.model.seed))(
      "learner.learning_rate", po::value(&r.learner.sgd.learning_rate))(
      "learner.regularization", po::value(&r.learner.sgd.regularization))(
      "learner.bias_learning_rate", po::value(&r.learner.sgd.bias_learning_rate))(
      "learner.bias_regularization", po::value(&r.learner.sgd.bias_regularization))(
      "learner.cold_start_min_items", po::value(&r.cold_start_min_items))(
      "learner.fold_in_max_events", po::value(&r.learner.fold_in_max_events))(
      "learner.fold_in_regularization", po::value(&r.learner.fold_in_regularization))(
      "learner.fold_in_bias_regularization", po::value(&r.learner.fold_in_bias_regularization))(
      "popularity.half_life_hours", po::value<double>()->notifier([&r](double h) {
        r.popularity.half_life_ms = h * 3600.0 * 1000.0;
      }))("training.algorithm", po::value(&c->algorithm))(
      "training.epochs", po::value(&t.sgd.epochs))("training.learning_rate",
                                                   po::value(&t.sgd.params.learning_rate))(
      "training.regularization", po::value(&t.sgd.params.regularization))(
      "training.bias_learning_rate", po::value(&t.sgd.params.bias_learning_rate))(
      "training.bias_regularization", po::value(&t.sgd.params.bias_regularization))(
      "training.decay", po::value(&t.sgd.decay))(
      "training.als_iterations", po::value(&t.als.iterations))("training.als_regularization",
                                                               po::value(&t.als.regularization))(
      "training.als_bias_regularization", po::value(&t.als.bias_regularization))(
      "training.bpmf_sweeps", po::value(&t.bpmf.sweeps))("training.bpmf_burn_in",
                                                         po::value(&t.bpmf.burn_in))(
      "training.bpmf_noise_precision", po::value(&t.bpmf.observation_precision))(
      "training.threads", po::value(&t.als.threads))("storage.durability",
                                                     po::value(&c->durability_name))(
      "storage.snapshot_every_events", po::value(&c->store.snapshot_every_events))(
      "storage.snapshot_every_seconds", po::value(&c->store.snapshot_every_seconds))(
      "storage.snapshots_to_keep", po::value(&c->store.log.snapshots_to_keep))(
      "storage.snapshot_after_forget_seconds", po::value(&c->store.snapshot_after_forget_seconds))(
      "storage.purge_delay_seconds", po::value(&c->store.log.purge_delay_seconds))(
      "storage.max_wal_mb", po::value(&raw->max_wal_mb))(
      "storage.resume_interval_seconds", po::value(&c->store.log.resume_interval_seconds));
  DescribeModelKeys(d, &r, &t, &raw->objective);
  http::ServerOptions& s = c->server;
  d->add_options()("server.address", po::value(&s.address))("server.port", po::value(&raw->port))(
      "server.threads", po::value(&raw->threads))("server.body_limit", po::value(&raw->body_limit))(
      "server.header_limit", po::value(&raw->header_limit))("server.read_timeout_seconds",
                                                            po::value(&s.read_timeout_seconds))(
      "server.write_timeout_seconds", po::value(&s.write_timeout_seconds))(
      "server.idle_timeout_seconds", po::value(&s.idle_timeout_seconds))(
      "server.max_connections", po::value(&raw->max_connections))(
      "server.max_connections_per_address", po::value(&raw->max_connections_per_address))(
      "server.max_body_bytes_in_flight", po::value(&raw->max_body_bytes_in_flight))(
      "server.data_dir", po::value(&c->data_dir))("server.max_pending_events",
                                                  po::value(&raw->max_pending_events))(
      "api.max_batch_events", po::value(&raw->max_batch_events))(
      "api.max_json_depth", po::value(&raw->max_json_depth))("api.max_results",
                                                             po::value(&raw->max_results))(
      "api.keys", po::value(&raw->keys)->composing())("events.defaults",
                                                      po::value(&raw->default_types))(
      "events.max_future_skew_seconds", po::value(&raw->max_future_skew_seconds))(
      "events.max_past_age_seconds", po::value(&raw->max_past_age_seconds))(
      "limits.max_id_length", po::value(&raw->max_id_length))(
      "limits.max_users", po::value(&raw->max_users))("limits.max_items",
                                                      po::value(&raw->max_items))(
      "limits.max_new_ids_per_request", po::value(&raw->max_new_ids_per_request))(
      "limits.max_new_ids_per_second", po::value(&raw->max_new_ids_per_second));
}

Raw RawFrom(const Config& c) {
  Raw raw;
  raw.port = c.server.port;
  raw.threads = c.server.threads;
  raw.body_limit = static_cast<int64_t>(c.server.body_limit);
  raw.header_limit = static_cast<int64_t>(c.server.header_limit);
  raw.max_connections = static_cast<int64_t>(c.server.max_connections);
  raw.max_connections_per_address = static_cast<int64_t>(c.server.max_connections_per_address);
  raw.max_body_bytes_in_flight = static_cast<int64_t>(c.server.max_body_bytes_in_flight);
  raw.max_pending_events = static_cast<int64_t>(c.live.max_pending_events);
  raw.max_batch_events = static_cast<int64_t>(c.api.max_batch_events);
  raw.max_json_depth = c.api.max_json_depth;
  raw.max_results = static_cast<int64_t>(c.api.max_results);
  raw.max_future_skew_seconds = c.api.max_future_skew_seconds;
  raw.max_past_age_seconds = c.api.max_past_age_seconds;
  raw.max_wal_mb = static_cast<int64_t>(c.store.log.max_wal_bytes >> 20);
  raw.max_id_length = static_cast<int64_t>(c.api.max_id_length);
  raw.max_users = static_cast<int64_t>(c.live.ids.max_users);
  raw.max_items = static_cast<int64_t>(c.live.ids.max_items);
  raw.max_new_ids_per_request = static_cast<int64_t>(c.live.ids.max_new_ids_per_request);
  raw.max_new_ids_per_second = static_cast<int64_t>(c.live.ids.max_new_ids_per_second);
  return raw;
}

// The message of a Boost.Program_options error. Its what() fills the
// placeholders of a template ("the argument ('%value%') for option ...")
// by replacing each until none is left, so a value or line that itself
// holds the placeholder ("%value%") never finishes: `serve` would hang on
// such a file (found by the config fuzz target). The errors that carry
// text from the file are therefore worded here, from their parts and the
// parsed options (null before parsing ends); what() only for the others.
std::string ProgramOptionsMessage(const po::error& e, const po::parsed_options* parsed) {
  if (const auto* line = dynamic_cast<const po::invalid_config_file_syntax*>(&e)) {
    return fmt::format("the options configuration file contains an invalid line '{}'",
                       text::Shown(line->tokens()));
  }
  const auto* named = dynamic_cast<const po::error_with_option_name*>(&e);
  if (named == nullptr) return e.what();  // no placeholders
  const std::string option = named->get_option_name();
  if (dynamic_cast<const po::multiple_occurrences*>(&e) != nullptr) {
    return fmt::format("option '{}' cannot be specified more than once", option);
  }
  if (const auto* invalid = dynamic_cast<const po::validation_error*>(&e)) {
    // The first occurrence is the one refused: a second one is refused as
    // a repeat before its value is read.
    std::string value;
    for (const po::option& o : parsed != nullptr ? parsed->options : std::vector<po::option>{}) {
      if (o.string_key != option) continue;
      if (!o.value.empty()) value = o.value.front();
      break;
    }
    return fmt::format("the argument ('{}') for option '{}' is invalid{}", text::Shown(value),
                       option,
                       invalid->kind() == po::validation_error::invalid_bool_value
                           ? ". Valid choices are 'on|off', 'yes|no', '1|0' and 'true|false'"
                           : "");
  }
  return fmt::format("option '{}' is invalid", option);
}

// Checks lo <= v <= hi; the message names file and key.
Status InRange(const std::string& path, std::string_view key, int64_t v, int64_t lo, int64_t hi) {
  if (v >= lo && v <= hi) return Status::OK();
  return Status::InvalidArgument(
      fmt::format("{}: {} must be in [{}, {}], got {}", path, key, lo, hi, v));
}

Status ApplyServerAndApi(const std::string& path, const Raw& raw, Config* c) {
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  constexpr int64_t kCentury = int64_t{100} * 366 * 86400;
  for (const Status& st : {
           InRange(path, "server.port", raw.port, 0, 65535),
           InRange(path, "server.threads", raw.threads, 1, 1024),
           InRange(path, "server.body_limit", raw.body_limit, 1, int64_t{1} << 32),
           InRange(path, "server.header_limit", raw.header_limit, 1, int64_t{1} << 24),
           InRange(path, "server.max_connections", raw.max_connections, 1, kMax),
           InRange(path, "server.max_connections_per_address", raw.max_connections_per_address, 0,
                   kMax),
           InRange(path, "server.max_body_bytes_in_flight", raw.max_body_bytes_in_flight, 1,
                   int64_t{1} << 40),
           InRange(path, "server.max_pending_events", raw.max_pending_events, 1, kMax),
           InRange(path, "api.max_batch_events", raw.max_batch_events, 1, kMax),
           InRange(path, "api.max_json_depth", raw.max_json_depth, 2, 1000),
           InRange(path, "api.max_results", raw.max_results, 1, kMax),
           // -1: no bound; at most a century either way.
           InRange(path, "events.max_future_skew_seconds", raw.max_future_skew_seconds, -1,
                   kCentury),
           InRange(path, "events.max_past_age_seconds", raw.max_past_age_seconds, 0, kCentury),
           InRange(path, "limits.max_id_length", raw.max_id_length, 1,
                   static_cast<int64_t>(engine::RecommenderOptions{}.max_id_length)),
           // Row indices are 32-bit (engine/id_map.h); 0: no cap.
           InRange(path, "limits.max_users", raw.max_users, 0, kMax),
           InRange(path, "limits.max_items", raw.max_items, 0, kMax),
           InRange(path, "limits.max_new_ids_per_request", raw.max_new_ids_per_request, 0, kMax),
           InRange(path, "limits.max_new_ids_per_second", raw.max_new_ids_per_second, 0, kMax),
       }) {
    if (!st.ok()) return st;
  }
  http::ServerOptions& s = c->server;
  for (auto [key, v] : {std::pair<std::string_view, double>{"read", s.read_timeout_seconds},
                        {"write", s.write_timeout_seconds},
                        {"idle", s.idle_timeout_seconds}}) {
    if (!(v > 0) || v > 86400) {
      return Status::InvalidArgument(
          fmt::format("{}: server.{}_timeout_seconds must be in (0, 86400]", path, key));
    }
  }
  if (s.address.empty()) {
    return Status::InvalidArgument(fmt::format("{}: server.address must not be empty", path));
  }
  if (c->data_dir.empty()) {
    return Status::InvalidArgument(fmt::format("{}: server.data_dir must not be empty", path));
  }
  s.port = static_cast<uint16_t>(raw.port);
  s.threads = static_cast<int>(raw.threads);
  s.body_limit = static_cast<size_t>(raw.body_limit);
  s.header_limit = static_cast<size_t>(raw.header_limit);
  s.max_connections = static_cast<size_t>(raw.max_connections);
  s.max_connections_per_address = static_cast<size_t>(raw.max_connections_per_address);
  s.max_body_bytes_in_flight = static_cast<size_t>(raw.max_body_bytes_in_flight);
  c->live.max_pending_events = static_cast<size_t>(raw.max_pending_events);
  c->api.max_batch_events = static_cast<size_t>(raw.max_batch_events);
  c->api.max_json_depth = static_cast<int>(raw.max_json_depth);
  c->api.max_results = static_cast<size_t>(raw.max_results);
  c->api.max_future_skew_seconds = raw.max_future_skew_seconds;
  c->api.max_past_age_seconds = raw.max_past_age_seconds;
  c->api.max_id_length = static_cast<size_t>(raw.max_id_length);
  storage::IdLimits& ids = c->live.ids;
  ids.max_users = static_cast<uint64_t>(raw.max_users);
  ids.max_items = static_cast<uint64_t>(raw.max_items);
  ids.max_new_ids_per_request = static_cast<uint64_t>(raw.max_new_ids_per_request);
  ids.max_new_ids_per_second = static_cast<uint64_t>(raw.max_new_ids_per_second);
  if (ids.max_new_ids_per_second && ids.max_new_ids_per_request > ids.max_new_ids_per_second) {
    // A batch the bucket can never hold would get "retry shortly" forever.
    return Status::InvalidArgument(fmt::format(
        "{}: limits.max_new_ids_per_request ({}) must not exceed max_new_ids_per_second ({})",
        path, ids.max_new_ids_per_request, ids.max_new_ids_per_second));
  }
  if (ids.max_new_ids_per_second && ids.max_new_ids_per_request == 0) {
    ids.max_new_ids_per_request = ids.max_new_ids_per_second;
  }
  for (const std::string& spec : raw.keys) {
    auto keys = ParseApiKeys(spec, fmt::format("{}: api.keys", path));
    if (!keys.ok()) return keys.status();
    MergeApiKeys(std::move(keys).value(), &c->api.keys);
  }
  return Status::OK();
}

StatusOr<float> ParseFloat(std::string_view s) {
  float v = 0.0f;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) {
    return Status::InvalidArgument(fmt::format("'{}' is not a finite number", s));
  }
  return v;
}

bool ValidTypeName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-') return false;
  }
  return true;
}

// Applies one `type.<name> = ...` value to *spec (which holds the built-in's
// settings, or a new type's defaults).
Status ParseTypeSpec(std::string_view value, engine::EventTypeSpec* spec) {
  bool saw_min_max = false, saw_implied = false;
  size_t pos = 0;
  while (pos < value.size()) {
    const size_t start = value.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(value.find_first_of(" \t", start), value.size());
    const std::string_view tok = value.substr(start, end - start);
    pos = end;
    if (tok == "implicit" || tok == "explicit") {
      spec->explicit_rating = tok == "explicit";
      continue;
    }
    const size_t eq = tok.find('=');
    const std::string_view k = tok.substr(0, eq);
    const std::string_view v = eq == std::string_view::npos ? "" : tok.substr(eq + 1);
    if (eq == std::string_view::npos ||
        (k != "weight" && k != "implied" && k != "min" && k != "max")) {
      return Status::InvalidArgument(fmt::format(
          "unknown setting '{}' (expected implicit, explicit, weight=, implied=, min=, max=)",
          tok));
    }
    if (k == "implied" && v == "none") {
      spec->implied_rating.reset();
      saw_implied = true;
      continue;
    }
    StatusOr<float> f = ParseFloat(v);
    if (!f.ok()) return Status::InvalidArgument(fmt::format("{}: {}", k, f.status().message()));
    if (k == "weight") spec->weight = *f;
    if (k == "implied") spec->implied_rating = *f, saw_implied = true;
    if (k == "min") spec->min_value = *f, saw_min_max = true;
    if (k == "max") spec->max_value = *f, saw_min_max = true;
  }
  if (spec->explicit_rating && saw_implied) {
    return Status::InvalidArgument(
        "implied= is for implicit types (an explicit one carries its rating)");
  }
  if (!spec->explicit_rating && saw_min_max) {
    return Status::InvalidArgument("min=/max= are for explicit types");
  }
  if (spec->explicit_rating) spec->implied_rating.reset();
  return Status::OK();
}

// Builds the event-type registry from the built-ins (unless dropped) and
// the `events.type.<name>` lines, in file order.
StatusOr<engine::EventTypes> BuildTypes(const std::string& path, bool defaults,
                                        const std::vector<po::option>& lines) {
  std::vector<engine::EventTypeSpec> specs;
  if (defaults) {
    const engine::EventTypes d = engine::EventTypes::Defaults();
    for (size_t i = 0; i < d.size(); ++i)
      specs.push_back(d.spec(static_cast<engine::EventTypeId>(i)));
  }
  std::map<std::string, bool, std::less<>> seen;
  for (const po::option& o : lines) {
    const std::string name = o.string_key.substr(kTypePrefix.size());
    const std::string value = o.value.empty() ? "" : o.value.front();
    auto fail = [&](std::string_view why) {
      return Status::InvalidArgument(fmt::format("{}: {}: {}", path, o.string_key, why));
    };
    if (!ValidTypeName(name)) return fail("a type name is 1-64 letters, digits, '_' or '-'");
    if (!seen.emplace(name, true).second) return fail("defined twice");
    auto it =
        std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == name; });
    engine::EventTypeSpec spec;
    spec.name = name;
    if (it != specs.end()) spec = *it;
    if (Status st = ParseTypeSpec(value, &spec); !st.ok()) return fail(st.message());
    if (it != specs.end()) {
      *it = std::move(spec);
    } else {
      specs.push_back(std::move(spec));
    }
  }
  StatusOr<engine::EventTypes> types = engine::EventTypes::Create(std::move(specs));
  if (!types.ok()) {
    return Status::InvalidArgument(fmt::format("{}: [events]: {}", path, types.status().message()));
  }
  return types;
}

// The fields derived from others, and the checks of the older sections.
Status Finish(const std::string& path, const Raw& raw, Config* c) {
  engine::RecommenderOptions& r = c->recommender;
  STREAMREC_RETURN_IF_ERROR(ApplyObjective(path, raw.objective, &r, &c->algorithm));
  if (Status st = engine::ValidateModelOptions(r.model); !st.ok()) {
    return Status::InvalidArgument(fmt::format("{}: model.{}", path, st.message()));
  }
  if (!(r.popularity.half_life_ms > 0)) {
    return Status::InvalidArgument(
        fmt::format("{}: popularity.half_life_hours must be positive", path));
  }
  if (!(r.learner.sgd.learning_rate > 0) || r.learner.sgd.regularization < 0 ||
      !(r.learner.sgd.bias_learning_rate >= 0) || r.learner.sgd.bias_regularization < 0) {
    return Status::InvalidArgument(
        fmt::format("{}: learner rates must be positive and regularisation >= 0", path));
  }
  if (c->durability_name == "sync") {
    c->store.log.durability = storage::Durability::kSync;
  } else if (c->durability_name == "process") {
    c->store.log.durability = storage::Durability::kProcess;
  } else {
    return Status::InvalidArgument(fmt::format(
        "{}: storage.durability must be 'sync' or 'process', got '{}'", path, c->durability_name));
  }
  if (c->store.log.snapshots_to_keep < 1 || !(c->store.snapshot_every_seconds >= 0)) {
    return Status::InvalidArgument(fmt::format(
        "{}: storage.snapshots_to_keep must be >= 1 and snapshot_every_seconds >= 0", path));
  }
  if (!(c->store.snapshot_after_forget_seconds >= 0) || !(c->store.log.purge_delay_seconds >= 0) ||
      !(c->store.log.resume_interval_seconds > 0) || raw.max_wal_mb < 1 ||
      raw.max_wal_mb > (int64_t{1} << 30)) {
    return Status::InvalidArgument(fmt::format(
        "{}: storage.snapshot_after_forget_seconds and purge_delay_seconds must be >= 0, "
        "resume_interval_seconds > 0 and max_wal_mb >= 1",
        path));
  }
  c->store.log.max_wal_bytes = static_cast<uint64_t>(raw.max_wal_mb) << 20;
  StatusOr<engine::Algorithm> algo = engine::ParseAlgorithm(c->algorithm);
  if (!algo.ok()) {
    return Status::InvalidArgument(
        fmt::format("{}: training.algorithm: {}", path, algo.status().message()));
  }
  c->training.algorithm = *algo;
  STREAMREC_RETURN_IF_ERROR(ApplyImplicitKeys(path, c->training, &r));
  if (!(r.learner.fold_in_regularization > 0) || !(r.learner.fold_in_bias_regularization > 0)) {
    return Status::InvalidArgument(
        fmt::format("{}: learner fold-in regularisation must be positive", path));
  }
  // Whatever the keys above did not name, the engine's own check catches.
  if (Status st = engine::Recommender::ValidateOptions(r); !st.ok()) {
    return Status::InvalidArgument(fmt::format("{}: {}", path, st.message()));
  }
  c->training.model = r.model;
  c->training.online = r.learner;
  c->live.store = c->store;
  c->live.training = c->training;
  return Status::OK();
}

}  // namespace

Config DefaultConfig() {
  Config c;
  const Status st = Finish("(defaults)", RawFrom(c), &c);
  assert(st.ok());
  (void)st;
  return c;
}

StatusOr<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("cannot open config file '{}'", path));
  return ParseConfig(in, path);
}

StatusOr<Config> ParseConfig(std::istream& in, const std::string& path) {
  Config c;
  Raw raw = RawFrom(c);
  po::options_description desc;
  Describe(&desc, &c, &raw);
  DriftSection drift = DriftSectionFrom(c.live.drift);
  DescribeDriftSection(&desc, &drift);
  std::vector<po::option> type_lines;
  std::optional<po::parsed_options> parsed;
  try {
    parsed = po::parse_config_file(in, desc, /*allow_unregistered=*/true);
    // [events] type.<name> keys are the user's to choose; any other key
    // nobody registered is a typo.
    for (po::option& o : parsed->options) {
      if (!o.unregistered) continue;
      if (o.string_key.starts_with(kTypePrefix)) {
        type_lines.push_back(o);
      } else {
        return Status::InvalidArgument(
            fmt::format("{}: unrecognised option '{}'", path, o.string_key));
      }
    }
    po::variables_map vm;
    po::store(*parsed, vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return Status::InvalidArgument(
        fmt::format("{}: {}", path, ProgramOptionsMessage(e, parsed ? &*parsed : nullptr)));
  }
  if (Status st = Finish(path, raw, &c); !st.ok()) return st;
  if (Status st = ApplyServerAndApi(path, raw, &c); !st.ok()) return st;
  if (Status st = ApplyDriftSection(path, drift, &c.live.drift); !st.ok()) return st;
  StatusOr<engine::EventTypes> types = BuildTypes(path, raw.default_types, type_lines);
  if (!types.ok()) return types.status();
  c.types = std::move(types).value();
  return c;
}

StatusOr<std::vector<http::ApiKey>> ParseApiKeys(std::string_view spec, std::string_view origin) {
  std::vector<http::ApiKey> keys;
  size_t pos = 0, index = 0;
  while (true) {
    const size_t start = spec.find_first_not_of(", \t\r\n", pos);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(spec.find_first_of(", \t\r\n", start), spec.size());
    const std::string_view entry = spec.substr(start, end - start);
    pos = end;
    ++index;
    const size_t c1 = entry.find(':');
    const size_t c2 = c1 == std::string_view::npos ? c1 : entry.find(':', c1 + 1);
    // The name only: an entry without two colons may be a bare secret.
    const std::string_view name = entry.substr(0, c1 == std::string_view::npos ? 0 : c1);
    auto fail = [&](std::string_view why) {
      return Status::InvalidArgument(fmt::format(
          "{}: key {}{}: {}", origin, index, name.empty() ? "" : fmt::format(" '{}'", name), why));
    };
    if (c2 == std::string_view::npos) return fail("expected NAME:SCOPES:SECRET");
    http::ApiKey key;
    key.name = std::string(name);
    key.secret = std::string(entry.substr(c2 + 1));
    if (key.name.empty() || !ValidTypeName(key.name)) {
      return fail("a key name is 1-64 letters, digits, '_' or '-'");
    }
    std::string_view scopes = entry.substr(c1 + 1, c2 - c1 - 1);
    while (!scopes.empty()) {
      const size_t plus = std::min(scopes.find('+'), scopes.size());
      const std::string_view s = scopes.substr(0, plus);
      if (s == "read") {
        key.scopes |= http::kScopeRead;
      } else if (s == "write") {
        key.scopes |= http::kScopeWrite;
      } else if (s == "admin") {
        key.scopes |= http::kScopeAdmin;
      } else {
        return fail(fmt::format("unknown scope '{}' (read, write, admin joined by '+')", s));
      }
      scopes.remove_prefix(std::min(scopes.size(), plus + 1));
    }
    if (key.scopes == 0) return fail("no scopes (read, write, admin joined by '+')");
    if (key.secret.size() < kMinApiSecretLength) {
      return fail(fmt::format("secret shorter than {} characters", kMinApiSecretLength));
    }
    for (const http::ApiKey& k : keys) {
      if (k.name == key.name) return fail("name used twice");
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

void MergeApiKeys(std::vector<http::ApiKey> extra, std::vector<http::ApiKey>* keys) {
  for (http::ApiKey& k : extra) {
    auto it = std::find_if(keys->begin(), keys->end(),
                           [&](const http::ApiKey& old) { return old.name == k.name; });
    if (it != keys->end()) {
      *it = std::move(k);
    } else {
      keys->push_back(std::move(k));
    }
  }
}

Status ApplyApiKeysFromEnv(Config* config) {
  const char* env = std::getenv(kApiKeysEnv);
  if (env == nullptr || *env == '\0') return Status::OK();
  auto keys = ParseApiKeys(env, kApiKeysEnv);
  if (!keys.ok()) return keys.status();
  MergeApiKeys(std::move(keys).value(), &config->api.keys);
  return Status::OK();
}

std::string ScopeNames(uint32_t scopes) {
  std::string out;
  for (auto [bit, name] : {std::pair<uint32_t, const char*>{http::kScopeRead, "read"},
                           {http::kScopeWrite, "write"},
                           {http::kScopeAdmin, "admin"}}) {
    if ((scopes & bit) == 0) continue;
    if (!out.empty()) out += '+';
    out += name;
  }
  return out;
}

}  // namespace streamrec::tools
