// The IVF probe a training measures (ivf_index.h MeasureProbe, ivf_training.h):
// the fewest cells, from DefaultProbe, whose recall@10 against the
// exact scan reaches the target, the recall it reports being the one a
// query at that probe gets, for recommendations (inner product) and similar
// items (cosine) apart; a query reads the measured probe of its kind unless
// a probe is configured; a training measures alike whether it files its
// rows or trains the centroids only (a replay's), so every copy serves the
// same.
// Labelled concurrent (IvfTraining's thread): the ThreadSanitizer stage
// runs it.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "engine/live/recommender.h"
#include "engine/model/ivf_index.h"
#include "engine/model/ivf_training.h"
#include "tests/engine/item_vectors.h"

namespace streamrec::engine {
namespace {

using testdata::ClusteredVectors;
using testdata::GaussianItems;

constexpr int kDim = 16;

std::vector<ScanQuery> Queries(const std::vector<float>& users) {
  std::vector<ScanQuery> q(users.size() / kDim);
  for (size_t j = 0; j < q.size(); ++j) q[j].vector = users.data() + j * kDim;
  return q;
}

// Recall@10 of IvfTopNScan under `ivf` against the exact scan, over
// `queries` under `options`.
double Recall(const IvfIndex& index, const std::vector<float>& items, uint32_t n,
              std::span<const ScanQuery> queries, const ScanOptions& options,
              const IvfOptions& ivf) {
  std::vector<std::vector<ScoredItem>> exact, approx;
  TopNScan(items.data(), n, kDim, queries, 10, options, &exact);
  IvfTopNScan(index, items.data(), n, kDim, queries, 10, options, ivf, {}, &approx);
  size_t hit = 0, total = 0;
  for (size_t j = 0; j < queries.size(); ++j) {
    std::set<uint32_t> want;
    for (const ScoredItem& s : exact[j]) want.insert(s.item);
    for (const ScoredItem& s : approx[j]) hit += want.count(s.item);
    total += want.size();
  }
  return static_cast<double>(hit) / static_cast<double>(total);
}

// The same over `users` (q x kDim) by inner product.
double Recall(const IvfIndex& index, const std::vector<float>& items, uint32_t n,
              const std::vector<float>& users, const IvfOptions& ivf) {
  return Recall(index, items, n, Queries(users), ScanOptions{}, ivf);
}

IvfOptions Probe(uint32_t probe) {
  IvfOptions o;
  o.probe = probe;
  return o;
}

TEST(IvfMeasureTest, TheFewestCellsThatReachTheTargetAndTheRecallThere) {
  // Gaussian vectors have no cells to find (a young model's): recall grows
  // only with the cells read. Clustered ones are found at the default.
  const uint32_t n = 6000;
  const std::vector<float> gauss = GaussianItems(n, kDim, 21);
  const std::vector<float> users = GaussianItems(64, kDim, 22);
  IvfIndex index;
  index.Build(gauss.data(), n, kDim, {});
  const uint32_t lists = index.lists(), first = DefaultProbe(lists);
  ASSERT_LT(first, lists / 4);
  float recall = 0.0f;
  const uint32_t p =
      MeasureProbe(index, gauss.data(), n, kDim, Queries(users), {}, 0.97f, {}, &recall);
  EXPECT_DOUBLE_EQ(recall, static_cast<float>(Recall(index, gauss, n, users, Probe(p))));
  EXPECT_TRUE(recall >= 0.97f || p == lists) << p << " " << recall;
  ASSERT_GT(p, first);  // the default misses here
  ASSERT_LT(p, lists);
  // A sixteenth fewer cells reach less (the fewest, to a sixteenth).
  EXPECT_LT(Recall(index, gauss, n, users, Probe(p - std::max(1u, p / 16))), 0.97)
      << p << " of " << lists;
  // Never more than the doubling that first reaches a target, and fewer
  // for some: the gap below it is halved.
  bool fewer = false;
  for (const float target : {0.8f, 0.9f, 0.95f, 0.97f, 0.99f}) {
    uint32_t doubled = first;
    while (doubled < lists && Recall(index, gauss, n, users, Probe(doubled)) < target) {
      doubled = std::min(lists, 2 * doubled);
    }
    const uint32_t found =
        MeasureProbe(index, gauss.data(), n, kDim, Queries(users), {}, target, {}, &recall);
    EXPECT_LE(found, doubled) << target;
    EXPECT_GE(recall, target);
    fewer = fewer || found < doubled;
  }
  EXPECT_TRUE(fewer);
  // A target the default meets stops there; no queries, or no cells: none.
  EXPECT_EQ(MeasureProbe(index, gauss.data(), n, kDim, Queries(users), {}, 0.0f, {}, &recall),
            first);
  EXPECT_EQ(MeasureProbe(index, gauss.data(), n, kDim, {}, {}, 0.97f, {}, &recall), 0u);
  EXPECT_EQ(recall, -1.0f);
  const std::vector<float> clustered = ClusteredVectors(n, kDim, 1, 23);
  const std::vector<float> tastes = ClusteredVectors(64, kDim, 1, 24);
  IvfIndex found;
  found.Build(clustered.data(), n, kDim, {});
  EXPECT_EQ(MeasureProbe(found, clustered.data(), n, kDim, Queries(tastes), {}, 0.97f, {}, &recall),
            DefaultProbe(found.lists()));
  EXPECT_GE(recall, 0.97f);
}

TEST(IvfMeasureTest, AQueryReadsTheMeasuredProbeOfItsKindUnlessOneIsConfigured) {
  const uint32_t n = 3000;
  const std::vector<float> items = GaussianItems(n, kDim, 31);
  IvfIndex index;
  index.Build(items.data(), n, kDim, {});
  const uint32_t lists = index.lists();
  IvfOptions o;                                                 // probe 0, target_recall set
  EXPECT_EQ(QueryProbe(index, o, false), DefaultProbe(lists));  // none measured
  index.SetMeasured(/*cosine=*/false, lists, 1.0f);
  index.SetMeasured(/*cosine=*/true, lists / 2, 0.98f);
  EXPECT_EQ(QueryProbe(index, o, false), lists);
  EXPECT_EQ(QueryProbe(index, o, true), lists / 2);
  o.probe = 9;
  EXPECT_EQ(QueryProbe(index, o, false), 9u);
  EXPECT_EQ(QueryProbe(index, o, true), 9u);
  o.probe = 0;
  o.target_recall = 0.0f;  // measuring off: the default
  EXPECT_EQ(QueryProbe(index, o, false), DefaultProbe(lists));
  EXPECT_EQ(QueryProbe(index, o, true), DefaultProbe(lists));
  // Every cell read: the exact answer (the int8 pass over every item, then
  // re-scored), which the default probe does not give on these vectors.
  const std::vector<float> users = GaussianItems(32, kDim, 32);
  EXPECT_GE(Recall(index, items, n, users, IvfOptions{}), 0.99);
  IvfIndex unmeasured;
  unmeasured.Build(items.data(), n, kDim, {});
  EXPECT_LT(Recall(unmeasured, items, n, users, IvfOptions{}), 0.9);
}

TEST(IvfMeasureTest, ATrainingMeasuresBothKindsAlikeWithOrWithoutItsFiling) {
  const uint32_t n = 4000;
  const std::vector<float> items = GaussianItems(n, kDim, 41);
  IvfTraining::ProbeSample sample;
  sample.users = GaussianItems(64, kDim, 42);
  for (uint32_t k = 0; k < 64; ++k) sample.items.push_back((k * 61) % n);
  const IvfOptions o;
  const auto live = IvfTraining::Start(items.data(), n, kDim, o, false, 0, sample);
  const auto replay =
      IvfTraining::Start(items.data(), n, kDim, o, /*centroids_only=*/true, 0, sample);
  const auto blind = IvfTraining::Start(items.data(), n, kDim, o, false, 0);
  const IvfIndex& a = live->Trained();
  const IvfIndex& b = replay->Trained();
  const IvfIndex installed = live->Install(items.data(), n);
  for (const bool cosine : {false, true}) {
    ASSERT_GT(a.measured_probe(cosine), 0u) << cosine;
    EXPECT_EQ(a.measured_probe(cosine), b.measured_probe(cosine)) << cosine;
    EXPECT_EQ(a.measured_recall(cosine), b.measured_recall(cosine)) << cosine;
    EXPECT_EQ(installed.measured_probe(cosine), a.measured_probe(cosine)) << cosine;
    EXPECT_EQ(blind->Trained().measured_probe(cosine), 0u);
    EXPECT_EQ(blind->Trained().measured_recall(cosine), -1.0f);
  }
  // What a recommendation query gets from the installed index there.
  EXPECT_DOUBLE_EQ(a.measured_recall(false),
                   static_cast<float>(Recall(installed, items, n, sample.users, IvfOptions{})));
  // And a similar-items one: the items' own rows, unit length, by cosine,
  // each without itself.
  std::vector<float> unit;
  for (const uint32_t i : sample.items) {
    float sq = 0.0f;
    for (int f = 0; f < kDim; ++f) sq += items[i * kDim + f] * items[i * kDim + f];
    for (int f = 0; f < kDim; ++f) unit.push_back(items[i * kDim + f] / std::sqrt(sq));
  }
  std::vector<ScanQuery> q = Queries(unit);
  for (size_t j = 0; j < q.size(); ++j) q[j].exclude_a = std::span(&sample.items[j], 1);
  ScanOptions cosine;
  cosine.cosine = true;
  EXPECT_NEAR(a.measured_recall(true), Recall(installed, items, n, q, cosine, IvfOptions{}), 1e-6);
}

// The Recommender measures on the users its scan answers: a cold user
// (fewer than cold_start_min_items seen) gets the popular list, so a
// stream of cold users gives a retraining nothing to measure on (it reads
// the default cells); once users are served, the next retraining measures.
TEST(IvfMeasureTest, ARetrainingMeasuresOnTheUsersTheScanServes) {
  RecommenderOptions o;
  o.objective = Objective::kImplicit;
  o.model.rank = 8;
  o.topn.method = TopNMethod::kIvf;
  o.cold_start_min_items = 3;
  Recommender rec(o, EventTypes::Defaults());
  const EventTypeId view = *EventTypes::Defaults().Find("view");
  int64_t ts = 1'700'000'000'000;
  const auto apply = [&](const std::string& user, int item) {
    ASSERT_TRUE(rec.Apply({user, fmt::format("i{}", item), view, 0.0f, ts += 1000}).ok());
  };
  // 2,400 users, one event each, on a catalog growing to 1,200 items: the
  // index is built at the first item and retrained as the catalog doubles.
  for (int k = 0; k < 2400; ++k) apply(fmt::format("u{}", k), k / 2);
  const uint32_t trained = rec.ivf_index().trained_items();
  ASSERT_GT(trained, 300u);  // retrained since the first build
  EXPECT_EQ(rec.ivf_index().measured_probe(false), 0u);
  EXPECT_EQ(rec.ivf_index().measured_recall(false), -1.0f);
  EXPECT_GT(rec.ivf_index().measured_probe(true), 0u);  // items are drawn from the catalog
  // The same users twice more each (served from then on), then more of
  // their events on the same catalog: the index retrains every 4 x its
  // trained items in events, and the first training started once they are
  // served measures.
  for (int k = 0; k < 2 * 2400 + 4800; ++k)
    apply(fmt::format("u{}", k % 2400), (k * 7 + k / 2400) % 1200);
  ASSERT_GT(rec.ivf_index().trained_items(), trained);
  EXPECT_GT(rec.ivf_index().measured_probe(false), 0u);
  EXPECT_GE(rec.ivf_index().measured_recall(false), 0.0f);
}

// The first index (built on the model thread, not measured) is trained
// again at once for its probes, so it is measured a catalog's worth of
// events after it is built, not at the next doubling or retrain period.
TEST(IvfMeasureTest, TheFirstIndexIsMeasuredACatalogsWorthOfEventsAfterItIsBuilt) {
  RecommenderOptions o;
  o.objective = Objective::kImplicit;
  o.model.rank = 8;
  o.topn.ivf_min_items = 500;  // kAuto: the index from the 500th item on
  Recommender rec(o, EventTypes::Defaults());
  const EventTypeId view = *EventTypes::Defaults().Find("view");
  int64_t ts = 1'700'000'000'000;
  // 500 items, then only events on them: the catalog never doubles, and the
  // retrain period (4 x 500 events) is not reached.
  for (int k = 0; k < 1200; ++k) {
    ASSERT_TRUE(
        rec.Apply({fmt::format("u{}", k % 97), fmt::format("i{}", k < 500 ? k : (k * 13) % 500),
                   view, 0.0f, ts += 1000})
            .ok());
    if (k == 499) {
      ASSERT_GT(rec.ivf_index().lists(), 0u);
      EXPECT_EQ(rec.ivf_index().measured_recall(true), -1.0f);
      ASSERT_TRUE(rec.ivf_retraining_at().has_value());
    }
  }
  EXPECT_EQ(rec.ivf_index().trained_items(), 500u);
  EXPECT_GE(rec.ivf_index().measured_recall(true), 0.0f);
  EXPECT_GT(rec.ivf_index().measured_probe(true), 0u);
}

}  // namespace
}  // namespace streamrec::engine
