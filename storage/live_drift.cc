#include "storage/live_drift.h"

#include <algorithm>

#include "engine/core/event.h"

namespace streamrec::storage {
namespace {

// First seq of the newest `n` seqs ending at `through` (1-based seqs).
uint64_t FirstOfNewest(uint64_t through, size_t n) { return through >= n ? through - n + 1 : 1; }

// Adds the events with seq in [from, through] to *builder; *count gets how
// many, *last the newest seq seen.
Status ScanInto(const EventLog& log, const engine::EventTypes& types, uint64_t from,
                uint64_t through, engine::DriftReferenceBuilder* builder, uint64_t* count,
                uint64_t* last) {
  if (through == 0 || from > through) return Status::OK();
  return log.Scan(from, through, [&](const StoredEvent& e) {
    builder->Add(ToDriftEvent(e, types));
    ++*count;
    *last = e.seq;
    return true;
  });
}

}  // namespace

std::string_view DriftReferenceSourceName(DriftReferenceSource s) {
  switch (s) {
    case DriftReferenceSource::kNone:
      return "none";
    case DriftReferenceSource::kLog:
      return "log";
    case DriftReferenceSource::kLive:
      return "live";
    case DriftReferenceSource::kRetrain:
      return "retrain";
  }
  return "unknown";
}

engine::DriftEvent ToDriftEvent(const StoredEvent& e, const engine::EventTypes& types) {
  engine::DriftEvent d{e.user, e.item, e.type, std::nullopt};
  // A type the registry lacks cannot be in the log (Open refuses it), but
  // drift is no place to fail over it: it then counts without a rating.
  if (const auto t = types.Find(e.type); t && types.spec(*t).explicit_rating) d.rating = e.value;
  return d;
}

StatusOr<engine::DriftReference> BuildDriftReference(const EventLog& log,
                                                     const engine::EventTypes& types,
                                                     const engine::DriftOptions& options,
                                                     uint64_t through_seq, size_t max_events) {
  engine::DriftReferenceBuilder builder(options);
  uint64_t count = 0, last = 0;
  if (max_events > 0) {
    STREAMREC_RETURN_IF_ERROR(ScanInto(log, types, FirstOfNewest(through_seq, max_events),
                                       through_seq, &builder, &count, &last));
  }
  return builder.Build();
}

LiveDrift::LiveDrift(const LiveDriftOptions& options, const engine::EventTypes* types)
    : options_(options),
      types_(types),
      builder_(std::in_place, options.drift),
      monitor_(engine::DriftReference()) {}

Status LiveDrift::Seed(const EventLog& log, uint64_t last_seq) {
  // Forgotten users leave gaps in the seq range, so the scan may find fewer
  // than reference_events even in a long log; live events then top it up.
  STREAMREC_RETURN_IF_ERROR(ScanInto(log, *types_,
                                     FirstOfNewest(last_seq, options_.reference_events), last_seq,
                                     &*builder_, &growing_events_, &reference_through_seq_));
  if (growing_events_ > 0) source_ = DriftReferenceSource::kLog;
  if (growing_events_ >= options_.reference_events) Freeze();
  dirty_ = true;
  return Status::OK();
}

void LiveDrift::ForgetUser(std::string_view user) {
  if (builder_) {
    builder_->Forget(engine::DriftDimension::kUser, user);
  } else if (monitor_.Forget(engine::DriftDimension::kUser, user)) {
    dirty_ = true;  // the published report may name them
  }
}

void LiveDrift::Observe(const StoredEvent& e) {
  ++observed_;
  if (!builder_) {
    monitor_.Observe(ToDriftEvent(e, *types_));
    return;
  }
  builder_->Add(ToDriftEvent(e, *types_));
  reference_through_seq_ = e.seq;
  if (++growing_events_ >= options_.reference_events) {
    source_ = DriftReferenceSource::kLive;
    Freeze();
  }
}

void LiveDrift::Freeze() {
  // Sorts the distinct ids once (tens of ms for 100k distinct users); it
  // happens once per Open at most, so the model thread takes it inline.
  monitor_.SetReference(builder_->Build());
  builder_.reset();
  dirty_ = true;
}

void LiveDrift::Install(engine::DriftReference reference, uint64_t through_seq) {
  builder_.reset();
  growing_events_ = reference.events();
  monitor_.SetReference(std::move(reference));
  source_ = DriftReferenceSource::kRetrain;
  reference_through_seq_ = through_seq;
  error_.clear();
  dirty_ = true;
}

bool LiveDrift::Due(std::chrono::steady_clock::time_point now) const {
  if (dirty_) return true;
  if (observed_ == published_observed_) return false;
  return std::chrono::duration<double>(now - published_at_).count() >=
         options_.report_every_seconds;
}

LiveDriftStatus LiveDrift::Publish(std::chrono::steady_clock::time_point now) {
  LiveDriftStatus s;
  s.enabled = true;
  s.frozen = !builder_.has_value();
  if (s.frozen) s.report = monitor_.Report();
  for (size_t i = 0; i < engine::kDriftDimensions; ++i) {
    s.report.dimensions[i].dimension = static_cast<engine::DriftDimension>(i);
  }
  s.window = std::max<size_t>(options_.drift.window, 1);
  s.reference_events = s.frozen ? monitor_.reference().events() : growing_events_;
  s.reference_target = options_.reference_events;
  s.source = source_;
  s.reference_through_seq = reference_through_seq_;
  s.computed_at = now;
  s.error = error_;
  if (s.frozen && s.report.window_events > 0 &&
      (history_ == nullptr || std::chrono::duration<double>(now - history_at_).count() >=
                                  options_.history_every_seconds)) {
    DriftPoint p;
    p.time_ms = engine::WallClockMs();
    p.observed = s.report.observed;
    p.window_events = s.report.window_events;
    p.reference_through_seq = reference_through_seq_;
    for (size_t i = 0; i < engine::kDriftDimensions; ++i) {
      p.psi[i] = s.report.dimensions[i].psi;
      p.enough_data[i] = s.report.dimensions[i].enough_data;
    }
    // A new vector each time (360 points every 5 s at most): the published
    // one may be read by any number of status copies.
    auto next = std::make_shared<std::vector<DriftPoint>>();
    if (history_ != nullptr) {
      const size_t keep = std::min(history_->size(), kDriftHistoryPoints - 1);
      next->assign(history_->end() - static_cast<std::ptrdiff_t>(keep), history_->end());
    }
    next->push_back(p);
    history_ = std::move(next);
    history_at_ = now;
  }
  s.history = history_;
  published_observed_ = observed_;
  published_at_ = now;
  dirty_ = false;
  return s;
}

}  // namespace streamrec::storage
