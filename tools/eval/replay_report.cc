// The HTML report of `replay --evaluate --report`.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "tools/eval/replay_evaluate.h"
#include "tools/report/report.h"

namespace streamrec::tools {
namespace {

constexpr engine::DriftDimension kDims[] = {
    engine::DriftDimension::kItem, engine::DriftDimension::kUser,
    engine::DriftDimension::kEventType, engine::DriftDimension::kRating};

// PSI below this is drawn at it (log axis) or not drawn at all.
constexpr double kPsiFloor = 1e-3;
// One colour per drift dimension, whichever are drawn.
constexpr const char* kDimColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"};

std::string Capitalized(std::string_view s) {
  std::string out(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z')
    out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

std::string F4(double v) { return std::isfinite(v) ? fmt::format("{:.4f}", v) : "-"; }

void AddMethods(const ReplayEvalResult& r, HtmlReport* report) {
  const engine::PrequentialResult& p = r.prequential;
  const std::string k = std::to_string(p.k);
  report->AddHeading("Methods");
  std::vector<std::vector<std::string>> rows;
  BarChart bars;
  bars.title = fmt::format("Prequential ranking quality per method (K={})", k);
  bars.y_label = "mean over scored events";
  bars.series = {{"HR@" + k, {}}, {"NDCG@" + k, {}}, {"MRR@" + k, {}}};
  for (const engine::PrequentialMethodResult& m : p.methods) {
    rows.push_back({m.name, F4(m.hit_rate), F4(m.ndcg), F4(m.mrr), std::to_string(m.scored),
                    fmt::format("{:.1f}%", m.scored ? 100.0 * m.popular_answers / m.scored : 0.0),
                    fmt::format("{:.2f}", m.seconds)});
    bars.categories.push_back(m.name);
    bars.series[0].values.push_back(m.hit_rate);
    bars.series[1].values.push_back(m.ndcg);
    bars.series[2].values.push_back(m.mrr);
  }
  report->AddTable({"method", "HR@" + k, "NDCG@" + k, "MRR@" + k, "scored events",
                    "answered with popular items", "ranking s"},
                   rows);
  report->AddBarChart(bars);

  LineChart over_time;
  over_time.title = fmt::format("HR@{} per window of {} events", k,
                                p.window_end.size() > 1 ? p.window_end[0] : p.events);
  over_time.x_label = "events replayed (end of window)";
  over_time.y_label = "HR@" + k;
  over_time.markers = p.window_end.size() <= 40;
  for (const engine::PrequentialMethodResult& m : p.methods) {
    Series s{m.name, {}, {}, {}};
    for (size_t w = 0; w < m.hr_by_window.size() && w < p.window_end.size(); ++w) {
      s.x.push_back(static_cast<double>(p.window_end[w]));
      s.y.push_back(m.hr_by_window[w]);
    }
    over_time.series.push_back(std::move(s));
  }
  report->AddHeading("Hit rate over time");
  report->AddParagraph(
      "Each point is the share of the window's scored events whose item was in the method's "
      "top-K just before the event. The first windows are cold: few users and items are known.");
  report->AddLineChart(over_time);
}

void AddLongTail(const ReplayEvalResult& r, HtmlReport* report) {
  std::vector<double> rest(r.item_counts.size());
  for (size_t i = 0; i < rest.size(); ++i) rest[i] = r.item_counts[i] - r.item_counts_reference[i];
  report->AddHeading("Item popularity long tail");
  size_t items = 0;
  double total = 0.0, top = 0.0;
  std::vector<double> sorted = r.item_counts;
  std::sort(sorted.begin(), sorted.end(), std::greater<>());
  for (size_t i = 0; i < sorted.size(); ++i) {
    total += sorted[i];
    if (sorted[i] > 0) ++items;
  }
  for (size_t i = 0; i < std::min<size_t>(sorted.size(), (items + 9) / 10); ++i) top += sorted[i];
  report->AddParagraph(fmt::format(
      "{} items with at least one event; the most popular 10% of them hold {:.1f}% of all "
      "events. A steep curve means popularity is a strong baseline and the tail is where a "
      "personalised model has to earn its keep.",
      items, total > 0 ? 100.0 * top / total : 0.0));
  report->AddLineChart(RankFrequencyChart("Events per item by popularity rank (log-log)",
                                          {{"all events", r.item_counts},
                                           {"reference part", r.item_counts_reference},
                                           {"after the reference", rest}}));
}

void AddDrift(const ReplayEvalResult& r, size_t top_n, HtmlReport* report) {
  report->AddHeading("Drift");
  report->AddParagraph(fmt::format(
      "Each window of {} events against the first {} events (the reference, standing for the "
      "training data): population stability index over the top {} values of each dimension "
      "plus an \"other\" bucket, smoothed. PSI < 0.1: stable; 0.1-0.25: moderate; > 0.25: "
      "major shift. Windows inside the reference are in-sample and show the noise floor.",
      r.drift_window, r.reference_events, top_n));
  LineChart psi;
  psi.title = "PSI of each window against the reference";
  psi.x_label = "events replayed (end of window)";
  psi.y_label = "PSI (log scale)";
  psi.log_y = true;
  psi.markers = r.drift.size() <= 40;
  std::vector<std::string> flat;
  for (engine::DriftDimension d : kDims) {
    Series s{std::string(engine::DriftDimensionName(d)), {}, {}, kDimColors[size_t(d)]};
    bool visible = false;
    for (const DriftPoint& pt : r.drift) {
      const auto& dd = pt.report.dimensions[static_cast<size_t>(d)];
      if (dd.window_events == 0) continue;
      s.x.push_back(static_cast<double>(pt.end));
      s.y.push_back(std::max(dd.psi, kPsiFloor));  // 0 has no place on a log axis
      visible = visible || dd.psi >= kPsiFloor;
    }
    if (visible) {
      psi.series.push_back(std::move(s));
    } else if (!s.x.empty()) {
      flat.push_back(s.name);
    }
  }
  if (r.reference_events > 0 && r.reference_events < r.prequential.events) {
    psi.x_markers.push_back({static_cast<double>(r.reference_events), "reference ends"});
  }
  if (!flat.empty()) {
    std::string names;
    for (const std::string& n : flat) names += (names.empty() ? "" : ", ") + n;
    report->AddParagraph(fmt::format(
        "Not drawn: {} (PSI below {} in every window: no measurable drift). Smaller values of "
        "the others are drawn at {}.",
        names, kPsiFloor, kPsiFloor));
  }
  report->AddLineChart(psi);
  for (engine::DriftDimension d : kDims) {
    double in_sample = 0.0;
    for (const DriftPoint& pt : r.drift) {
      if (pt.in_reference) in_sample = std::max(in_sample, pt.report.dimensions[size_t(d)].psi);
    }
    if (in_sample > 0.25) {
      report->AddParagraph(fmt::format(
          "{} PSI is high even for windows inside the reference (up to {:.2f}): its values come "
          "in bursts (e.g. users who are active for a few days), so any window differs from the "
          "whole reference. Read its trend after the reference ends, not its level.",
          Capitalized(engine::DriftDimensionName(d)), in_sample));
    }
  }
  if (r.drift.empty()) return;
  const DriftPoint& last = r.drift.back();
  std::vector<std::vector<std::string>> rows;
  for (const engine::DimensionDrift& d : last.report.dimensions) {
    if (d.window_events == 0) continue;
    const bool moved = d.psi >= kPsiFloor;  // below it the "largest" shift is noise
    rows.push_back(
        {std::string(engine::DriftDimensionName(d.dimension)), F4(d.psi), F4(d.kl),
         fmt::format("{:.1f}%", 100 * d.other_reference),
         fmt::format("{:.1f}%", 100 * d.other_window), moved ? d.top_bucket : "-",
         moved ? fmt::format("{:.1f}% -> {:.1f}%", 100 * d.top_reference, 100 * d.top_window)
               : "-"});
  }
  report->AddParagraph(fmt::format("The last window (events up to {}):", last.end));
  report->AddTable({"dimension", "PSI", "KL (nats)", "other: reference", "other: window",
                    "largest shift", "its share"},
                   rows);
}

}  // namespace

Status WriteReplayReport(const ReplayEvalResult& r, const ReplayEvalOptions& options,
                         const std::string& path) {
  const engine::PrequentialResult& p = r.prequential;
  const engine::PrequentialOptions& po = options.prequential;
  HtmlReport report("streamrec: prequential evaluation");
  report.AddParagraph(
      fmt::format("Source: {}. {} events, {} users, {} items, replayed in {:.1f} s.",
                  options.source, p.events, r.users, r.items, r.seconds));
  if (!options.command_line.empty()) report.AddPreformatted(options.command_line);
  report.AddParagraph(fmt::format(
      "Protocol: for each event in log order, each method is asked for the user's top-{} over "
      "the full catalog with the user's seen items excluded, and scores a hit if the event's "
      "item is in it; then every method learns the event. Scored: {} events ({}). Not scored: "
      "{} events of items never seen before (no model can recommend them) and {} repeats of an "
      "item the user already had ({}). {} scored events came from users never seen before "
      "(they get the cold-start answer).",
      p.k, p.scored,
      po.sample_every == 1 ? "every eligible event"
                           : fmt::format("one in {} eligible events", po.sample_every),
      p.cold_items, p.repeats, po.skip_repeats ? "skipped" : "scored as misses", p.cold_users));
  if (p.retrains > 0) {
    report.AddParagraph(fmt::format(
        "\"retrained\" is the same model trained in batch ({}) on every event so far, every {} "
        "events ({} retrains, {:.1f} s), and frozen in between; users it was not trained on get "
        "popular items.",
        engine::AlgorithmName(po.retrain.algorithm), po.retrain_every, p.retrains,
        p.retrain_seconds));
  }
  AddMethods(r, &report);
  if (p.rating.count > 0) {
    report.AddParagraph(fmt::format(
        "Rating error of the online model, predicting each rating before learning it: RMSE "
        "{:.4f}, MAE {:.4f} over {} ratings.",
        p.rating.rmse, p.rating.mae, p.rating.count));
  }
  AddLongTail(r, &report);
  AddDrift(r, options.drift.top_n, &report);
  return report.Write(path);
}

}  // namespace streamrec::tools
