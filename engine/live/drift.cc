#include "engine/live/drift.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>

namespace streamrec::engine {
namespace {

constexpr DriftDimension kDims[] = {DriftDimension::kItem, DriftDimension::kUser,
                                    DriftDimension::kEventType, DriftDimension::kRating};
constexpr const char* kOtherLabel = "(other)";

// Smoothed proportions of a histogram.
std::vector<double> Proportions(std::span<const double> counts, double alpha) {
  double total = 0.0;
  for (double c : counts) total += c;
  const double denom = total + alpha * static_cast<double>(counts.size());
  std::vector<double> p(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    p[i] = denom > 0.0 ? (counts[i] + alpha) / denom : 1.0 / static_cast<double>(counts.size());
  }
  return p;
}

// One PSI term, 0 where both sides are 0 (unsmoothed, empty bucket).
double PsiTerm(double r, double a) {
  if (r <= 0.0 && a <= 0.0) return 0.0;
  if (r <= 0.0 || a <= 0.0) return HUGE_VAL;
  return (a - r) * std::log(a / r);
}

// The `labels` buckets' plain shares on both sides: the kDriftShares
// largest in the reference (ties by label), then the last, "other" one.
// nr, nw: the sums of `reference` and `window`.
void Shares(const std::vector<std::string>& labels, std::span<const double> reference,
            std::span<const double> window, double nr, double nw,
            std::vector<BucketShare>* out) {
  const auto share = [](double c, double n) { return n > 0 ? c / n : 0.0; };
  std::vector<size_t> order(labels.size() - 1);  // the tracked buckets
  for (size_t b = 0; b < order.size(); ++b) order[b] = b;
  const size_t n = std::min(order.size(), kDriftShares);
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
                    [&](size_t a, size_t b) {
                      if (reference[a] != reference[b]) return reference[a] > reference[b];
                      return labels[a] < labels[b];
                    });
  order.resize(n);
  order.push_back(labels.size() - 1);
  out->clear();
  for (size_t b : order) {
    out->push_back({labels[b], share(reference[b], nr), share(window[b], nw)});
  }
}

// DimensionDrift::noise_floor; nr, nw as for Shares.
double NoiseFloor(std::span<const double> reference, std::span<const double> window, double nr,
                  double nw) {
  if (nw <= 0 || nr <= 0) return std::numeric_limits<double>::infinity();
  double buckets = 0;
  for (size_t b = 0; b < reference.size(); ++b) {
    if (reference[b] > 0 || window[b] > 0) buckets += 1;
  }
  return std::max(buckets - 1, 0.0) * (1.0 / nr + 1.0 / nw);
}

}  // namespace

std::string_view DriftDimensionName(DriftDimension d) {
  switch (d) {
    case DriftDimension::kItem:
      return "item";
    case DriftDimension::kUser:
      return "user";
    case DriftDimension::kEventType:
      return "type";
    case DriftDimension::kRating:
      return "rating";
  }
  return "?";
}

double PopulationStabilityIndex(std::span<const double> reference, std::span<const double> actual,
                                double alpha) {
  assert(reference.size() == actual.size());
  const std::vector<double> r = Proportions(reference, alpha), a = Proportions(actual, alpha);
  double psi = 0.0;
  for (size_t i = 0; i < r.size(); ++i) psi += PsiTerm(r[i], a[i]);
  return psi;
}

double KlDivergence(std::span<const double> p, std::span<const double> q, double alpha) {
  assert(p.size() == q.size());
  const std::vector<double> pp = Proportions(p, alpha), qq = Proportions(q, alpha);
  double kl = 0.0;
  for (size_t i = 0; i < pp.size(); ++i) {
    if (pp[i] <= 0.0) continue;
    if (qq[i] <= 0.0) return HUGE_VAL;
    kl += pp[i] * std::log(pp[i] / qq[i]);
  }
  return std::max(kl, 0.0);  // rounding can leave -1e-17 for equal inputs
}

std::string_view DriftKey(const DriftEvent& e, DriftDimension d, double rating_step,
                          std::string* rating_buf) {
  switch (d) {
    case DriftDimension::kItem:
      return e.item;
    case DriftDimension::kUser:
      return e.user;
    case DriftDimension::kEventType:
      return e.type;
    case DriftDimension::kRating:
      if (!e.rating || !std::isfinite(*e.rating)) return {};
      *rating_buf =
          fmt::format("{:g}", rating_step > 0.0 ? std::round(*e.rating / rating_step) * rating_step
                                                : static_cast<double>(*e.rating));
      return *rating_buf;
  }
  return {};
}

DriftReference::DriftReference() {
  for (Dim& dim : dims_) {
    dim.labels = {kOtherLabel};
    dim.counts = {0.0};
  }
}

uint32_t DriftReference::Bucket(DriftDimension d, std::string_view key) const {
  const Dim& dim = dims_[Idx(d)];
  const auto it = dim.index.find(key);
  return it == dim.index.end() ? static_cast<uint32_t>(dim.labels.size() - 1) : it->second;
}

DriftReferenceBuilder::DriftReferenceBuilder(const DriftOptions& options) : options_(options) {}

void DriftReferenceBuilder::Add(const DriftEvent& e) {
  ++events_;
  for (DriftDimension d : kDims) {
    const std::string_view key = DriftKey(e, d, options_.rating_step, &rating_buf_);
    if (key.empty()) continue;
    auto& counts = counts_[static_cast<size_t>(d)];
    auto it = counts.find(key);
    if (it == counts.end()) it = counts.emplace(std::string(key), 0).first;
    ++it->second;
  }
}

void DriftReferenceBuilder::Forget(DriftDimension d, std::string_view key) {
  auto& counts = counts_[static_cast<size_t>(d)];
  if (auto it = counts.find(key); it != counts.end()) counts.erase(it);
}

bool DriftReference::Forget(DriftDimension d, std::string_view key) {
  Dim& dim = dims_[Idx(d)];
  auto it = dim.index.find(key);
  if (it == dim.index.end()) return false;
  dim.labels[it->second] = "(forgotten)";
  dim.index.erase(it);
  return true;
}

DriftReference DriftReferenceBuilder::Build() const {
  DriftReference ref;
  ref.options_ = options_;
  ref.events_ = events_;
  for (DriftDimension d : kDims) {
    const auto& counts = counts_[static_cast<size_t>(d)];
    std::vector<std::pair<std::string, uint64_t>> sorted(counts.begin(), counts.end());
    // Most frequent first, ties by name: the same data always gives the
    // same buckets.
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    DriftReference::Dim& dim = ref.dims_[static_cast<size_t>(d)];
    dim.labels.clear();
    dim.counts.clear();
    const size_t kept = std::min(sorted.size(), options_.top_n);
    double other = 0.0;
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (i < kept) {
        dim.index.emplace(sorted[i].first, static_cast<uint32_t>(i));
        dim.labels.push_back(sorted[i].first);
        dim.counts.push_back(static_cast<double>(sorted[i].second));
      } else {
        other += static_cast<double>(sorted[i].second);
      }
    }
    dim.labels.push_back(kOtherLabel);
    dim.counts.push_back(other);
  }
  return ref;
}

DriftMonitor::DriftMonitor(DriftReference reference) { SetReference(std::move(reference)); }

void DriftMonitor::SetReference(DriftReference reference) {
  reference_ = std::move(reference);
  ring_.assign(std::max<size_t>(reference_.options().window, 1), {});
  head_ = size_ = 0;
  observed_ = 0;
  for (DriftDimension d : kDims) {
    const size_t i = static_cast<size_t>(d);
    window_counts_[i].assign(reference_.counts(d).size(), 0.0);
    window_totals_[i] = 0;
  }
}

void DriftMonitor::Observe(const DriftEvent& e) {
  auto& slot = ring_[head_];
  if (size_ == ring_.size()) {  // the oldest event leaves the window
    for (size_t i = 0; i < kDriftDimensions; ++i) {
      if (slot[i] == kNone) continue;
      window_counts_[i][slot[i]] -= 1.0;
      --window_totals_[i];
    }
  } else {
    ++size_;
  }
  const double step = reference_.options().rating_step;
  for (DriftDimension d : kDims) {
    const size_t i = static_cast<size_t>(d);
    const std::string_view key = DriftKey(e, d, step, &rating_buf_);
    slot[i] = key.empty() ? kNone : reference_.Bucket(d, key);
    if (slot[i] == kNone) continue;
    window_counts_[i][slot[i]] += 1.0;
    ++window_totals_[i];
  }
  head_ = (head_ + 1) % ring_.size();
  ++observed_;
}

DriftReport DriftMonitor::Report() const {
  DriftReport r;
  r.observed = observed_;
  r.window_events = size_;
  const double alpha = reference_.options().smoothing;
  for (DriftDimension d : kDims) {
    const size_t i = static_cast<size_t>(d);
    DimensionDrift& out = r.dimensions[i];
    out.dimension = d;
    out.window_events = window_totals_[i];
    const std::vector<double>& ref = reference_.counts(d);
    const double nr = std::accumulate(ref.begin(), ref.end(), 0.0);
    const auto nw = static_cast<double>(window_totals_[i]);
    Shares(reference_.labels(d), ref, window_counts_[i], nr, nw, &out.shares);
    out.noise_floor = NoiseFloor(ref, window_counts_[i], nr, nw);
    out.enough_data = out.noise_floor <= kDriftNoiseLimit;
    if (window_totals_[i] == 0) continue;
    out.psi = PopulationStabilityIndex(ref, window_counts_[i], alpha);
    out.kl = KlDivergence(window_counts_[i], ref, alpha);
    const std::vector<double> pr = Proportions(ref, alpha);
    const std::vector<double> pw = Proportions(window_counts_[i], alpha);
    out.other_reference = pr.back();
    out.other_window = pw.back();
    size_t top = 0;
    for (size_t b = 1; b < pr.size(); ++b) {
      if (PsiTerm(pr[b], pw[b]) > PsiTerm(pr[top], pw[top])) top = b;
    }
    out.top_bucket = reference_.labels(d)[top];
    out.top_reference = pr[top];
    out.top_window = pw[top];
  }
  return r;
}

}  // namespace streamrec::engine
