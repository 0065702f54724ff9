// Drift: how far the distribution of recent events has moved from a
// reference (the data the model was trained on), per dimension (items,
// users, event types, rating values), as population stability index and
// KL divergence over categorical histograms.
//
// High-cardinality ids are bucketed: the reference's top_n most frequent
// values of a dimension get a bucket each, everything else (including ids
// never seen in the reference) shares one "other" bucket. A rising "other"
// share is itself drift: traffic moved to ids the model saw little of.
// Ratings are bucketed by value rounded to rating_step.
//
// Both measures use additively smoothed proportions, p_i = (c_i + α) /
// (n + α·B) over B buckets, so an empty bucket on either side stays finite:
//   PSI = Σ (a_i − r_i) · ln(a_i / r_i)       (symmetric, = KL(a‖r) + KL(r‖a))
//   KL  = Σ a_i · ln(a_i / r_i)               (recent a against reference r)
// Rule of thumb for PSI: < 0.1 stable, 0.1–0.25 moderate shift, > 0.25
// major shift. Both are 0 for identical histograms.
//
// Thread-safety: DriftReference is immutable once built; share it freely.
// DriftReferenceBuilder and DriftMonitor are not synchronised: one writer
// calls Observe(); Report() is const and may run on the writer thread or
// under the caller's lock (the server should publish Report()'s value, which
// is a small copyable struct, to its readers).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace streamrec::engine {

enum class DriftDimension : uint8_t { kItem = 0, kUser = 1, kEventType = 2, kRating = 3 };
inline constexpr size_t kDriftDimensions = 4;
// "item", "user", "type", "rating".
std::string_view DriftDimensionName(DriftDimension d);

// reference, actual: bucket counts, same length (>= 1). alpha >= 0: the
// smoothing pseudo-count per bucket (0 only when no bucket is empty).
double PopulationStabilityIndex(std::span<const double> reference, std::span<const double> actual,
                                double alpha);
// KL(p ‖ q) in nats, over smoothed proportions of the counts p and q.
double KlDivergence(std::span<const double> p, std::span<const double> q, double alpha);

struct DriftOptions {
  // Buckets of their own per id dimension; the rest go to "other". More
  // buckets see finer shifts but need larger windows to be estimated
  // without noise (PSI grows with B / window even for a stable stream).
  size_t top_n = 50;
  // Events in the recent window the monitor compares. Larger is steadier,
  // smaller reacts sooner. Memory: 16 bytes per event.
  size_t window = 10000;
  // Pseudo-count per bucket for both histograms.
  double smoothing = 0.5;
  // Rating buckets: values rounded to a multiple of this.
  double rating_step = 0.5;
};

// One event as drift sees it: the application's ids and type name, and the
// rating value for explicit ratings (nullopt for implicit events).
struct DriftEvent {
  std::string_view user;
  std::string_view item;
  std::string_view type;
  std::optional<float> rating;
};

// The frozen reference: per dimension, the tracked categories and their
// counts (bucket labels()[b], counts()[b]; the last bucket is "other").
class DriftReference {
 public:
  // An empty reference: one "other" bucket per dimension, no events.
  DriftReference();
  // Bucket of a value (the "other" bucket if it is not tracked).
  uint32_t Bucket(DriftDimension d, std::string_view key) const;
  const std::vector<std::string>& labels(DriftDimension d) const { return dims_[Idx(d)].labels; }
  const std::vector<double>& counts(DriftDimension d) const { return dims_[Idx(d)].counts; }
  uint64_t events() const { return events_; }
  const DriftOptions& options() const { return options_; }
  // Forgets a tracked value (a user exercising the right to be forgotten):
  // its bucket keeps its counts under the label "(forgotten)", and later
  // events with that key fall into "other". False if it was not tracked.
  bool Forget(DriftDimension d, std::string_view key);

 private:
  friend class DriftReferenceBuilder;
  static size_t Idx(DriftDimension d) { return static_cast<size_t>(d); }
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Dim {
    std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> index;
    std::vector<std::string> labels;  // tracked values, then "(other)"
    std::vector<double> counts;       // same size as labels
  };
  DriftOptions options_;
  std::array<Dim, kDriftDimensions> dims_;
  uint64_t events_ = 0;
};

// The key an event has in each dimension ("" = the event has none there,
// e.g. no rating). `rating_buf` holds the rating's text.
std::string_view DriftKey(const DriftEvent& e, DriftDimension d, double rating_step,
                          std::string* rating_buf);

// Counts every value of the reference data (memory grows with its distinct
// ids), then keeps the top_n per dimension.
class DriftReferenceBuilder {
 public:
  explicit DriftReferenceBuilder(const DriftOptions& options = {});
  void Add(const DriftEvent& e);
  // Drops a value's counts (see DriftReference::Forget).
  void Forget(DriftDimension d, std::string_view key);
  DriftReference Build() const;

 private:
  DriftOptions options_;
  // Heterogeneous lookup: counting a value seen before allocates nothing.
  std::array<std::unordered_map<std::string, uint64_t, DriftReference::Hash, std::equal_to<>>,
             kDriftDimensions>
      counts_;
  uint64_t events_ = 0;
  std::string rating_buf_;
};

// The shares are plain proportions (count / events), not the smoothed ones
// PSI uses: what an operator compares by eye.
struct BucketShare {
  std::string label;
  double reference = 0.0;
  double window = 0.0;
};

// How many of the reference's largest buckets a report lists (shares).
inline constexpr size_t kDriftShares = 10;
// A PSI whose noise floor (below) is above this is not reported as a
// measure: the window holds too few events to tell drift from chance.
inline constexpr double kDriftNoiseLimit = 0.05;

struct DimensionDrift {
  DriftDimension dimension = DriftDimension::kItem;
  double psi = 0.0;
  double kl = 0.0;
  uint64_t window_events = 0;    // window events with a value here (0: psi, kl = 0)
  double other_reference = 0.0;  // share of the "other" bucket, reference
  double other_window = 0.0;     // ... and recent window
  // The bucket with the largest PSI term, and its share on both sides.
  std::string top_bucket;
  double top_reference = 0.0;
  double top_window = 0.0;
  // The reference's kDriftShares largest tracked buckets, largest first,
  // then "(other)", with their shares on both sides.
  std::vector<BucketShare> shares;
  // The PSI that two samples of these sizes drawn from one distribution
  // show on average, (B - 1) * (1 / reference + 1 / window) over the B
  // buckets either side has events in (PSI ~ sum (a - r)^2 / p for small
  // shifts); +inf with an empty window. A stable stream reads about this.
  double noise_floor = 0.0;
  // noise_floor <= kDriftNoiseLimit: psi says something about the stream
  // rather than about the window's size.
  bool enough_data = false;
};

struct DriftReport {
  uint64_t observed = 0;  // events observed since the reference was set
  uint64_t window_events = 0;
  std::array<DimensionDrift, kDriftDimensions> dimensions;
};

// A reference histogram and a sliding window of the most recent events
// (fixed memory: `window` events of 4 bucket ids).
class DriftMonitor {
 public:
  explicit DriftMonitor(DriftReference reference);
  DriftMonitor(const DriftMonitor&) = delete;
  DriftMonitor& operator=(const DriftMonitor&) = delete;

  void Observe(const DriftEvent& e);
  // PSI/KL of the current window against the reference; O(buckets).
  DriftReport Report() const;
  // A new reference (e.g. after a retrain on newer data); empties the window.
  void SetReference(DriftReference reference);
  // DriftReference::Forget on the reference; the window keeps its counts.
  bool Forget(DriftDimension d, std::string_view key) { return reference_.Forget(d, key); }
  const DriftReference& reference() const { return reference_; }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  DriftReference reference_;
  std::vector<std::array<uint32_t, kDriftDimensions>> ring_;  // size options.window
  size_t head_ = 0;                                           // next slot to write
  size_t size_ = 0;                                           // filled slots
  uint64_t observed_ = 0;
  std::array<std::vector<double>, kDriftDimensions> window_counts_;
  std::array<uint64_t, kDriftDimensions> window_totals_{};
  std::string rating_buf_;
};

}  // namespace streamrec::engine
