#include "engine/online/implicit_online.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>
#include <utility>
#include <vector>

#include "engine/model/topn.h"
#include "engine/train/ials_trainer.h"
#include "tests/engine/implicit_synthetic.h"

namespace streamrec::engine {
namespace {

using testdata::ModelFor;

// A model trained by iALS on planted tastes, and its training cells.
struct Trained {
  EvalSplit split;
  MFModel model{ModelOptions{}};
  ImplicitMatrix by_user;
  IalsTrainOptions options;
};

Trained TrainClustered(int rank = 16) {
  Trained t;
  t.split = testdata::MakeClustered();
  t.model = ModelFor(t.split, rank);
  t.options.iterations = 6;
  EXPECT_TRUE(TrainIals(t.split.train, t.options, &t.model).ok());
  auto m =
      BuildImplicitMatrix(t.split.train, t.split.num_users, t.split.num_items, t.options.signal);
  EXPECT_TRUE(m.ok());
  t.by_user = std::move(m).value();
  return t;
}

float Score(const MFModel& m, uint32_t u, uint32_t i) {
  return Eigen::Map<const Eigen::VectorXf>(m.user_factors(u), m.rank())
      .dot(Eigen::Map<const Eigen::VectorXf>(m.item_factors(i), m.rank()));
}

// Position of item i in u's full ranking (0 = first).
size_t RankOf(const MFModel& m, uint32_t u, uint32_t i) {
  const float s = Score(m, u, i);
  size_t better = 0;
  for (uint32_t j = 0; j < m.num_items(); ++j) better += Score(m, u, j) > s;
  return better;
}

std::vector<uint32_t> TopItems(const MFModel& m, uint32_t u, std::vector<uint32_t> seen, size_t n) {
  std::sort(seen.begin(), seen.end());
  ScanQuery q;
  q.vector = m.user_factors(u);
  q.exclude_a = seen;
  std::vector<uint32_t> out;
  for (const auto& s : TopN(m.item_rows(), m.num_items(), m.rank(), q, n, {})) {
    out.push_back(s.item);
  }
  return out;
}

TEST(ImplicitOnlineTest, MovesTheUserTowardItemsTheyInteractWith) {
  Trained t = TrainClustered();
  ImplicitOnlineUpdater up(ImplicitOnlineOptions::FromTraining(t.options.objective()), t.model);
  up.SetHistory(t.by_user);
  // User 0's worst-ranked item: far from their taste.
  const uint32_t u = 0;
  uint32_t item = 0;
  for (uint32_t i = 0; i < t.model.num_items(); ++i) {
    if (Score(t.model, u, i) < Score(t.model, u, item)) item = i;
  }
  float score = Score(t.model, u, item);
  size_t rank = RankOf(t.model, u, item);
  for (int n = 0; n < 3; ++n) {
    ASSERT_TRUE(up.Apply(&t.model, u, item, 1.0f).ok());
    const float next = Score(t.model, u, item);
    EXPECT_GT(next, score) << "event " << n;
    score = next;
  }
  EXPECT_LT(RankOf(t.model, u, item), rank);
  EXPECT_EQ(up.UserCells(u).size(), t.by_user.RowSize(u) + 1);
  EXPECT_FLOAT_EQ(up.StrengthOf(up.UserCells(u).back()), 3.0f);
}

TEST(ImplicitOnlineTest, ManySweepsReachTheExactRowSolution) {
  Trained t = TrainClustered(8);
  ImplicitOnlineOptions o = ImplicitOnlineOptions::FromTraining(t.options.objective());
  o.sweeps = 100;
  o.update_items = false;
  ImplicitOnlineUpdater up(o, t.model);
  up.SetHistory(t.by_user);
  const uint32_t u = 7, item = 11;
  ASSERT_TRUE(up.Apply(&t.model, u, item, 0.5f).ok());
  std::vector<uint32_t> ids;
  std::vector<float> w;
  for (const auto& c : up.UserCells(u)) ids.push_back(c.id), w.push_back(up.StrengthOf(c));
  const Eigen::MatrixXf& gramian = up.item_gramian();
  std::vector<float> want(8);
  const float lambda = o.regularization * std::sqrt(static_cast<float>(ids.size()));
  SolveImplicitRow(gramian, t.model.ItemRows().data(), 8, ids, w, o.alpha, lambda, want.data());
  for (int f = 0; f < 8; ++f) EXPECT_NEAR(t.model.user_factors(u)[f], want[f], 2e-3) << f;
}

TEST(ImplicitOnlineTest, OneSweepIsElementWiseCoordinateDescent) {
  // One sweep against the formula in implicit_online.h, coordinate by
  // coordinate in double: the row update's vector steps (cells padded to
  // eights, each move applied one coordinate late) must be that sweep. Rank
  // 20 and a user of 9 to 32 cells: the vector loops' tails and more than
  // one step of eight cells.
  constexpr int kRank = 20;
  Trained t = TrainClustered(kRank);
  ImplicitOnlineOptions o = ImplicitOnlineOptions::FromTraining(t.options.objective());
  o.update_items = false;
  ImplicitOnlineUpdater up(o, t.model);
  up.SetHistory(t.by_user);
  uint32_t u = UINT32_MAX;
  for (uint32_t v = 0; v < t.by_user.rows && u == UINT32_MAX; ++v) {
    if (t.by_user.RowSize(v) >= 9 && t.by_user.RowSize(v) < o.max_user_cells) u = v;
  }
  ASSERT_NE(u, UINT32_MAX);
  uint32_t item = 0;  // an item u has not seen: the event adds a cell
  while (std::any_of(up.UserCells(u).begin(), up.UserCells(u).end(),
                     [&](const auto& c) { return c.id == item; })) {
    ++item;
  }
  // A longer row first, so the padding lanes of the update under test are
  // where that row's cells were.
  uint32_t longer = u;
  for (uint32_t v = 0; v < t.by_user.rows; ++v) {
    const size_t n = t.by_user.RowSize(v);
    if (n > t.by_user.RowSize(longer) && n < o.max_user_cells) longer = v;
  }
  ASSERT_NE(longer, u);
  ASSERT_TRUE(up.Apply(&t.model, longer, up.UserCells(longer)[0].id, 1.0f).ok());
  const Eigen::VectorXd before =
      Eigen::Map<const Eigen::VectorXf>(t.model.user_factors(u), kRank).cast<double>();
  const Eigen::MatrixXd gramian = up.item_gramian().cast<double>();
  ASSERT_TRUE(up.Apply(&t.model, u, item, 0.75f).ok());

  const auto cells = up.UserCells(u);
  ASSERT_LE(cells.size(), o.max_user_cells);  // every cell in the update
  const double lambda = double{o.regularization} *
                        std::pow(static_cast<double>(cells.size()), o.regularization_exponent);
  Eigen::VectorXd x = before;
  for (int f = 0; f < kRank; ++f) {
    double num = 0.0, den = gramian(f, f) + lambda;
    for (const auto& cell : cells) {
      const float* y = t.model.item_factors(cell.id);
      const double c = 1.0 + double{o.alpha} * up.StrengthOf(cell);
      double others = 0.0;  // r̂ without coordinate f
      for (int g = 0; g < kRank; ++g) others += g == f ? 0.0 : x[g] * y[g];
      num += (c - (c - 1.0) * others) * y[f];
      den += (c - 1.0) * y[f] * y[f];
    }
    for (int g = 0; g < kRank; ++g) num -= g == f ? 0.0 : x[g] * gramian(g, f);
    x[f] = num / den;
  }
  const float* got = t.model.user_factors(u);
  for (int f = 0; f < kRank; ++f) {
    EXPECT_NEAR(got[f], x[f], 1e-4 * (1.0 + std::abs(x[f]))) << "coordinate " << f;
  }
  EXPECT_GT((x - before).norm(), 1e-3);  // the sweep moved the row
}

TEST(ImplicitOnlineTest, NewUserGetsTheirTasteFromAFewEvents) {
  Trained t = TrainClustered();
  const testdata::ClusteredOptions co;
  ImplicitOnlineUpdater up(ImplicitOnlineOptions::FromTraining(t.options.objective()), t.model);
  up.SetHistory(t.by_user);
  const uint32_t u = t.model.num_users();  // a brand-new user of cluster 2
  std::vector<uint32_t> seen;
  for (uint32_t i = 0; seen.size() < 4; ++i) {
    if (testdata::ItemCluster(co, i) != 2) continue;
    ASSERT_TRUE(up.Apply(&t.model, u, i, 0.5f).ok());
    seen.push_back(i);
  }
  EXPECT_EQ(t.model.num_users(), u + 1);
  const auto top = TopItems(t.model, u, seen, 10);
  size_t in = 0;
  for (uint32_t i : top) in += testdata::ItemCluster(co, i) == 2;
  EXPECT_GE(in, 8u) << "of 10 (a sixth by chance)";
}

TEST(ImplicitOnlineTest, BitIdenticalForTheSameEvents) {
  Trained t = TrainClustered();
  MFModel a = t.model.Clone(), b = t.model.Clone();
  ImplicitOnlineOptions o = ImplicitOnlineOptions::FromTraining(t.options.objective());
  o.max_user_cells = 16;  // exercise the subsampled path too
  o.max_item_cells = 8;
  ImplicitOnlineUpdater ua(o, a), ub(o, b);
  ua.SetHistory(t.by_user);
  ub.SetHistory(t.by_user);
  struct Ev {
    uint32_t u, i;
    float w;
  };
  std::vector<Ev> evs;
  SplitMix64 rng(9);
  for (int n = 0; n < 500; ++n) {
    const auto u = static_cast<uint32_t>(rng.Uniform(a.num_users() + 5));
    const auto i = static_cast<uint32_t>(rng.Uniform(a.num_items() + 5));
    evs.push_back({u, i, 0.1f + static_cast<float>(rng.NextDouble())});
  }
  for (size_t n = 0; n < evs.size(); ++n) {
    ASSERT_TRUE(ua.Apply(&a, evs[n].u, evs[n].i, evs[n].w).ok());
    // b is also given the hints a batch gives (Prefetch), for the next three
    // events (ids the model may not have yet) and for ids far past it: they
    // change nothing.
    for (size_t ahead = 1; ahead <= 3 && n + ahead < evs.size(); ++ahead) {
      const int stage = static_cast<int>(ahead) - 1;
      ub.Prefetch(b, evs[n + ahead].u, evs[n + ahead].i, stage);
      ub.Prefetch(b, 4'000'000'000u, evs[n + ahead].i, stage);
      ub.Prefetch(b, evs[n + ahead].u, 4'000'000'000u, stage);
    }
    ASSERT_TRUE(ub.Apply(&b, evs[n].u, evs[n].i, evs[n].w).ok());
  }
  EXPECT_TRUE(testdata::SameParameters(a, b));
  EXPECT_FALSE(testdata::SameParameters(a, t.model.Clone()));
}

TEST(ImplicitOnlineTest, GramiansStayInStepWithTheModel) {
  Trained t = TrainClustered();
  ImplicitOnlineOptions o = ImplicitOnlineOptions::FromTraining(t.options.objective());
  o.max_user_cells = 8;
  o.max_item_cells = 8;
  ImplicitOnlineUpdater up(o, t.model);
  SplitMix64 rng(4);
  for (int n = 0; n < 2000; ++n) {  // includes new users and items
    const auto u = static_cast<uint32_t>(rng.Uniform(t.model.num_users() + 2));
    const auto i = static_cast<uint32_t>(rng.Uniform(t.model.num_items() + 2));
    ASSERT_TRUE(up.Apply(&t.model, u, i, 1.0f).ok());
  }
  up.ForgetUser(&t.model, 3);
  const RowMatrixXf p = t.model.UserRows();
  const auto q = t.model.ItemRows();
  const Eigen::MatrixXd gu = (p.transpose() * p).cast<double>();
  const Eigen::MatrixXd gi = (q.transpose() * q).cast<double>();
  const double du = (up.user_gramian().cast<double>() - gu).norm() / gu.norm();
  const double di = (up.item_gramian().cast<double>() - gi).norm() / gi.norm();
  std::printf("Gramian drift after 2000 updates: users %.2g, items %.2g (relative)\n", du, di);
  EXPECT_LT(du, 1e-4);
  EXPECT_LT(di, 1e-4);
}

TEST(ImplicitOnlineTest, ForgetUserDropsTheirHistoryAndVector) {
  Trained t = TrainClustered();
  ImplicitOnlineUpdater up(ImplicitOnlineOptions::FromTraining(t.options.objective()), t.model);
  up.SetHistory(t.by_user);
  const uint32_t u = 5;
  std::vector<uint32_t> items;
  for (const auto& c : up.UserCells(u)) items.push_back(c.id);
  ASSERT_FALSE(items.empty());
  up.ForgetUser(&t.model, u);
  EXPECT_TRUE(up.UserCells(u).empty());
  for (uint32_t i : items) {
    for (const auto& c : up.ItemCells(i)) EXPECT_NE(c.id, u) << "item " << i;
  }
  for (int f = 0; f < t.model.rank(); ++f) EXPECT_EQ(t.model.user_factors(u)[f], 0.0f);
  // The others' cells stay reachable: a repeat event adds to the cell.
  const uint32_t other = 6, item = up.UserCells(other).front().id;
  const float w = up.StrengthOf(up.UserCells(other).front());
  ASSERT_TRUE(up.Apply(&t.model, other, item, 1.0f).ok());
  EXPECT_FLOAT_EQ(up.StrengthOf(up.UserCells(other).front()), w + 1.0f);
}

// Every cell is in its user's and its item's history once, the user's copy
// knowing where the item's is (which holds the strength); and the strengths
// are `want`'s ((user, item) -> summed strength).
void ExpectHistory(const ImplicitOnlineUpdater& up,
                   const std::map<std::pair<uint32_t, uint32_t>, float>& want) {
  size_t by_user = 0, by_item = 0;
  for (uint32_t u = 0; u < up.user_rows(); ++u) {
    for (const ImplicitOnlineUpdater::UserCell& c : up.UserCells(u)) {
      ++by_user;
      const auto it = want.find({u, c.id});
      ASSERT_NE(it, want.end()) << "user " << u << " item " << c.id;
      EXPECT_EQ(up.StrengthOf(c), it->second) << "user " << u << " item " << c.id;
      const auto item = up.ItemCells(c.id);
      ASSERT_LT(c.in_item, item.size()) << "user " << u << " item " << c.id;
      EXPECT_EQ(item[c.in_item].id, u);
    }
  }
  for (uint32_t i = 0; i < up.item_rows(); ++i) by_item += up.ItemCells(i).size();
  EXPECT_EQ(by_user, want.size());
  EXPECT_EQ(by_item, want.size());
}

TEST(ImplicitOnlineTest, LongHistoriesAreIndexedAndStayConsistent) {
  // Users 0 and 1 outgrow kShortRow (their cells are then found by the
  // index), user 2 stays short; repeats, a forget and a restore must keep
  // both copies of every cell in step.
  ModelOptions mo;
  mo.rank = 8;
  MFModel m(mo);
  ImplicitOnlineUpdater up({}, m);
  std::map<std::pair<uint32_t, uint32_t>, float> want;
  const uint32_t sizes[] = {3 * ImplicitOnlineUpdater::kShortRow,
                            ImplicitOnlineUpdater::kShortRow + 1, 10};
  std::vector<std::pair<uint32_t, uint32_t>> events;
  for (int pass = 0; pass < 3; ++pass) {
    for (uint32_t u = 0; u < 3; ++u) {
      for (uint32_t n = 0; n < sizes[u]; ++n) events.emplace_back(u, (n * 7 + pass * 3) % 150);
    }
  }
  for (size_t e = 0; e < events.size(); ++e) {
    const auto [u, i] = events[e];
    const float w = 1.0f + static_cast<float>(e % 3);
    ASSERT_TRUE(up.Apply(&m, u, i, w).ok());
    want[{u, i}] += w;
  }
  ASSERT_GT(up.UserCells(0).size(), ImplicitOnlineUpdater::kShortRow);
  ExpectHistory(up, want);
  EXPECT_GT(up.IndexBytes(), 0u);
  ASSERT_TRUE(up.Step(&m, 0, events.front().second).ok());
  EXPECT_EQ(up.Step(&m, 0, 149).code(), StatusCode::kInvalidArgument);  // not in 0's history

  up.ForgetUser(&m, 1);
  std::erase_if(want, [](const auto& kv) { return kv.first.first == 1; });
  ExpectHistory(up, want);
  ASSERT_TRUE(up.Apply(&m, 0, events.back().second, 1.0f).ok());
  want[{0, events.back().second}] += 1.0f;
  ExpectHistory(up, want);

  // A restored copy finds the same cells and steps bit-identically.
  ImplicitOnlineUpdater::State st;
  st.user_gramian = up.user_gramian();
  st.item_gramian = up.item_gramian();
  st.users_tracked = up.users_tracked();
  st.items_tracked = up.items_tracked();
  st.row_updates = up.row_updates();
  for (uint32_t u = 0; u < up.user_rows(); ++u) {
    st.user_cells.emplace_back();
    for (const auto& c : up.UserCells(u)) st.user_cells.back().push_back({c.id, up.StrengthOf(c)});
  }
  for (uint32_t i = 0; i < up.item_rows(); ++i) {
    st.item_users.emplace_back();
    for (const auto& c : up.ItemCells(i)) st.item_users.back().push_back(c.id);
  }
  MFModel copy = m.Clone();
  ImplicitOnlineUpdater restored({}, copy);
  ImplicitOnlineUpdater::State twice = st;
  twice.user_cells[0].push_back(twice.user_cells[0].front());  // a long row with an item twice
  twice.item_users[twice.user_cells[0].front().id].push_back(0);
  EXPECT_EQ(restored.Restore(std::move(twice), m.num_users(), m.num_items()).code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(restored.Restore(std::move(st), m.num_users(), m.num_items()).ok());
  ExpectHistory(restored, want);
  for (size_t e = 0; e < 50; ++e) {
    const auto [u, i] = events[e * 5 % events.size()];
    ASSERT_TRUE(up.Apply(&m, u == 1 ? 2 : u, i, 2.0f).ok());
    ASSERT_TRUE(restored.Apply(&copy, u == 1 ? 2 : u, i, 2.0f).ok());
  }
  EXPECT_TRUE(testdata::SameParameters(m, copy));
}

// After Compact (what a replay ends with) a full row grows by an eighth,
// not double, at its next cell: an item with 800 users, then one more.
TEST(ImplicitOnlineTest, ACompactedRowGrowsByAnEighth) {
  ModelOptions mo;
  mo.rank = 4;
  MFModel m(mo);
  ImplicitOnlineUpdater up({}, m);
  constexpr uint32_t kUsers = 800;
  for (uint32_t u = 0; u < kUsers; ++u) ASSERT_TRUE(up.RecordInteraction(u, 0, 1.0f).ok());
  up.Compact();
  const size_t before = up.RowBytes();
  ASSERT_TRUE(up.RecordInteraction(kUsers, 0, 1.0f).ok());
  EXPECT_EQ(up.ItemCells(0).size(), kUsers + 1);
  // The item's row and the table of user rows take an eighth (plus 4) of
  // their size more; the new user's row 4 cells. Doubling would add
  // 800 cells and 800 row headers.
  constexpr size_t kMore = kUsers / 8 + 4;
  const size_t bound = kMore * sizeof(ImplicitOnlineUpdater::Cell) +
                       kMore * sizeof(std::vector<ImplicitOnlineUpdater::UserCell>) +
                       4 * sizeof(ImplicitOnlineUpdater::UserCell);
  EXPECT_LE(up.RowBytes() - before, bound);
  EXPECT_GT(up.RowBytes(), before);
}

// Compact reallocates every row at its size (all freed first, then
// allocated anew, or in place where the rows are nearly tight): each row
// keeps its cells in order, holds exactly them, and the updater goes on as
// a twin that was never compacted.
TEST(ImplicitOnlineTest, CompactKeepsEveryRowsCellsAndHoldsNoSpareRoom) {
  ModelOptions mo;
  mo.rank = 8;
  MFModel m(mo), twin_model(mo);
  ImplicitOnlineUpdater up({}, m), twin({}, twin_model);
  SplitMix64 rng(7);
  for (int e = 0; e < 3000; ++e) {
    const auto u = static_cast<uint32_t>(rng.Next() % 60);
    const auto i = static_cast<uint32_t>(rng.Next() % 90);
    ASSERT_TRUE(up.Apply(&m, u, i, 1.0f).ok());
    ASSERT_TRUE(twin.Apply(&twin_model, u, i, 1.0f).ok());
  }
  std::vector<std::vector<ImplicitOnlineUpdater::UserCell>> users;
  std::vector<std::vector<ImplicitOnlineUpdater::Cell>> items;
  // User rows: a header and 16 ends per page of 16 (PagedRows); item
  // rows: a vector each.
  constexpr size_t kPage = PagedRows<ImplicitOnlineUpdater::UserCell>::kPageRows;
  size_t exact =
      (up.user_rows() + kPage - 1) / kPage *
          (sizeof(std::vector<ImplicitOnlineUpdater::UserCell>) + kPage * sizeof(uint32_t)) +
      up.item_rows() * sizeof(std::vector<ImplicitOnlineUpdater::Cell>);
  for (uint32_t u = 0; u < up.user_rows(); ++u) {
    users.emplace_back(up.UserCells(u).begin(), up.UserCells(u).end());
    exact += users.back().size() * sizeof(ImplicitOnlineUpdater::UserCell);
  }
  for (uint32_t i = 0; i < up.item_rows(); ++i) {
    items.emplace_back(up.ItemCells(i).begin(), up.ItemCells(i).end());
    exact += items.back().size() * sizeof(ImplicitOnlineUpdater::Cell);
  }
  ASSERT_GT(up.RowBytes(), exact);  // grown rows hold room to spare
  up.Compact();
  EXPECT_EQ(up.RowBytes(), exact);
  up.Compact();  // tight rows: trimmed in place, which changes nothing
  EXPECT_EQ(up.RowBytes(), exact);
  ASSERT_EQ(up.user_rows(), users.size());
  ASSERT_EQ(up.item_rows(), items.size());
  // The same cells in the same order (the picks of a long row follow it).
  const auto same_user_cell = [](const ImplicitOnlineUpdater::UserCell& a,
                                 const ImplicitOnlineUpdater::UserCell& b) {
    return a.id == b.id && a.in_item == b.in_item;
  };
  const auto same_cell = [](const ImplicitOnlineUpdater::Cell& a,
                            const ImplicitOnlineUpdater::Cell& b) {
    return a.id == b.id && a.strength == b.strength;
  };
  for (uint32_t u = 0; u < users.size(); ++u) {
    EXPECT_TRUE(std::ranges::equal(up.UserCells(u), users[u], same_user_cell)) << "user " << u;
  }
  for (uint32_t i = 0; i < items.size(); ++i) {
    EXPECT_TRUE(std::ranges::equal(up.ItemCells(i), items[i], same_cell)) << "item " << i;
  }
  for (int e = 0; e < 1000; ++e) {
    const auto u = static_cast<uint32_t>(rng.Next() % 70);
    const auto i = static_cast<uint32_t>(rng.Next() % 100);
    ASSERT_TRUE(up.Apply(&m, u, i, 0.5f).ok());
    ASSERT_TRUE(twin.Apply(&twin_model, u, i, 0.5f).ok());
  }
  EXPECT_TRUE(testdata::SameParameters(m, twin_model));
}

TEST(ImplicitOnlineTest, RefusesBadEventsAndOptions) {
  Trained t = TrainClustered();
  ImplicitOnlineUpdater up(ImplicitOnlineOptions::FromTraining(t.options.objective()), t.model);
  const MFModel before = t.model.Clone();
  for (float w : {0.0f, -1.0f, std::numeric_limits<float>::quiet_NaN(),
                  std::numeric_limits<float>::infinity()}) {
    EXPECT_EQ(up.Apply(&t.model, 0, 0, w).code(), StatusCode::kInvalidArgument) << w;
  }
  EXPECT_EQ(up.Apply(&t.model, 1u << 31, 0, 1.0f).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(testdata::SameParameters(t.model, before));
  EXPECT_TRUE(up.UserCells(0).empty());
  MFModel other_rank = ModelFor(t.split, 4);
  EXPECT_EQ(up.Apply(&other_rank, 0, 0, 1.0f).code(), StatusCode::kInvalidArgument);

  auto with = [](auto f) {
    ImplicitOnlineOptions o;
    f(o);
    return o;
  };
  for (const auto& o :
       {with([](auto& o) { o.sweeps = 0; }), with([](auto& o) { o.max_item_cells = 1; }),
        with([](auto& o) { o.regularization = 0.0f; }), with([](auto& o) { o.alpha = -2.0f; }),
        with([](auto& o) { o.gramian_refresh_interval = 0; })}) {
    EXPECT_EQ(ImplicitOnlineUpdater::Validate(o).code(), StatusCode::kInvalidArgument);
    ImplicitOnlineUpdater bad(o, t.model);
    EXPECT_EQ(bad.Apply(&t.model, 0, 0, 1.0f).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(testdata::SameParameters(t.model, before));
}

TEST(ImplicitOnlineTest, ThroughputAtRank64) {
  // Not a gate (machines and sanitizers differ): prints events/s for the
  // notes. 1000 users x 2000 items, 100 cells per user on average.
  ModelOptions mo;
  mo.rank = 64;
  MFModel m(mo);
  m.EnsureUsers(1000);
  m.EnsureItems(2000);
  ImplicitOnlineUpdater up(ImplicitOnlineOptions{}, m);
  SplitMix64 rng(1);
  for (int n = 0; n < 100000; ++n) {
    ASSERT_TRUE(up.RecordInteraction(static_cast<uint32_t>(rng.Uniform(1000)),
                                     static_cast<uint32_t>(rng.Uniform(2000)), 1.0f)
                    .ok());
  }
  constexpr int kEvents = 20000;
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  for (int n = 0; n < kEvents; ++n) {
    const auto u = static_cast<uint32_t>(rng.Uniform(1000));
    const auto i = static_cast<uint32_t>(rng.Uniform(2000));
    ASSERT_TRUE(up.Apply(&m, u, i, 0.5f).ok());
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  std::printf(
      "implicit online update, k=64, ~100 cells/user, ~50 cells/item: %.0f events/s wall, "
      "%.0f per CPU second\n",
      kEvents / s, kEvents / cpu);
}

}  // namespace
}  // namespace streamrec::engine
