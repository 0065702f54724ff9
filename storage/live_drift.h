// LiveDrift: the live server's drift monitor (engine/live/drift.h) and the
// policy that decides what its reference, "the data the model was trained
// on", is:
//
//   * At Open, the newest `reference_events` events of the recovered log
//     (one forward scan of that range: bounded by reference_events, small
//     next to the recovery replay, so Open does it synchronously and the
//     first status() already has a reference).
//   * If the log held fewer (a fresh server), applied events keep joining
//     the reference until it holds `reference_events`; then it freezes and
//     the window starts filling. Until then the report is all zeros and
//     status tells how far along the reference is.
//   * After a successful retrain, the newest `reference_events` events of
//     the log prefix it trained on (built on the retrain thread, installed
//     by the model thread with the model). Frozen whatever its size: it is
//     the training data.
//
// Every applied event is observed once (not once per Left-Right copy); the
// report (O(buckets), allocates) is recomputed at most every
// report_every_seconds and published through LiveStatus.
//
// Thread-safety: a LiveDrift belongs to the model thread (Open seeds it
// before the thread starts). BuildDriftReference is a pure function of the
// log and may run on any thread. LiveDriftStatus is a plain value.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/event_types.h"
#include "engine/core/status.h"
#include "engine/live/drift.h"
#include "storage/event_log.h"

namespace streamrec::storage {

struct LiveDriftOptions {
  // false: no monitor at all (no per-event cost, no drift in status or
  // /metrics).
  bool enabled = true;
  // Events in the reference. More: a steadier reference and more of the
  // catalog in it; costs a longer scan at Open and after each retrain, and
  // memory for the distinct ids while it is built.
  size_t reference_events = 100000;
  // Buckets, window, smoothing and rating rounding (engine/live/drift.h).
  engine::DriftOptions drift;
  // The published report is recomputed at most this often (and whenever
  // the reference changes). Smaller is fresher and costs the model thread
  // one O(4 * top_n) report per period; 0 recomputes after every batch.
  double report_every_seconds = 1.0;
  // A published report joins the history (LiveDriftStatus::history) at
  // most this often; the history keeps the newest kDriftHistoryPoints.
  double history_every_seconds = 5.0;
};

// The newest reports kept for the history: 30 minutes at the default
// period.
inline constexpr size_t kDriftHistoryPoints = 360;

// One report of the history: when, how full the window was, and per
// dimension (DriftDimension order) its PSI and whether the window held
// enough events for it to mean something (DimensionDrift::enough_data).
struct DriftPoint {
  int64_t time_ms = 0;  // wall clock, ms since the epoch
  uint64_t observed = 0;
  uint64_t window_events = 0;
  uint64_t reference_through_seq = 0;  // changes when the reference does
  std::array<double, engine::kDriftDimensions> psi{};
  std::array<bool, engine::kDriftDimensions> enough_data{};
};

// Where the current reference came from.
enum class DriftReferenceSource { kNone, kLog, kLive, kRetrain };
std::string_view DriftReferenceSourceName(DriftReferenceSource s);  // "none", "log", ...

// What status() shows of drift; a copy of the newest published report.
struct LiveDriftStatus {
  bool enabled = false;
  engine::DriftReport report;     // all zeros until the reference is frozen
  size_t window = 0;              // the window's capacity, events
  uint64_t reference_events = 0;  // events in the reference so far
  uint64_t reference_target = 0;  // options.reference_events
  bool frozen = false;            // the reference is complete; the window compares
  DriftReferenceSource source = DriftReferenceSource::kNone;
  uint64_t reference_through_seq = 0;  // newest seq the reference holds (0: none)
  // When `report` was computed, and its age as of the status() call (-1:
  // never computed).
  std::chrono::steady_clock::time_point computed_at{};
  double report_age_seconds = -1.0;
  // Why the newest retrain's reference could not be built (the old one
  // stays); empty if none failed.
  std::string error;
  // The frozen reports of the last kDriftHistoryPoints periods, oldest
  // first (history_every_seconds apart, or more when no events came); null
  // before the first. Shared and immutable: a status copies no points
  // (/healthz and /metrics read the status too).
  std::shared_ptr<const std::vector<DriftPoint>> history;
};

// The event as drift sees it (views into `e`): the rating only for a type
// that carries one.
engine::DriftEvent ToDriftEvent(const StoredEvent& e, const engine::EventTypes& types);

// The reference built from the newest `max_events` events with seq <=
// through_seq (fewer if the log holds fewer).
StatusOr<engine::DriftReference> BuildDriftReference(const EventLog& log,
                                                     const engine::EventTypes& types,
                                                     const engine::DriftOptions& options,
                                                     uint64_t through_seq, size_t max_events);

class LiveDrift {
 public:
  LiveDrift(const LiveDriftOptions& options, const engine::EventTypes* types);
  LiveDrift(const LiveDrift&) = delete;
  LiveDrift& operator=(const LiveDrift&) = delete;

  // Open: the reference from the log's newest events up to last_seq;
  // freezes it if the log held reference_events of them.
  Status Seed(const EventLog& log, uint64_t last_seq);

  // One applied event: joins the reference while it grows, the window
  // once it is frozen.
  void Observe(const StoredEvent& e);

  // A forgotten user leaves the reference's bucket names (and so status'
  // top_bucket) from the next report on; their counts stay.
  void ForgetUser(std::string_view user);
  // A retrain's reference (through_seq: the prefix it trained on).
  void Install(engine::DriftReference reference, uint64_t through_seq);
  void NoteError(std::string error) { error_ = std::move(error); }

  // True if a report is due at `now` (period elapsed with new events, or
  // the reference changed); then Publish() computes it.
  bool Due(std::chrono::steady_clock::time_point now) const;
  LiveDriftStatus Publish(std::chrono::steady_clock::time_point now);

 private:
  void Freeze();

  LiveDriftOptions options_;
  const engine::EventTypes* types_;  // not owned; outlives this
  // While the reference grows: its builder and event count. Empty once
  // frozen.
  std::optional<engine::DriftReferenceBuilder> builder_;
  uint64_t growing_events_ = 0;
  engine::DriftMonitor monitor_;
  DriftReferenceSource source_ = DriftReferenceSource::kNone;
  uint64_t reference_through_seq_ = 0;
  std::string error_;
  uint64_t observed_ = 0;  // events seen since Open
  uint64_t published_observed_ = 0;
  bool dirty_ = true;  // the reference changed since the last report
  std::chrono::steady_clock::time_point published_at_{};
  std::shared_ptr<const std::vector<DriftPoint>> history_;  // replaced per point
  std::chrono::steady_clock::time_point history_at_{};
};

}  // namespace streamrec::storage
