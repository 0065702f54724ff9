#include "engine/live/drift.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/core/random.h"

namespace streamrec::engine {
namespace {

// An event stream of ids "u<k>"/"i<k>" for tests (the views are kept alive
// by the owning strings).
struct Stream {
  std::vector<std::string> users, items, types;
  std::vector<std::optional<float>> ratings;
  void Add(std::string user, std::string item, std::string type, std::optional<float> r) {
    users.push_back(std::move(user));
    items.push_back(std::move(item));
    types.push_back(std::move(type));
    ratings.push_back(r);
  }
  DriftEvent At(size_t n) const { return {users[n], items[n], types[n], ratings[n]}; }
  size_t size() const { return users.size(); }
};

// n events: items i0..i(items-1) from `offset`, Zipf-like skew (item k
// weighs 1/(k+1)), users uniform, ratings around `mean_rating`.
Stream Draw(size_t n, uint64_t seed, int item_offset = 0, float mean_rating = 4.0f,
            const std::string& type = "rating") {
  SplitMix64 rng(seed);
  const int kItems = 100;
  std::vector<double> cdf(kItems);
  double total = 0.0;
  for (int k = 0; k < kItems; ++k) cdf[k] = total += 1.0 / (k + 1);
  Stream s;
  for (size_t e = 0; e < n; ++e) {
    const double x = rng.NextDouble() * total;
    const int k = static_cast<int>(std::lower_bound(cdf.begin(), cdf.end(), x) - cdf.begin());
    const float r = std::clamp(std::round(mean_rating + rng.NextGaussian()), 1.0f, 5.0f);
    s.Add(fmt::format("u{}", rng.Uniform(50)), fmt::format("i{}", k + item_offset), type,
          type == "rating" ? std::optional<float>(r) : std::nullopt);
  }
  return s;
}

DriftReference Reference(const Stream& s, const DriftOptions& o) {
  DriftReferenceBuilder b(o);
  for (size_t n = 0; n < s.size(); ++n) b.Add(s.At(n));
  return b.Build();
}

const DimensionDrift& Dim(const DriftReport& r, DriftDimension d) {
  return r.dimensions[static_cast<size_t>(d)];
}

TEST(DriftMeasuresTest, PsiMatchesAHandComputation) {
  // Reference 50/50, actual 90/10, no smoothing:
  // PSI = (0.9-0.5)·ln(0.9/0.5) + (0.1-0.5)·ln(0.1/0.5)
  //     = 0.4·0.587787 + 0.4·1.609438 = 0.878890
  const std::vector<double> ref = {50, 50}, act = {90, 10};
  EXPECT_NEAR(PopulationStabilityIndex(ref, act, 0.0), 0.878890, 1e-6);
  // KL(act ‖ ref) = 0.9·ln(1.8) + 0.1·ln(0.2) = 0.529008 - 0.160944 = 0.368064
  EXPECT_NEAR(KlDivergence(act, ref, 0.0), 0.368064, 1e-6);
  // PSI is the symmetrised KL.
  EXPECT_NEAR(PopulationStabilityIndex(ref, act, 0.0),
              KlDivergence(act, ref, 0.0) + KlDivergence(ref, act, 0.0), 1e-12);
}

TEST(DriftMeasuresTest, KlPropertiesAndSmoothing) {
  const std::vector<double> p = {10, 20, 30, 40}, q = {40, 30, 20, 10}, z = {0, 50, 50, 0};
  EXPECT_NEAR(KlDivergence(p, p, 0.5), 0.0, 1e-15);
  EXPECT_NEAR(PopulationStabilityIndex(p, p, 0.5), 0.0, 1e-15);
  // Scale does not matter: same proportions, no divergence.
  const std::vector<double> p10 = {100, 200, 300, 400};
  EXPECT_NEAR(KlDivergence(p, p10, 0.0), 0.0, 1e-15);
  EXPECT_GT(KlDivergence(p, q, 0.5), 0.0);
  EXPECT_GT(KlDivergence(p, z, 0.5), KlDivergence(z, p, 0.5));  // asymmetric
  // An empty bucket: infinite without smoothing, finite with it.
  EXPECT_TRUE(std::isinf(KlDivergence(p, z, 0.0)));
  EXPECT_TRUE(std::isinf(PopulationStabilityIndex(z, p, 0.0)));
  EXPECT_TRUE(std::isfinite(KlDivergence(p, z, 0.5)));
  EXPECT_TRUE(std::isfinite(PopulationStabilityIndex(z, p, 0.5)));
  // Smoothing pulls both sides together: less divergence.
  EXPECT_LT(PopulationStabilityIndex(p, q, 10.0), PopulationStabilityIndex(p, q, 0.5));
}

TEST(DriftReferenceTest, KeepsTheTopNAndAnOtherBucket) {
  Stream s;
  for (int n = 0; n < 5; ++n) s.Add("u", "a", "view", std::nullopt);
  for (int n = 0; n < 3; ++n) s.Add("u", "b", "view", std::nullopt);
  s.Add("u", "c", "rating", 4.4f);
  s.Add("u", "d", "rating", 1.1f);
  DriftOptions o;
  o.top_n = 2;
  const DriftReference ref = Reference(s, o);
  EXPECT_EQ(ref.events(), 10u);
  EXPECT_EQ(ref.labels(DriftDimension::kItem), (std::vector<std::string>{"a", "b", "(other)"}));
  EXPECT_EQ(ref.counts(DriftDimension::kItem), (std::vector<double>{5, 3, 2}));
  EXPECT_EQ(ref.Bucket(DriftDimension::kItem, "b"), 1u);
  EXPECT_EQ(ref.Bucket(DriftDimension::kItem, "never-seen"), 2u);
  // Ratings rounded to 0.5 steps; implicit events have none.
  EXPECT_EQ(ref.labels(DriftDimension::kRating), (std::vector<std::string>{"1", "4.5", "(other)"}));
  EXPECT_EQ(ref.counts(DriftDimension::kRating), (std::vector<double>{1, 1, 0}));
  EXPECT_EQ(ref.counts(DriftDimension::kEventType), (std::vector<double>{8, 2, 0}));
}

TEST(DriftMonitorTest, IdenticalStreamHasNoDrift) {
  const Stream s = Draw(4000, 1);
  DriftOptions o;
  o.window = s.size();
  DriftMonitor m(Reference(s, o));
  for (size_t n = 0; n < s.size(); ++n) m.Observe(s.At(n));
  const DriftReport r = m.Report();
  EXPECT_EQ(r.window_events, s.size());
  for (const DimensionDrift& d : r.dimensions) {
    EXPECT_NEAR(d.psi, 0.0, 1e-12) << DriftDimensionName(d.dimension);
    EXPECT_NEAR(d.kl, 0.0, 1e-12) << DriftDimensionName(d.dimension);
  }
}

TEST(DriftMonitorTest, SameDistributionStaysBelowTheStableThreshold) {
  DriftOptions o;
  o.window = 5000;
  DriftMonitor m(Reference(Draw(20000, 1), o));
  const Stream fresh = Draw(5000, 2);
  for (size_t n = 0; n < fresh.size(); ++n) m.Observe(fresh.At(n));
  const DriftReport r = m.Report();
  for (const DimensionDrift& d : r.dimensions) {
    EXPECT_LT(d.psi, 0.1) << DriftDimensionName(d.dimension);
  }
}

TEST(DriftMonitorTest, ShiftedStreamHasLargePsi) {
  DriftOptions o;
  o.window = 2000;
  DriftMonitor m(Reference(Draw(10000, 1), o));
  // Other items (i50..), lower ratings, and half of the events views.
  const Stream shifted = Draw(1000, 3, 50, 2.0f);
  const Stream views = Draw(1000, 4, 50, 2.0f, "view");
  for (size_t n = 0; n < 1000; ++n) {
    m.Observe(shifted.At(n));
    m.Observe(views.At(n));
  }
  const DriftReport r = m.Report();
  EXPECT_GT(Dim(r, DriftDimension::kItem).psi, 0.25);
  EXPECT_GT(Dim(r, DriftDimension::kRating).psi, 0.25);
  EXPECT_GT(Dim(r, DriftDimension::kEventType).psi, 0.25);
  EXPECT_LT(Dim(r, DriftDimension::kUser).psi, 0.1);                    // users did not change
  EXPECT_EQ(Dim(r, DriftDimension::kEventType).top_bucket, "(other)");  // "view" is new
  EXPECT_EQ(Dim(r, DriftDimension::kRating).window_events, 1000u);
  EXPECT_GT(Dim(r, DriftDimension::kItem).other_window,
            Dim(r, DriftDimension::kItem).other_reference);
}

TEST(DriftMonitorTest, WindowSlidesWithFixedSize) {
  DriftOptions o;
  o.window = 500;
  const Stream base = Draw(5000, 1);
  DriftMonitor m(Reference(base, o));
  const Stream shifted = Draw(2000, 5, 50, 1.5f);
  for (size_t n = 0; n < shifted.size(); ++n) m.Observe(shifted.At(n));
  EXPECT_GT(Dim(m.Report(), DriftDimension::kItem).psi, 0.25);
  // 500 events like the reference push the shifted ones out of the window.
  const Stream again = Draw(500, 6);
  for (size_t n = 0; n < again.size(); ++n) m.Observe(again.At(n));
  const DriftReport r = m.Report();
  EXPECT_EQ(r.window_events, 500u);
  EXPECT_EQ(r.observed, 2500u);
  EXPECT_LT(Dim(r, DriftDimension::kItem).psi, 0.1);
  // A new reference empties the window.
  m.SetReference(Reference(shifted, o));
  EXPECT_EQ(m.Report().window_events, 0u);
  EXPECT_EQ(Dim(m.Report(), DriftDimension::kItem).psi, 0.0);
}

// The shares an operator compares: the reference's largest buckets with
// plain proportions on both sides, "(other)" last; and a PSI over too few
// events flagged rather than reported as drift.
TEST(DriftMonitorTest, SharesAndTheNoiseFloor) {
  DriftOptions o;
  o.top_n = 20;
  o.window = 100000;
  const Stream base = Draw(20000, 1);
  DriftMonitor m(Reference(base, o));
  DriftReport r = m.Report();
  const DimensionDrift& empty = Dim(r, DriftDimension::kItem);
  EXPECT_TRUE(std::isinf(empty.noise_floor));
  EXPECT_FALSE(empty.enough_data);
  ASSERT_EQ(empty.shares.size(), kDriftShares + 1);
  // Zipf: i0 is the largest, then i1; shares are count / events.
  EXPECT_EQ(empty.shares[0].label, "i0");
  EXPECT_EQ(empty.shares[1].label, "i1");
  EXPECT_EQ(empty.shares.back().label, "(other)");
  double counted = 0;
  for (size_t n = 0; n < base.size(); ++n) counted += base.items[n] == "i0";
  EXPECT_DOUBLE_EQ(empty.shares[0].reference, counted / base.size());
  EXPECT_EQ(empty.shares[0].window, 0.0);
  for (size_t k = 1; k < kDriftShares; ++k) {
    EXPECT_GE(empty.shares[k - 1].reference, empty.shares[k].reference);
  }

  // 20 events of the same distribution: PSI well above 0.25 from chance
  // alone, and flagged as such.
  const Stream fresh = Draw(20000, 2);
  for (size_t n = 0; n < 20; ++n) m.Observe(fresh.At(n));
  r = m.Report();
  const DimensionDrift& few = Dim(r, DriftDimension::kItem);
  EXPECT_GT(few.psi, 0.25);
  EXPECT_FALSE(few.enough_data);
  EXPECT_GT(few.noise_floor, kDriftNoiseLimit);
  // 20,000: the PSI is about its noise floor, and means something.
  for (size_t n = 20; n < fresh.size(); ++n) m.Observe(fresh.At(n));
  r = m.Report();
  const DimensionDrift& many = Dim(r, DriftDimension::kItem);
  EXPECT_TRUE(many.enough_data);
  EXPECT_LT(many.noise_floor, 0.01);
  EXPECT_LT(many.psi, 3 * many.noise_floor);
  double sum = 0;
  for (const BucketShare& s : many.shares) sum += s.window;
  EXPECT_LE(sum, 1.0 + 1e-9);
  EXPECT_NEAR(many.shares[0].window, many.shares[0].reference, 0.02);
}

TEST(DriftMonitorTest, EmptyReferenceIsUsable) {
  DriftMonitor m{DriftReference()};
  m.Observe({"u", "i", "view", std::nullopt});
  const DriftReport r = m.Report();
  EXPECT_EQ(r.window_events, 1u);
  EXPECT_TRUE(std::isfinite(Dim(r, DriftDimension::kItem).psi));
}

}  // namespace
}  // namespace streamrec::engine
