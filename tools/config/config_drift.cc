#include "tools/config/config_drift.h"

#include <fmt/format.h>

#include <boost/program_options/value_semantic.hpp>
#include <cmath>
#include <string_view>

namespace streamrec::tools {

namespace po = boost::program_options;

namespace {

// Upper bounds that catch typos (an extra zero or three) while leaving
// room: the window costs 16 bytes per event, the reference a scan of its
// events at start-up and after each retrain.
constexpr int64_t kMaxReferenceEvents = 100'000'000;
constexpr int64_t kMaxWindow = 10'000'000;
constexpr int64_t kMaxTopN = 100'000;
constexpr double kMaxSmoothing = 1000.0;
constexpr double kMaxRatingStep = 1000.0;

Status IntIn(const std::string& path, std::string_view key, int64_t v, int64_t lo, int64_t hi) {
  if (v >= lo && v <= hi) return Status::OK();
  return Status::InvalidArgument(
      fmt::format("{}: drift.{} must be in [{}, {}], got {}", path, key, lo, hi, v));
}

}  // namespace

DriftSection DriftSectionFrom(const storage::LiveDriftOptions& defaults) {
  DriftSection s;
  s.enabled = defaults.enabled;
  s.reference_events = static_cast<int64_t>(defaults.reference_events);
  s.window = static_cast<int64_t>(defaults.drift.window);
  s.top_n = static_cast<int64_t>(defaults.drift.top_n);
  s.smoothing = defaults.drift.smoothing;
  s.rating_step = defaults.drift.rating_step;
  return s;
}

void DescribeDriftSection(po::options_description* d, DriftSection* s) {
  d->add_options()("drift.enabled", po::value(&s->enabled))("drift.reference_events",
                                                            po::value(&s->reference_events))(
      "drift.window", po::value(&s->window))("drift.top_n", po::value(&s->top_n))(
      "drift.smoothing", po::value(&s->smoothing))("drift.rating_step", po::value(&s->rating_step));
}

Status ApplyDriftSection(const std::string& path, const DriftSection& s,
                         storage::LiveDriftOptions* out) {
  for (const Status& st : {
           IntIn(path, "reference_events", s.reference_events, 1, kMaxReferenceEvents),
           IntIn(path, "window", s.window, 1, kMaxWindow),
           IntIn(path, "top_n", s.top_n, 1, kMaxTopN),
       }) {
    if (!st.ok()) return st;
  }
  // Smoothing 0 would make an empty bucket an infinite divergence.
  if (!(s.smoothing > 0.0) || s.smoothing > kMaxSmoothing) {
    return Status::InvalidArgument(fmt::format("{}: drift.smoothing must be in (0, {}], got {}",
                                               path, kMaxSmoothing, s.smoothing));
  }
  if (!(s.rating_step >= 0.0) || s.rating_step > kMaxRatingStep) {
    return Status::InvalidArgument(fmt::format("{}: drift.rating_step must be in [0, {}], got {}",
                                               path, kMaxRatingStep, s.rating_step));
  }
  out->enabled = s.enabled;
  out->reference_events = static_cast<size_t>(s.reference_events);
  out->drift.window = static_cast<size_t>(s.window);
  out->drift.top_n = static_cast<size_t>(s.top_n);
  out->drift.smoothing = s.smoothing;
  out->drift.rating_step = s.rating_step;
  return Status::OK();
}

}  // namespace streamrec::tools
