// IvfTraining (engine/model/ivf_training.h): the IVF centroids trained on a
// thread of their own from a copy of the rows. The result is Build's on the
// copied rows, whatever happens to the rows meanwhile; the install files
// the rows as they are by then, searching those that may have left their
// copy's cell; an abandoned training stops and joins. Labelled concurrent: the
// ThreadSanitizer stage runs it.
#include "engine/model/ivf_training.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <vector>

#include "engine/core/random.h"
#include "tests/engine/item_vectors.h"

namespace streamrec::engine {
namespace {

constexpr int kDim = 16;
constexpr uint32_t kItems = 3000;

IvfOptions Options() {
  IvfOptions o;
  o.lists = 24;
  return o;
}

// Each item in the cell its nearest centroid names (the exact search).
void ExpectNearest(const IvfIndex& index, const std::vector<float>& items, uint32_t n) {
  ASSERT_EQ(index.size(), n);
  IvfIndex probe(kDim);
  probe.Adopt(index, items.data(), n);  // files every row afresh
  for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(index.ListOf(i), probe.ListOf(i)) << i;
}

TEST(IvfTrainingTest, TrainsTheCopiedRowsWhateverTheyBecomeMeanwhile) {
  std::vector<float> items = testdata::ModelLikeItems(kItems, kDim, 3);
  IvfIndex built(kDim);
  built.Build(items.data(), kItems, kDim, Options());
  const auto training =
      IvfTraining::Start(items.data(), kItems, kDim, Options(), /*centroids_only=*/false, 77);
  // The caller goes on moving its rows while the copy trains.
  SplitMix64 rng(5);
  for (uint32_t i = 0; i < kItems; i += 7) {
    float* row = items.data() + size_t{i} * kDim;
    for (int f = 0; f < kDim; ++f) row[f] += 0.5f * rng.NextGaussian();
  }
  EXPECT_EQ(training->install_at(), 77u);
  EXPECT_EQ(training->rows(), kItems);
  const IvfIndex& trained = training->Trained();
  EXPECT_EQ(trained.size(), 0u);  // centroids only
  EXPECT_EQ(trained.trained_items(), kItems);
  ASSERT_EQ(trained.centroids().size(), built.centroids().size());
  EXPECT_EQ(std::memcmp(trained.centroids().data(), built.centroids().data(),
                        built.centroids().size() * sizeof(float)),
            0);
  // Installed with two rows more: every row in its nearest cell as it is
  // now; the rows that did not move kept the copy's cells without a search.
  items.resize(items.size() + 2 * kDim, 0.25f);
  const IvfIndex installed = training->Install(items.data(), kItems + 2);
  ExpectNearest(installed, items, kItems + 2);
  EXPECT_LT(installed.full_searches(), kItems / 2);
  // A row far from its copy: searched, and filed in its new cell.
  IvfIndex filed(kDim);
  filed.Adopt(trained, items.data(), kItems);
  uint32_t other = 1;
  while (filed.ListOf(other) == filed.ListOf(0)) ++other;
  std::memcpy(items.data(), items.data() + size_t{other} * kDim, kDim * sizeof(float));
  EXPECT_EQ(training->Install(items.data(), kItems + 2).ListOf(0), filed.ListOf(other));
}

TEST(IvfTrainingTest, ARefreshFilesASecondCopySoTheInstallSearchesOnlyRowsMovedSince) {
  std::vector<float> items = testdata::ModelLikeItems(kItems, kDim, 9);
  const auto training = IvfTraining::Start(items.data(), kItems, kDim, Options(), false, 4000);
  EXPECT_EQ(training->refresh_at(), 4000u - kItems / 8);
  SplitMix64 rng(2);
  const auto move = [&](uint32_t from, uint32_t step) {
    for (uint32_t i = from; i < kItems; i += step) {
      float* row = items.data() + size_t{i} * kDim;
      for (int f = 0; f < kDim; ++f) row[f] += 0.8f * rng.NextGaussian();
    }
  };
  move(0, 2);  // half the rows, before the refresh
  training->Refresh(items.data(), kItems);
  move(1, 50);  // a few, after it
  // A second Refresh (the other Left-Right copy's) changes nothing.
  const std::vector<float> later = items;
  move(3, 50);
  training->Refresh(items.data(), kItems);
  items = later;
  const IvfIndex installed = training->Install(items.data(), kItems);
  ExpectNearest(installed, items, kItems);
  // At most the rows moved since the refresh, and those near a tie.
  EXPECT_LT(installed.full_searches(), kItems / 50 + kItems / 10);
}

TEST(IvfTrainingTest, CentroidsOnlyAndFinishedInstallBySearchingEveryRow) {
  const std::vector<float> items = testdata::ModelLikeItems(kItems, kDim, 6);
  const auto only = IvfTraining::Start(items.data(), kItems, kDim, Options(), true, 9);
  EXPECT_FALSE(only->files_rows());
  ExpectNearest(only->Install(items.data(), kItems), items, kItems);
  IvfIndex trained = only->Trained();
  const auto finished = IvfTraining::Finished(std::move(trained), 12);
  EXPECT_EQ(finished->install_at(), 12u);
  EXPECT_EQ(finished->rows(), kItems);
  EXPECT_GT(finished->MemoryBytes(), 0u);
  ExpectNearest(finished->Install(items.data(), kItems), items, kItems);
}

TEST(IvfTrainingTest, AnAbandonedTrainingStopsAndJoins) {
  // Dropped while it trains (a model installed, the server closing): the
  // destructor stops the thread at its next check and joins it.
  const std::vector<float> items = testdata::ModelLikeItems(50000, kDim, 8);
  IvfOptions o;
  o.kmeans_iterations = 100;
  for (int k = 0; k < 3; ++k) {
    auto training = IvfTraining::Start(items.data(), 50000, kDim, o, false, 0);
    EXPECT_GT(training->MemoryBytes(), 0u);
    training.reset();
  }
}

}  // namespace
}  // namespace streamrec::engine
