// Recommender::BeginInstall, CatchUp and FinishInstall: a retrained model
// that takes the steps of the events it missed in chunks, while the
// serving model goes on applying events (storage's model thread between
// live writes), ends as InstallModel's would, and leaves the serving model
// alone until it is swapped in.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/random.h"
#include "engine/live/recommender.h"
#include "engine/live/snapshot.h"
#include "tests/engine/recommender_fixture.h"

namespace streamrec::engine {
namespace {

// n events over 60 users and 120 items (the low ones often), clicks, carts
// and ratings; `ids` holds the names they point to.
std::vector<Event> Stream(const EventTypes& types, std::vector<std::string>* ids, uint32_t n) {
  SplitMix64 rng(17);
  ids->reserve(2 * n);
  std::vector<Event> out;
  const char* kinds[] = {"click", "cart", "rating"};
  for (uint32_t e = 0; e < n; ++e) {
    ids->push_back(fmt::format("u{}", rng.Uniform(60)));
    const std::string_view user = ids->back();
    ids->push_back(fmt::format("i{}", rng.Uniform(1 + rng.Uniform(120))));
    const char* kind = kinds[rng.Uniform(3)];
    const float value = kind[0] == 'r' ? static_cast<float>(1 + rng.Uniform(5)) : 0.0f;
    out.push_back({user, ids->back(), *types.Find(kind), value, 1'700'000'000'000 + e * 1000});
  }
  return out;
}

class CatchUpTest : public ::testing::TestWithParam<Objective> {
 protected:
  CatchUpTest() {
    RecommenderOptions o = SmallOptions();
    o.objective = GetParam();
    serving_ = std::make_unique<Recommender>(o, EventTypes::Defaults());
    twin_ = std::make_unique<Recommender>(o, EventTypes::Defaults());
    events_ = Stream(serving_->types(), &ids_, 2400);
    // The retrain took its data after 1000 events; 500 more came while it
    // trained.
    Apply(0, 1000);
    trained_ = serving_->model().Clone();
    trained_.Reinitialize();
    Apply(1000, 1500);
  }

  // Events [begin, end) applied to both recommenders.
  void Apply(size_t begin, size_t end) {
    for (const Event& e : Events(begin, end)) {
      ASSERT_TRUE(serving_->Apply(e).ok());
      ASSERT_TRUE(twin_->Apply(e).ok());
    }
  }
  std::span<const Event> Events(size_t begin, size_t end) const {
    return std::span(events_).subspan(begin, end - begin);
  }

  std::vector<std::string> ids_;
  std::vector<Event> events_;
  std::unique_ptr<Recommender> serving_, twin_;
  MFModel trained_{SmallOptions().model};
};

TEST_P(CatchUpTest, AnInstallInChunksIsTheInstallAtOnce) {
  ASSERT_TRUE(twin_->InstallModel(trained_.Clone(), Events(1000, 1500)).ok());
  StatusOr<Recommender::PendingInstall> p = serving_->BeginInstall(trained_.Clone());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const std::pair<size_t, size_t> chunks[] = {
      {1000, 1001}, {1001, 1008}, {1008, 1300}, {1300, 1500}};
  for (const auto& [begin, end] : chunks) serving_->CatchUp(&*p, Events(begin, end));
  EXPECT_EQ(p->events, 500u);
  ASSERT_TRUE(serving_->FinishInstall(std::move(p).value(), /*applied_since=*/false).ok());
  EXPECT_EQ(EncodeSnapshot(*serving_), EncodeSnapshot(*twin_));
}

TEST_P(CatchUpTest, TheServingModelIsUntouchedUntilTheInstallFinishes) {
  StatusOr<Recommender::PendingInstall> p = serving_->BeginInstall(trained_.Clone());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  serving_->CatchUp(&*p, Events(1000, 1200));
  Apply(1500, 2400);  // live events meanwhile, new ids among them
  // The catch-up borrowed the shared state (under kImplicit the updater,
  // its own Gramians swapped in) and gave it back as it was.
  ASSERT_EQ(EncodeSnapshot(*serving_), EncodeSnapshot(*twin_));
  serving_->CatchUp(&*p, Events(1200, 2400));
  ASSERT_EQ(EncodeSnapshot(*serving_), EncodeSnapshot(*twin_));
  ASSERT_TRUE(serving_->FinishInstall(std::move(p).value(), /*applied_since=*/true).ok());
  const MFModel& m = serving_->model();
  const MFModel& live = twin_->model();
  const int k = m.rank();
  ASSERT_EQ(m.num_users(), live.num_users());
  ASSERT_EQ(m.num_items(), live.num_items());
  // Rows first seen after the training hold their online vectors as they
  // are at the install; the trained ones were retrained and stepped.
  for (uint32_t u = trained_.num_users(); u < m.num_users(); ++u) {
    EXPECT_EQ(std::memcmp(m.user_factors(u), live.user_factors(u), sizeof(float) * k), 0) << u;
  }
  for (uint32_t i = trained_.num_items(); i < m.num_items(); ++i) {
    EXPECT_EQ(std::memcmp(m.item_factors(i), live.item_factors(i), sizeof(float) * k), 0) << i;
  }
  size_t moved = 0;
  for (uint32_t u = 0; u < trained_.num_users(); ++u) {
    moved += std::memcmp(m.user_factors(u), trained_.user_factors(u), sizeof(float) * k) != 0;
  }
  EXPECT_GT(moved, trained_.num_users() / 2);
  if (GetParam() == Objective::kImplicit) {
    // The Gramians are the installed model's, recomputed with those rows.
    const ImplicitOnlineUpdater::Gramians want = ImplicitOnlineUpdater::GramiansOf(m);
    EXPECT_EQ(serving_->implicit()->item_gramian(), want.item);
    EXPECT_EQ(serving_->implicit()->user_gramian(), want.user);
  }
}

INSTANTIATE_TEST_SUITE_P(Objectives, CatchUpTest,
                         ::testing::Values(Objective::kRating, Objective::kImplicit,
                                           Objective::kBpr),
                         [](const auto& info) { return std::string(ObjectiveName(info.param)); });

}  // namespace
}  // namespace streamrec::engine
