#include "tools/eval/replay_evaluate.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

namespace streamrec::tools {
namespace {

namespace json = boost::json;

constexpr engine::DriftDimension kDims[] = {
    engine::DriftDimension::kItem, engine::DriftDimension::kUser,
    engine::DriftDimension::kEventType, engine::DriftDimension::kRating};

engine::DriftEvent ToDrift(const EventRecord& e, const engine::EventTypes& types,
                           engine::EventTypeId type) {
  engine::DriftEvent d{e.user, e.item, e.type, std::nullopt};
  if (types.spec(type).explicit_rating) d.rating = e.value;
  return d;
}

json::value NumberOrNull(double v) {
  if (std::isfinite(v)) return v;
  return nullptr;
}

}  // namespace

StatusOr<ReplayEvalResult> EvaluateReplay(const std::vector<EventRecord>& events,
                                          const engine::RecommenderOptions& recommender,
                                          const engine::EventTypes& types,
                                          const ReplayEvalOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  // Resolve every type first: a bad one fails before minutes of replay.
  std::vector<engine::EventTypeId> type_ids(events.size());
  for (size_t n = 0; n < events.size(); ++n) {
    const auto t = types.Find(events[n].type);
    if (!t) {
      return Status::FailedPrecondition(
          fmt::format("event {} has type '{}', which the configuration does not define (known: {})",
                      n + 1, events[n].type, types.Names()));
    }
    type_ids[n] = *t;
  }
  auto evaluator = engine::PrequentialEvaluator::Create(recommender, types, options.prequential);
  if (!evaluator.ok()) return evaluator.status();

  ReplayEvalResult r;
  const double fraction = std::clamp(options.reference_fraction, 0.0, 1.0);
  r.reference_events = static_cast<uint64_t>(std::llround(fraction * events.size()));
  engine::DriftOptions drift_options = options.drift;
  drift_options.window = options.prequential.window ? options.prequential.window : 5000;
  r.drift_window = drift_options.window;
  engine::DriftReferenceBuilder builder(drift_options);
  for (size_t n = 0; n < r.reference_events; ++n) {
    builder.Add(ToDrift(events[n], types, type_ids[n]));
  }
  engine::DriftMonitor monitor(builder.Build());

  for (size_t n = 0; n < events.size(); ++n) {
    const EventRecord& e = events[n];
    Status st = (*evaluator)->Observe({e.user, e.item, type_ids[n], e.value, e.ts_ms});
    if (!st.ok()) return Status(st.code(), fmt::format("event {}: {}", n + 1, st.message()));
    monitor.Observe(ToDrift(e, types, type_ids[n]));
    const uint32_t item = *(*evaluator)->online().items().Find(e.item);
    if (item >= r.item_counts.size()) {
      r.item_counts.resize(item + 1, 0.0);
      r.item_counts_reference.resize(item + 1, 0.0);
    }
    r.item_counts[item] += 1.0;
    if (n < r.reference_events) r.item_counts_reference[item] += 1.0;
    const uint64_t seen = n + 1;
    if (seen % drift_options.window == 0 || seen == events.size()) {
      r.drift.push_back({seen, seen <= r.reference_events, monitor.Report()});
    }
  }
  r.prequential = (*evaluator)->Result();
  r.users = (*evaluator)->online().users().size();
  r.objective = recommender.objective;
  r.items = (*evaluator)->online().items().size();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

void PrintReplayTable(const ReplayEvalResult& r, const ReplayEvalOptions& options, std::FILE* out) {
  const engine::PrequentialResult& p = r.prequential;
  const engine::PrequentialOptions& po = options.prequential;
  fmt::print(out, "prequential evaluation of {}: {} events, {} users, {} items, {:.1f} s\n",
             options.source, p.events, r.users, r.items, r.seconds);
  fmt::print(out,
             "  each event: top-{} over the full catalog (seen items excluded), then learn it\n",
             p.k);
  fmt::print(out,
             "  scored {} events (every {} of {} eligible); not scored: {} cold items (never "
             "seen before), {} repeats ({}); {} scored events of new users\n",
             p.scored,
             po.sample_every == 1 ? std::string("one") : fmt::format("{}th", po.sample_every),
             p.eligible, p.cold_items, p.repeats, po.skip_repeats ? "skipped" : "scored as misses",
             p.cold_users);
  fmt::print(out, "  online model: {} objective\n", engine::ObjectiveName(r.objective));
  if (p.retrains > 0) {
    fmt::print(out, "  batch {} retrained every {} events: {} retrains, {:.1f} s\n",
               engine::AlgorithmName(po.retrain.algorithm), po.retrain_every, p.retrains,
               p.retrain_seconds);
  }
  if (po.online_rules.active()) {
    fmt::print(out, "  online lists re-ranked: diversity {}, at most {} per category\n",
               po.online_rules.diversity, po.online_rules.max_per_category);
  }
  fmt::print(out, "\n  {:<16} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8}\n", "method",
             fmt::format("HR@{}", p.k), fmt::format("NDCG@{}", p.k), fmt::format("MRR@{}", p.k),
             "scored", "popular%", "coverage", "rank s");
  for (const engine::PrequentialMethodResult& m : p.methods) {
    const double popular = m.scored ? 100.0 * m.popular_answers / m.scored : 0.0;
    const std::string coverage =
        std::isnan(m.coverage) ? std::string("-") : fmt::format("{:.1f}%", 100.0 * m.coverage);
    fmt::print(out, "  {:<16} {:>8.4f} {:>8.4f} {:>8.4f} {:>8} {:>8.1f}% {:>9} {:>8.2f}\n",
               m.name, m.hit_rate, m.ndcg, m.mrr, m.scored, popular, coverage, m.seconds);
  }
  fmt::print(out,
             "  popular%: scored events answered with popular items (the cold-start answer)\n"
             "  coverage: share of the catalog in at least one scored list (listing methods)\n");
  if (p.rating.count > 0) {
    fmt::print(out,
               "\n  online rating error (predict, then learn): RMSE {:.4f}, MAE {:.4f} over {}\n",
               p.rating.rmse, p.rating.mae, p.rating.count);
  }
  fmt::print(out,
             "\n  drift against the first {} events (PSI, KL in nats; window {} events; "
             "* = window inside the reference)\n",
             r.reference_events, r.drift_window);
  fmt::print(out, "  {:>10}", "window end");
  for (engine::DriftDimension d : kDims) {
    fmt::print(out, " {:>17}", fmt::format("{} PSI/KL", engine::DriftDimensionName(d)));
  }
  fmt::print(out, "\n");
  for (const DriftPoint& pt : r.drift) {
    fmt::print(out, "  {:>9}{}", pt.end, pt.in_reference ? "*" : " ");
    for (engine::DriftDimension d : kDims) {
      const auto& dd = pt.report.dimensions[static_cast<size_t>(d)];
      if (dd.window_events == 0) {
        fmt::print(out, " {:>17}", "-");
      } else {
        fmt::print(out, " {:>17}", fmt::format("{:.3f}/{:.3f}", dd.psi, dd.kl));
      }
    }
    fmt::print(out, "\n");
  }
}

json::object ReplayEvalJson(const ReplayEvalResult& r, const ReplayEvalOptions& options) {
  const engine::PrequentialResult& p = r.prequential;
  json::object ranking;
  ranking["k"] = p.k;
  ranking["events"] = p.events;
  ranking["eligible"] = p.eligible;
  ranking["scored"] = p.scored;
  ranking["cold_items"] = p.cold_items;
  ranking["repeats"] = p.repeats;
  ranking["skip_repeats"] = options.prequential.skip_repeats;
  ranking["cold_users"] = p.cold_users;
  ranking["sample_every"] = options.prequential.sample_every;
  ranking["retrain_every"] = options.prequential.retrain_every;
  ranking["retrains"] = p.retrains;
  ranking["retrain_seconds"] = p.retrain_seconds;
  json::array methods;
  json::object by_window;
  for (const engine::PrequentialMethodResult& m : p.methods) {
    methods.push_back({{"name", m.name},
                       {"hr", m.hit_rate},
                       {"ndcg", m.ndcg},
                       {"mrr", m.mrr},
                       {"scored", m.scored},
                       {"popular_answers", m.popular_answers},
                       {"coverage", NumberOrNull(m.coverage)},
                       {"seconds", m.seconds}});
    json::array hr;
    for (double v : m.hr_by_window) hr.push_back(NumberOrNull(v));
    by_window[m.name] = std::move(hr);
  }
  ranking["methods"] = std::move(methods);
  json::array ends;
  for (uint64_t e : p.window_end) ends.push_back(e);
  ranking["windows"] = {{"end", std::move(ends)}, {"hr", std::move(by_window)}};

  json::array points;
  for (const DriftPoint& pt : r.drift) {
    json::object o{{"end", pt.end}, {"in_reference", pt.in_reference}};
    for (const engine::DimensionDrift& d : pt.report.dimensions) {
      o[engine::DriftDimensionName(d.dimension)] = {{"psi", d.psi},
                                                    {"kl", d.kl},
                                                    {"events", d.window_events},
                                                    {"other_reference", d.other_reference},
                                                    {"other_window", d.other_window},
                                                    {"top_bucket", d.top_bucket}};
    }
    points.push_back(std::move(o));
  }
  json::object out;
  out["source"] = options.source;
  out["objective"] = engine::ObjectiveName(r.objective);
  out["users"] = r.users;
  out["items"] = r.items;
  out["seconds"] = r.seconds;
  out["prequential"] = {
      {"ratings", p.rating.count}, {"rmse", p.rating.rmse}, {"mae", p.rating.mae}};
  out["ranking"] = std::move(ranking);
  out["drift"] = {{"reference_events", r.reference_events},
                  {"window", r.drift_window},
                  {"top_n", options.drift.top_n},
                  {"smoothing", options.drift.smoothing},
                  {"windows", std::move(points)}};
  return out;
}

}  // namespace streamrec::tools
