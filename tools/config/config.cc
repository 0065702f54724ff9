// The configuration file reader: the keys it registers, the parse, and the
// checks of [model], [learner], [popularity], [training] and [storage].
// [server]/[api]/[events]/[limits] are checked in config_server.cc, the
// [events] type lines in config_events.cc, [drift] in config_drift.cc and
// API keys in config_api_keys.cc.
#include "tools/config/config.h"

#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <cassert>
#include <chrono>
#include <fstream>
#include <optional>

#include "tools/cli/command_line.h"
#include "tools/config/config_drift.h"
#include "tools/config/config_model.h"
#include "tools/config/config_sections.h"

namespace streamrec::tools {

namespace po = boost::program_options;
using config_internal::kTypePrefix;
using config_internal::Raw;

namespace {

void Describe(po::options_description* d, Config* c, Raw* raw) {
  engine::RecommenderOptions& r = c->recommender;
  engine::EvalOptions& t = c->training;
  d->add_options()("model.rank", po::value(&r.model.rank))("model.topn", po::value(&raw->topn))(
      "model.topn_int8_min_items", po::value(&r.topn.int8_min_items))(
      "model.topn_int8_candidate_factor", po::value(&r.topn.int8.candidate_factor))(
      "model.topn_int8_min_candidates", po::value(&r.topn.int8.min_candidates))(
      "model.topn_ivf_min_items", po::value(&r.topn.ivf_min_items))(
      "model.topn_ivf_retrain_factor", po::value(&r.topn.ivf_retrain_factor))(
      "model.topn_ivf_lists", po::value(&r.topn.ivf.lists))(
      "model.topn_ivf_probe", po::value(&r.topn.ivf.probe))("model.topn_ivf_target_recall",
                                                            po::value(&r.topn.ivf.target_recall))(
      "model.init_stddev", po::value(&r.model.init_stddev))(
      "model.init_full_scale_users", po::value(&r.model.init_full_scale_users))(
      "model.init_full_scale_items", po::value(&r.model.init_full_scale_items))(
      "model.seed", po::value(&r.model.seed))("learner.learning_rate",
                                              po::value(&r.learner.sgd.learning_rate))(
      "learner.regularization", po::value(&r.learner.sgd.regularization))(
      "learner.bias_learning_rate", po::value(&r.learner.sgd.bias_learning_rate))(
      "learner.bias_regularization", po::value(&r.learner.sgd.bias_regularization))(
      "learner.cold_start_min_items", po::value(&r.cold_start_min_items))(
      "model.exploration_share", po::value(&r.exploration.share))(
      "model.exploration_newest_items", po::value(&r.exploration.newest_items))(
      "model.exploration_new_days", po::value(&r.exploration.new_days))(
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
      "storage.snapshot_spacing_factor", po::value(&c->store.snapshot_spacing_factor))(
      "storage.snapshot_encode_spacing_factor",
      po::value(&c->store.snapshot_encode_spacing_factor))(
      "storage.snapshots_to_keep", po::value(&c->store.log.snapshots_to_keep))(
      "storage.snapshot_after_forget_seconds", po::value(&c->store.snapshot_after_forget_seconds))(
      "storage.purge_delay_seconds", po::value(&c->store.log.purge_delay_seconds))(
      "storage.max_wal_mb", po::value(&raw->max_wal_mb))(
      "storage.resume_interval_seconds", po::value(&c->store.log.resume_interval_seconds));
  DescribeModelKeys(d, &r, &t, &raw->objective);
  http::ServerOptions& s = c->server;
  d->add_options()("server.address", po::value(&s.address))("server.port", po::value(&raw->port))(
      "server.threads", po::value(&raw->threads))(
      "server.query_threads", po::value(&raw->query_threads))("server.max_query_batch",
                                                              po::value(&raw->max_query_batch))(
      "server.query_batch_min_items", po::value(&raw->query_batch_min_items))(
      "server.body_limit", po::value(&raw->body_limit))(
      "server.header_limit", po::value(&raw->header_limit))("server.read_timeout_seconds",
                                                            po::value(&s.read_timeout_seconds))(
      "server.write_timeout_seconds", po::value(&s.write_timeout_seconds))(
      "server.idle_timeout_seconds", po::value(&s.idle_timeout_seconds))(
      "server.max_connections", po::value(&raw->max_connections))(
      "server.max_connections_per_address", po::value(&raw->max_connections_per_address))(
      "server.max_body_bytes_in_flight", po::value(&raw->max_body_bytes_in_flight))(
      "server.data_dir", po::value(&c->data_dir))("server.release_memory_seconds",
                                                  po::value(&raw->release_memory_seconds))(
      "server.release_memory_growth_mb", po::value(&raw->release_memory_growth_mb))(
      "server.max_pending_events", po::value(&raw->max_pending_events))(
      "api.max_batch_events", po::value(&raw->max_batch_events))("api.max_json_depth",
                                                                 po::value(&raw->max_json_depth))(
      "api.max_results", po::value(&raw->max_results))("api.keys",
                                                       po::value(&raw->keys)->composing())(
      "events.defaults", po::value(&raw->default_types))("events.max_future_skew_seconds",
                                                         po::value(&raw->max_future_skew_seconds))(
      "events.max_past_age_seconds", po::value(&raw->max_past_age_seconds))(
      "limits.max_id_length", po::value(&raw->max_id_length))("limits.max_users",
                                                              po::value(&raw->max_users))(
      "limits.max_items", po::value(&raw->max_items))("limits.max_new_ids_per_request",
                                                      po::value(&raw->max_new_ids_per_request))(
      "limits.max_new_ids_per_second", po::value(&raw->max_new_ids_per_second));
  d->add_options()("cluster.nats", po::value(&raw->cluster_nats))(
      "cluster.stream", po::value(&c->cluster.stream))("cluster.replicas",
                                                       po::value(&raw->cluster_replicas))(
      "cluster.publish_timeout_seconds", po::value(&c->cluster.publish_timeout_seconds))(
      "cluster.apply_timeout_seconds", po::value(&c->cluster.apply_timeout_seconds))(
      "api.min_seq_wait_ms", po::value(&raw->min_seq_wait_ms));
}

// [cluster] and the min_seq bound of [api].
Status ApplyCluster(const std::string& path, const Raw& raw, Config* c) {
  ClusterConfig& k = c->cluster;
  k.nats.clear();
  std::string_view rest = raw.cluster_nats;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view url = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    while (!url.empty() && url.front() == ' ') url.remove_prefix(1);
    while (!url.empty() && url.back() == ' ') url.remove_suffix(1);
    if (url.empty()) continue;
    if (!url.starts_with("nats://") && !url.starts_with("tls://")) {
      return Status::InvalidArgument(fmt::format(
          "{}: cluster.nats: '{}' is not a NATS URL (nats://host:port or tls://host:port)", path,
          url));
    }
    k.nats.emplace_back(url);
  }
  if (raw.cluster_replicas != 1 && raw.cluster_replicas != 3 && raw.cluster_replicas != 5) {
    return Status::InvalidArgument(
        fmt::format("{}: cluster.replicas must be 1, 3 or 5, got {}", path, raw.cluster_replicas));
  }
  k.replicas = static_cast<int>(raw.cluster_replicas);
  if (k.stream.empty() || k.stream.size() > 64 ||
      k.stream.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
          std::string::npos) {
    return Status::InvalidArgument(fmt::format(
        "{}: cluster.stream must be 1-64 letters, digits, '_' or '-', got '{}'", path, k.stream));
  }
  for (auto [key, v] : {std::pair<std::string_view, double>{"publish", k.publish_timeout_seconds},
                        {"apply", k.apply_timeout_seconds}}) {
    if (!(v > 0) || v > 3600) {
      return Status::InvalidArgument(
          fmt::format("{}: cluster.{}_timeout_seconds must be in (0, 3600]", path, key));
    }
  }
  if (raw.min_seq_wait_ms < 0 || raw.min_seq_wait_ms > 60000) {
    return Status::InvalidArgument(fmt::format(
        "{}: api.min_seq_wait_ms must be in [0, 60000], got {}", path, raw.min_seq_wait_ms));
  }
  c->api.min_seq_wait_ms = static_cast<int>(raw.min_seq_wait_ms);
  return Status::OK();
}

Raw RawFrom(const Config& c) {
  Raw raw;
  raw.port = c.server.port;
  raw.topn = engine::TopNMethodName(c.recommender.topn.method);
  raw.threads = c.server.threads;
  raw.query_threads = c.api.batching.threads;
  raw.max_query_batch = static_cast<int64_t>(c.api.batching.max_batch);
  raw.query_batch_min_items = c.api.batching.min_items;
  raw.body_limit = static_cast<int64_t>(c.server.body_limit);
  raw.header_limit = static_cast<int64_t>(c.server.header_limit);
  raw.max_connections = static_cast<int64_t>(c.server.max_connections);
  raw.max_connections_per_address = static_cast<int64_t>(c.server.max_connections_per_address);
  raw.max_body_bytes_in_flight = static_cast<int64_t>(c.server.max_body_bytes_in_flight);
  raw.max_pending_events = static_cast<int64_t>(c.live.max_pending_events);
  raw.release_memory_seconds = std::chrono::duration<double>(c.live.memory.interval).count();
  raw.release_memory_growth_mb = static_cast<int64_t>(c.live.memory.min_growth_bytes >> 20);
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
  for (const std::string& url : c.cluster.nats) {
    raw.cluster_nats += (raw.cluster_nats.empty() ? "" : ",") + url;
  }
  raw.cluster_replicas = c.cluster.replicas;
  raw.min_seq_wait_ms = c.api.min_seq_wait_ms;
  return raw;
}

// The fields derived from others, and the checks of the older sections.
Status Finish(const std::string& path, const Raw& raw, Config* c) {
  engine::RecommenderOptions& r = c->recommender;
  STREAMREC_RETURN_IF_ERROR(ApplyObjective(path, raw.objective, &r, &c->algorithm));
  StatusOr<engine::TopNMethod> topn = engine::ParseTopNMethod(raw.topn);
  if (!topn.ok()) {
    return Status::InvalidArgument(
        fmt::format("{}: model.topn: {}", path, topn.status().message()));
  }
  r.topn.method = *topn;
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
  for (const auto& [name, factor] :
       {std::pair{"snapshot_spacing_factor", c->store.snapshot_spacing_factor},
        std::pair{"snapshot_encode_spacing_factor", c->store.snapshot_encode_spacing_factor}}) {
    if (!(factor >= 0 && factor <= 1e6)) {
      return Status::InvalidArgument(
          fmt::format("{}: storage.{} must be in [0, 1000000] (0: no spacing)", path, name));
    }
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
    return Status::InvalidArgument(fmt::format("{}: {}", path, ProgramOptionsMessage(e)));
  }
  if (Status st = Finish(path, raw, &c); !st.ok()) return st;
  if (Status st = config_internal::ApplyServerAndApi(path, raw, &c); !st.ok()) return st;
  if (Status st = ApplyDriftSection(path, drift, &c.live.drift); !st.ok()) return st;
  if (Status st = ApplyCluster(path, raw, &c); !st.ok()) return st;
  StatusOr<engine::EventTypes> types =
      config_internal::BuildTypes(path, raw.default_types, type_lines);
  if (!types.ok()) return types.status();
  c.types = std::move(types).value();
  return c;
}

}  // namespace streamrec::tools
