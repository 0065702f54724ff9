// `streamrec replay --evaluate`'s ranking half: the prequential comparison
// of online, retrained, popularity and random (engine/eval/prequential.h) over a
// stream of events, drift of each window against the first part of the
// stream (engine/live/drift.h), and the table, JSON and HTML report of the
// result.
//
// Thread-safety: free functions; no shared state.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "engine/core/event_types.h"
#include "engine/core/status.h"
#include "engine/eval/prequential.h"
#include "engine/live/drift.h"
#include "engine/live/recommender.h"
#include "tools/data/event_file.h"

namespace streamrec::tools {

struct ReplayEvalOptions {
  engine::PrequentialOptions prequential;
  // Drift buckets and smoothing; its window is set to prequential.window
  // (or 5000 if that is 0) so each series point covers the same events.
  engine::DriftOptions drift;
  // The drift reference ("training data"): this leading share of events.
  double reference_fraction = 0.5;
  // Shown in the table and report: where the events came from, and how
  // they were ordered.
  std::string source;
  std::string command_line;
};

struct DriftPoint {
  uint64_t end = 0;           // events observed at the end of the window
  bool in_reference = false;  // the window lies inside the reference part
  engine::DriftReport report;
};

struct ReplayEvalResult {
  engine::PrequentialResult prequential;
  uint64_t reference_events = 0;
  size_t drift_window = 0;
  std::vector<DriftPoint> drift;
  // Interactions per item (index = the online model's item index): all,
  // and the reference part / the rest.
  std::vector<double> item_counts;
  std::vector<double> item_counts_reference;
  uint32_t users = 0;
  uint32_t items = 0;
  double seconds = 0.0;
  engine::Objective objective = engine::Objective::kRating;  // of the online model
};

// Replays `events` in order. An unknown type is FailedPrecondition and an
// invalid event InvalidArgument, both naming the event's 1-based position.
StatusOr<ReplayEvalResult> EvaluateReplay(const std::vector<EventRecord>& events,
                                          const engine::RecommenderOptions& recommender,
                                          const engine::EventTypes& types,
                                          const ReplayEvalOptions& options);

// The human-readable summary (method table, counts, drift per window).
void PrintReplayTable(const ReplayEvalResult& r, const ReplayEvalOptions& options, std::FILE* out);
// Everything in the result; NaN (a window with nothing scored) as null.
boost::json::object ReplayEvalJson(const ReplayEvalResult& r, const ReplayEvalOptions& options);
// The HTML report (tools/report/report.h) to `path`.
Status WriteReplayReport(const ReplayEvalResult& r, const ReplayEvalOptions& options,
                         const std::string& path);

}  // namespace streamrec::tools
