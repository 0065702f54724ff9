// `streamrec demo`: the offline tour: generate -> write/read the event file
// -> evaluate -> learn the stream online -> print sample recommendations.
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "engine/live/recommender.h"
#include "tools/cli/command_line.h"
#include "tools/commands/commands.h"
#include "tools/commands/synthetic_flags.h"
#include "tools/config/config.h"
#include "tools/data/dataset.h"
#include "tools/data/event_file.h"
#include "tools/data/synthetic.h"

namespace streamrec::tools {
namespace {

namespace po = boost::program_options;

constexpr std::string_view kDemo = "demo";

void PrintList(const std::string& title, const std::vector<engine::NamedScore>& items,
               const SyntheticOptions& s) {
  fmt::print("  {}\n", title);
  for (const auto& it : items) {
    const uint32_t id = static_cast<uint32_t>(std::stoul(it.item.substr(4)));
    fmt::print("    {:<10} cluster c{:<3} score {:.3f}\n", it.item, SyntheticItemCluster(s, id),
               it.score);
  }
}

// Share of top-10 model recommendations that fall in the user's planted
// favourite cluster, over users with model recommendations.
double FavouriteShare(const engine::Recommender& rec, const SyntheticOptions& s) {
  size_t hits = 0, total = 0;
  for (uint32_t u = 0; u < s.users; u += 5) {
    const auto r = rec.RecommendForUser(SyntheticUserId(u), {});
    if (r.source != engine::RecommendationSource::kModel) continue;
    for (const auto& it : r.items) {
      const auto id = static_cast<uint32_t>(std::stoul(it.item.substr(4)));
      hits += SyntheticItemCluster(s, id) == SyntheticFavouriteCluster(s, u) % s.clusters;
      ++total;
    }
  }
  return total > 0 ? static_cast<double>(hits) / static_cast<double>(total) : 0.0;
}

// Batch-trains on every rating-model event with the recommender's own id
// mapping, then installs the result (what `retrain` does on a server).
Status Retrain(const std::vector<EventRecord>& events, const engine::EventTypes& types,
               const engine::EvalOptions& options, engine::Recommender* rec) {
  engine::EvalSplit all;
  for (const EventRecord& e : events) {
    const auto type = types.Find(e.type);
    const auto target = type ? types.Target(*type, e.value) : std::nullopt;
    if (!target) continue;
    all.train.push_back({*rec->users().Find(e.user), *rec->items().Find(e.item), *target,
                         types.spec(*type).weight});
  }
  all.num_users = rec->users().size();
  all.num_items = rec->items().size();
  StatusOr<engine::MFModel> model = engine::TrainModel(all, options, nullptr);
  if (!model.ok()) return model.status();
  return rec->InstallModel(std::move(model).value());
}

// Three users of typical activity (10 to 40 items), for the printout.
std::vector<uint32_t> SampleUsers(const engine::Recommender& rec, const SyntheticOptions& s) {
  std::vector<uint32_t> out;
  for (uint32_t u = 0; u < s.users && out.size() < 3; u += 97) {
    const auto idx = rec.users().Find(SyntheticUserId(u));
    if (idx && rec.Seen(*idx).size() >= 10 && rec.Seen(*idx).size() <= 40) out.push_back(u);
  }
  return out;
}

struct DemoFlags {
  SyntheticOptions stream;
  std::string dir = "streamrec-demo";  // where demo.events goes
  std::string config_path;             // empty: built-in defaults
};

// What the tour runs with, checked.
struct DemoOptions {
  SyntheticOptions stream;
  std::string dir;
  Config config;
};

// Returns the exit code to stop with, or nullopt to go on.
std::optional<int> ParseDemo(int argc, const char* const* argv, DemoFlags* f) {
  po::options_description desc("streamrec demo: the offline tour on a synthetic stream\n\nOptions");
  desc.add_options()("help,h", "show this help")("dir", Defaulted(&f->dir),
                                                 "where to write the demo event file")(
      "config", po::value(&f->config_path), "configuration file (config/streamrec.conf)");
  AddSyntheticFlags(&desc, &f->stream);
  po::variables_map vm;
  return ParseCommandLine(kDemo, argc, argv, desc, nullptr, &vm);
}

StatusOr<DemoOptions> ValidateDemo(const DemoFlags& f) {
  const SyntheticOptions& s = f.stream;
  if (s.users == 0 || s.items == 0 || s.clusters == 0 || s.events == 0) {
    return Status::InvalidArgument("--users, --items, --clusters, --events must be >= 1");
  }
  DemoOptions o{f.stream, f.dir, Config()};
  if (!f.config_path.empty()) {
    StatusOr<Config> loaded = LoadConfig(f.config_path);
    // Any config problem, a missing file too, is bad usage here.
    if (!loaded.ok()) return Status::InvalidArgument(loaded.status().message());
    o.config = std::move(loaded).value();
  }
  return o;
}

// Step 1: the synthetic stream, written to <dir>/demo.events and read back.
StatusOr<std::vector<EventRecord>> GenerateStream(const DemoOptions& o) {
  const SyntheticOptions& s = o.stream;
  std::error_code ec;
  std::filesystem::create_directories(o.dir, ec);
  const std::string path = (std::filesystem::path(o.dir) / "demo.events").string();
  fmt::print("1. Generating {} events ({} users, {} items, {} taste clusters) -> {}\n", s.events,
             s.users, s.items, s.clusters, path);
  if (Status st = WriteEventFile(GenerateSynthetic(s), path); !st.ok()) return st;
  return LoadEvents(path);
}

// Step 2: batch training evaluated on an 80/20 random split.
Status EvaluateOffline(const std::vector<EventRecord>& events, const engine::EventTypes& types,
                       const engine::EvalOptions& eo) {
  auto [train, test] = RandomSplit(events, 0.8, 42);
  auto dense = BuildSplit(train, test, types);
  auto res = dense.ok() ? engine::EvaluateSplit(dense->split, eo) : dense.status();
  if (!res.ok()) return res.status();
  fmt::print("   RMSE {:.3f}  MAE {:.3f}  P@10 {:.3f}  NDCG@10 {:.3f}  ({:.1f}s)\n",
             res->rating.rmse, res->rating.mae, res->ranking.precision, res->ranking.ndcg,
             res->train_seconds);
  return Status::OK();
}

// Step 3: every event through the online learner, in order.
Status LearnOnline(const std::vector<EventRecord>& events, const engine::EventTypes& types,
                   engine::Recommender* rec) {
  for (const EventRecord& e : events) {
    const auto type = types.Find(e.type);
    Status st = type ? rec->Apply({e.user, e.item, *type, e.value, e.ts_ms})
                     : Status::InvalidArgument("unknown type " + e.type);
    if (!st.ok()) return st;
  }
  return Status::OK();
}

// Step 5: lists for typical users, similar items, trending, and a newcomer
// before and after a few ratings.
void PrintSamples(const SyntheticOptions& s, const engine::EventTypes& types,
                  engine::Recommender* rec) {
  engine::RecommendRequest req;
  req.n = 5;
  for (uint32_t u : SampleUsers(*rec, s)) {
    const std::string user = SyntheticUserId(u);
    const auto r = rec->RecommendForUser(user, req);
    PrintList(
        fmt::format("{} ({} items seen, favourite cluster c{}), source {}:", user,
                    rec->Seen(*rec->users().Find(user)).size(),
                    SyntheticFavouriteCluster(s, u) % s.clusters, engine::SourceName(r.source)),
        r.items, s);
  }
  if (auto sim = rec->SimilarItems(SyntheticItemId(0), 5); sim.ok()) {
    PrintList(fmt::format("items similar to item0 (cluster c{}):", SyntheticItemCluster(s, 0)),
              *sim, s);
  }
  PrintList("trending now:", rec->Popular(5), s);
  auto cold = rec->RecommendForUser("newcomer", req);
  PrintList(fmt::format("newcomer, never seen before, source {}:", engine::SourceName(cold.source)),
            cold.items, s);
  // Real time: the newcomer rates a few items; the very next
  // request is personalised (the learner re-solves a young user's vector).
  const uint32_t c = 3 % s.clusters;
  const engine::EventTypeId rating = *types.Find("rating");
  const uint32_t other = (c + 1) % s.clusters;
  for (uint32_t j = 0; j < 3; ++j) {
    const uint32_t liked = std::min(s.items - 1, c + s.clusters * j);
    (void)rec->Apply({"newcomer", SyntheticItemId(liked), rating, 5.0f, s.start_ms});
    const uint32_t disliked = std::min(s.items - 1, other + s.clusters * j);
    (void)rec->Apply({"newcomer", SyntheticItemId(disliked), rating, 1.0f, s.start_ms});
  }
  auto warm = rec->RecommendForUser("newcomer", req);
  PrintList(fmt::format("newcomer after rating three c{} items 5 stars and three c{} items 1 "
                        "star, source {}:",
                        c, other, engine::SourceName(warm.source)),
            warm.items, s);
}

// Every failure here is a runtime one (exit 1), whatever its code: the
// demo's own data is never bad input.
int ExecuteDemo(const DemoOptions& o) {
  const SyntheticOptions& s = o.stream;
  const Config& config = o.config;
  auto events = GenerateStream(o);
  if (!events.ok()) return Failure(kDemo, events.status().message());

  fmt::print("2. Offline evaluation of batch {} on an 80/20 random split:\n",
             engine::AlgorithmName(config.training.algorithm));
  const engine::EventTypes types = engine::EventTypes::Defaults();
  if (Status st = EvaluateOffline(*events, types, config.training); !st.ok()) {
    return Failure(kDemo, st.message());
  }

  fmt::print("3. Learning the whole stream online, one event at a time (as the server does)\n");
  engine::Recommender rec(config.recommender, types);
  if (Status st = LearnOnline(*events, types, &rec); !st.ok()) return Failure(kDemo, st.message());
  fmt::print(
      "   planted taste recovered: {:.0f}% of top-10 items in the user's favourite "
      "cluster (random: {:.0f}%)\n",
      100 * FavouriteShare(rec, s), 100.0 / s.clusters);

  fmt::print("4. Retraining in batch ({}) over the whole stream and swapping the model in\n",
             engine::AlgorithmName(config.training.algorithm));
  if (Status st = Retrain(*events, types, config.training, &rec); !st.ok()) {
    return Failure(kDemo, st.message());
  }
  fmt::print(
      "   planted taste recovered: {:.0f}% of top-10 items in the user's favourite "
      "cluster\n",
      100 * FavouriteShare(rec, s));

  fmt::print("5. Sample recommendations:\n");
  PrintSamples(s, types, &rec);
  return kExitOk;
}

}  // namespace

int RunDemo(int argc, const char* const* argv) {
  DemoFlags f;
  if (auto rc = ParseDemo(argc, argv, &f)) return *rc;
  StatusOr<DemoOptions> options = ValidateDemo(f);
  if (!options.ok()) return Fail(kDemo, options.status());
  return ExecuteDemo(*options);
}

}  // namespace streamrec::tools
