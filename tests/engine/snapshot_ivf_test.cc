// The IVF section of snapshots (engine/live/snapshot.h, version 3): a copy
// restored from a snapshot has the centroids and the cells of the copy that
// wrote it and retrains at the same event; a replay trains where a live copy
// does; snapshots of other IVF options or of version 2 build the index
// afresh; a damaged section is Corruption.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/live/snapshot.h"
#include "tests/engine/snapshot_bytes.h"

namespace streamrec::engine {
namespace {

using snapshot_bytes::Header;
using snapshot_bytes::Patch;
using snapshot_bytes::Payload;
using snapshot_bytes::Reseal;
using snapshot_bytes::WithoutFullScaleCounts;

constexpr int64_t kStartMs = 1'700'000'000'000;

RecommenderOptions IvfOptionsFor(Objective objective) {
  RecommenderOptions o;
  o.objective = objective;
  o.model.rank = 8;
  o.topn.method = TopNMethod::kIvf;
  return o;
}

struct Stream {
  std::vector<std::string> users, items;
  std::vector<Event> events;
};

// Events over a catalog that grows as they go (event n picks among the
// first 50 + n / 3 items), so the index is retrained whenever it doubles.
Stream Growing(size_t n, size_t users, size_t max_items, uint64_t seed) {
  Stream s;
  for (size_t u = 0; u < users; ++u) s.users.push_back(fmt::format("u{}", u));
  for (size_t i = 0; i < max_items; ++i) s.items.push_back(fmt::format("i{}", i));
  SplitMix64 rng(seed);
  const EventTypes types = EventTypes::Defaults();
  const EventTypeId view = *types.Find("view"), rating = *types.Find("rating");
  for (size_t k = 0; k < n; ++k) {
    const size_t pool = std::min(max_items, 50 + k / 3);
    const bool rate = rng.Uniform(3) == 0;
    s.events.push_back({s.users[rng.Uniform(users)], s.items[rng.Uniform(pool)],
                        rate ? rating : view, rate ? static_cast<float>(1 + rng.Uniform(5)) : 0.0f,
                        kStartMs + static_cast<int64_t>(k) * 1000});
  }
  return s;
}

void ApplyAll(Recommender* rec, std::span<const Event> events) {
  for (const Event& e : events) ASSERT_TRUE(rec->Apply(e).ok());
}

std::unique_ptr<Recommender> Fresh(const RecommenderOptions& o) {
  return std::make_unique<Recommender>(o, EventTypes::Defaults());
}

// Same centroids bit for bit, same training, and every item in the same cell.
void ExpectSameIndex(const Recommender& a, const Recommender& b, const char* when) {
  const IvfIndex& x = a.ivf_index();
  const IvfIndex& y = b.ivf_index();
  ASSERT_GT(x.lists(), 0u) << when;
  ASSERT_EQ(x.trained_items(), y.trained_items()) << when;
  ASSERT_EQ(x.centroids().size(), y.centroids().size()) << when;
  EXPECT_EQ(
      std::memcmp(x.centroids().data(), y.centroids().data(), x.centroids().size() * sizeof(float)),
      0)
      << when;
  for (const bool cosine : {false, true}) {
    EXPECT_EQ(x.measured_probe(cosine), y.measured_probe(cosine)) << when;
    EXPECT_EQ(std::bit_cast<uint32_t>(x.measured_recall(cosine)),
              std::bit_cast<uint32_t>(y.measured_recall(cosine)))
        << when;
  }
  ASSERT_EQ(x.size(), y.size()) << when;
  size_t moved = 0;
  for (uint32_t i = 0; i < x.size(); ++i) moved += x.ListOf(i) != y.ListOf(i);
  EXPECT_EQ(moved, 0u) << when << ": items in other cells";
}

class SnapshotIvf : public ::testing::TestWithParam<Objective> {};

TEST_P(SnapshotIvf, ARestoredCopyHasTheWritersCellsAndRetrainsAtTheSameEvent) {
  const RecommenderOptions o = IvfOptionsFor(GetParam());
  const Stream s = Growing(9000, 150, 3000, 7);
  auto writer = Fresh(o);
  ApplyAll(writer.get(), std::span(s.events).first(4000));
  // Trained at a smaller catalog than it has now: a k-means on today's rows
  // (what a restore did before the section) gives other centroids.
  ASSERT_LT(writer->ivf_index().trained_items(), writer->model().num_items());
  const std::string bytes = EncodeSnapshot(*writer);
  auto restored = Fresh(o);
  ASSERT_TRUE(DecodeSnapshot(bytes, restored.get()).ok());
  ExpectSameIndex(*writer, *restored, "restored");
  EXPECT_EQ(EncodeSnapshot(*restored), bytes);  // canonical
  // The same answers: the same cells probed.
  RecommendRequest req;
  req.n = 10;
  for (const char* u : {"u1", "u2", "u3"}) {
    const auto a = writer->RecommendForUser(u, req);
    const auto b = restored->RecommendForUser(u, req);
    ASSERT_EQ(a.items.size(), b.items.size());
    for (size_t k = 0; k < a.items.size(); ++k) EXPECT_EQ(a.items[k].item, b.items[k].item);
  }
  // The rest of the stream doubles the catalog: both retrain at one event.
  const uint32_t trained = writer->ivf_index().trained_items();
  ApplyAll(writer.get(), std::span(s.events).subspan(4000));
  ApplyAll(restored.get(), std::span(s.events).subspan(4000));
  ASSERT_GT(writer->ivf_index().trained_items(), trained);
  ExpectSameIndex(*writer, *restored, "after the retraining");
  EXPECT_TRUE(EncodeSnapshot(*restored) == EncodeSnapshot(*writer));
}

TEST_P(SnapshotIvf, AReplayTrainsWhereTheLiveCopyTrainedAndFilesTheSameCells) {
  const RecommenderOptions o = IvfOptionsFor(GetParam());
  const Stream s = Growing(5000, 150, 1400, 11);
  auto live = Fresh(o), replayed = Fresh(o);
  ApplyAll(live.get(), s.events);
  replayed->BeginReplay();
  ApplyAll(replayed.get(), s.events);
  replayed->EndReplay();
  ASSERT_LT(live->ivf_index().trained_items(), live->model().num_items());
  // A retraining measured both.
  ASSERT_GT(live->ivf_index().measured_probe(false), 0u);
  ASSERT_GT(live->ivf_index().measured_probe(true), 0u);
  ExpectSameIndex(*live, *replayed, "replayed");
  EXPECT_TRUE(EncodeSnapshot(*replayed) == EncodeSnapshot(*live));
}

TEST_P(SnapshotIvf, TheIndexRetrainsAsTheVectorsMoveAtTheSameEventInEveryCopy) {
  // A catalog that stops growing at 300 items: after that only the
  // retrain factor trains the centroids again.
  RecommenderOptions o = IvfOptionsFor(GetParam());
  o.topn.ivf_retrain_factor = 2;
  const Stream s = Growing(6000, 120, 300, 5);
  auto live = Fresh(o);
  ApplyAll(live.get(), std::span(s.events).first(2500));
  const uint32_t trained = live->ivf_index().trained_items();
  ASSERT_LT(live->model().num_items(), 2 * trained);  // and will not double
  // (Event 2500 falls while a retraining is under way: the snapshot keeps
  // it.)
  ASSERT_TRUE(live->ivf_retraining_at().has_value());
  const std::string before = EncodeSnapshot(*live);
  // Event by event through the next training. It starts after the first
  // event whose count is a multiple of 2 x trained, on the rows of the
  // items known then, off the caller's thread, and its centroids replace
  // the index's as many events (those items) later.
  size_t at = 2500, start = 0;
  uint32_t items_at_start = 0;
  std::vector<float> old_centroids;
  std::string during;  // a snapshot while it trains
  for (; at < s.events.size(); ++at) {
    const uint32_t trained_now = live->ivf_index().trained_items();
    const bool training = live->ivf_retraining_at().has_value();
    const std::vector<float> centroids = live->ivf_index().centroids();
    ASSERT_TRUE(live->Apply(s.events[at]).ok());
    const size_t count = at + 1;
    if (!training && live->ivf_retraining_at().has_value()) {
      EXPECT_EQ(count % (2 * trained_now), 0u) << "started after event " << count;
      start = count;
      items_at_start = live->model().num_items();
      old_centroids = centroids;
      EXPECT_EQ(*live->ivf_retraining_at(), count - 1 + items_at_start);
    }
    if (start > 0 && count == start + 10) during = EncodeSnapshot(*live);
    if (start > 0 && live->ivf_index().centroids() != centroids) {
      EXPECT_EQ(count, start + items_at_start) << "installed after event " << count;
      at = count;
      break;
    }
  }
  ASSERT_LT(at, s.events.size()) << "never retrained";
  EXPECT_EQ(live->ivf_index().trained_items(), items_at_start);
  EXPECT_FALSE(live->ivf_retraining_at().has_value());
  EXPECT_GT(start, 2 * trained);  // not at the start: at a multiple since
  // A copy restored from the snapshot taken while it trained installs the
  // same centroids after the same event.
  ASSERT_FALSE(during.empty());
  auto resumed = Fresh(o);
  ASSERT_TRUE(DecodeSnapshot(during, resumed.get()).ok());
  EXPECT_EQ(EncodeSnapshot(*resumed), during);  // canonical, with the retraining
  for (size_t k = start + 10; k < at; ++k) {
    ASSERT_TRUE(resumed->ivf_index().centroids() == old_centroids) << "installed early, at " << k;
    ASSERT_TRUE(resumed->Apply(s.events[k]).ok());
  }
  ExpectSameIndex(*live, *resumed, "resumed while it trained");
  // A copy restored from before it, and a replay of the whole stream, train
  // at the same event on the same rows: the same cells at the end.
  ApplyAll(live.get(), std::span(s.events).subspan(at));
  auto restored = Fresh(o);
  ASSERT_TRUE(DecodeSnapshot(before, restored.get()).ok());
  ApplyAll(restored.get(), std::span(s.events).subspan(2500));
  ExpectSameIndex(*live, *restored, "restored");
  ApplyAll(resumed.get(), std::span(s.events).subspan(at));
  ExpectSameIndex(*live, *resumed, "resumed, at the end");
  EXPECT_TRUE(EncodeSnapshot(*resumed) == EncodeSnapshot(*live));
  auto replayed = Fresh(o);
  replayed->BeginReplay();
  ApplyAll(replayed.get(), s.events);
  replayed->EndReplay();
  ExpectSameIndex(*live, *replayed, "replayed");
  EXPECT_TRUE(EncodeSnapshot(*replayed) == EncodeSnapshot(*live));
  // Factor 0: the cells of the first training stay (the catalog does not
  // double), wherever the vectors go.
  o.topn.ivf_retrain_factor = 0;
  auto frozen = Fresh(o);
  ApplyAll(frozen.get(), std::span(s.events).first(2500));
  const std::vector<float> first = frozen->ivf_index().centroids();
  ApplyAll(frozen.get(), std::span(s.events).subspan(2500));
  EXPECT_TRUE(frozen->ivf_index().centroids() == first);
}

// A decode into a copy whose retraining is under way (as a restart over a
// live copy, or a refused snapshot, meets it): refused, the copy and its
// retraining go on as before; accepted, the retraining is dropped and never
// installs over the decoded state.
TEST_P(SnapshotIvf, ADecodeOverARetrainingUnderWayReplacesItOrLeavesItBe) {
  RecommenderOptions o = IvfOptionsFor(GetParam());
  o.topn.ivf_retrain_factor = 2;
  const Stream s = Growing(6000, 120, 300, 5);
  // The snapshot decoded: of a copy with no retraining under way, so that
  // nothing in it replaces the busy copy's.
  auto other = Fresh(o);
  size_t cut = 1200;
  ApplyAll(other.get(), std::span(s.events).first(cut));
  for (; other->ivf_retraining_at().has_value(); ++cut) {
    ASSERT_TRUE(other->Apply(s.events[cut]).ok());
  }
  const std::string bytes = EncodeSnapshot(*other);
  std::string damaged = bytes;
  damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x20);
  auto busy = Fresh(o), twin = Fresh(o);
  ApplyAll(busy.get(), std::span(s.events).first(2500));
  ApplyAll(twin.get(), std::span(s.events).first(2500));
  ASSERT_TRUE(busy->ivf_retraining_at().has_value());  // event 2500 falls in one
  EXPECT_EQ(DecodeSnapshot(damaged, busy.get()).code(), StatusCode::kCorruption);
  ApplyAll(busy.get(), std::span(s.events).subspan(2500, 1000));
  ApplyAll(twin.get(), std::span(s.events).subspan(2500, 1000));
  EXPECT_EQ(EncodeSnapshot(*busy), EncodeSnapshot(*twin)) << "after a refused decode";
  ExpectSameIndex(*busy, *twin, "after a refused decode");
  // Accepted while the twin's next retraining is under way.
  for (size_t at = 3500; at < s.events.size() && !twin->ivf_retraining_at(); ++at) {
    ASSERT_TRUE(twin->Apply(s.events[at]).ok());
  }
  ASSERT_TRUE(twin->ivf_retraining_at().has_value());
  ASSERT_TRUE(DecodeSnapshot(bytes, twin.get()).ok());
  EXPECT_EQ(EncodeSnapshot(*twin), bytes);
  ApplyAll(twin.get(), std::span(s.events).subspan(cut, 2000));
  ApplyAll(other.get(), std::span(s.events).subspan(cut, 2000));
  EXPECT_EQ(EncodeSnapshot(*twin), EncodeSnapshot(*other)) << "after an accepted decode";
  ExpectSameIndex(*twin, *other, "after an accepted decode");
}

TEST_P(SnapshotIvf, ACatalogThatDoublesRetrainsOffTheModelThreadAndServesMeanwhile) {
  RecommenderOptions o = IvfOptionsFor(GetParam());
  o.topn.ivf_retrain_factor = 0;  // on doubling alone
  const Stream s = Growing(6000, 150, 3000, 13);
  auto live = Fresh(o);
  size_t at = 0;
  // The first training has no index to serve from meanwhile: at once.
  while (at < s.events.size() && live->ivf_index().lists() == 0) {
    ASSERT_TRUE(live->Apply(s.events[at++]).ok());
  }
  ASSERT_GT(live->ivf_index().lists(), 0u);
  EXPECT_EQ(live->ivf_index().trained_items(), live->model().num_items());
  // (It trains at a handful of items and doubles every few events: on to
  // a catalog of a few hundred, between two retrainings.)
  while (at < s.events.size() && (at < 1500 || live->ivf_retraining_at().has_value())) {
    ASSERT_TRUE(live->Apply(s.events[at++]).ok());
  }
  const uint32_t first = live->ivf_index().trained_items();
  ASSERT_GT(first, 100u);
  // At the event the catalog doubles a retraining starts, and the old
  // cells keep every item, the new ones too, until it is installed.
  while (at < s.events.size() && live->model().num_items() < 2 * first) {
    ASSERT_TRUE(live->Apply(s.events[at++]).ok());
  }
  ASSERT_LT(at, s.events.size());
  ASSERT_TRUE(live->ivf_retraining_at().has_value());
  const uint32_t doubled = live->model().num_items();
  const size_t started = at;  // events applied, the last one's ordinal at - 1
  EXPECT_EQ(*live->ivf_retraining_at(), started - 1 + doubled);
  while (live->ivf_retraining_at().has_value()) {
    EXPECT_EQ(live->ivf_index().trained_items(), first);
    EXPECT_EQ(live->ivf_index().size(), live->model().num_items());
    ASSERT_LT(at, s.events.size());
    ASSERT_TRUE(live->Apply(s.events[at++]).ok());
  }
  EXPECT_EQ(at, started + doubled);  // installed a catalog's worth of events later
  EXPECT_EQ(live->ivf_index().trained_items(), doubled);
  RecommendRequest req;
  req.n = 10;
  EXPECT_EQ(live->RecommendForUser("u1", req).items.size(), 10u);
}

INSTANTIATE_TEST_SUITE_P(Objectives, SnapshotIvf,
                         ::testing::Values(Objective::kRating, Objective::kImplicit),
                         [](const auto& info) { return std::string(ObjectiveName(info.param)); });

constexpr uint32_t kIvfTag = 10;

// A recommender trained past its index's last training, and its snapshot.
struct Written {
  std::unique_ptr<Recommender> writer;
  std::string bytes;
};
Written Write(const RecommenderOptions& o) {
  Written w{Fresh(o), {}};
  const Stream s = Growing(3000, 100, 900, 3);
  for (const Event& e : s.events) EXPECT_TRUE(w.writer->Apply(e).ok());
  EXPECT_LT(w.writer->ivf_index().trained_items(), w.writer->model().num_items());
  w.bytes = EncodeSnapshot(*w.writer);
  return w;
}

TEST(SnapshotIvfTest, OtherIvfOptionsOrAVersion2SnapshotBuildTheIndexAfresh) {
  const RecommenderOptions o = IvfOptionsFor(Objective::kImplicit);
  const std::string bytes = Write(o).bytes;
  // Another k-means seed: the kept centroids are not this configuration's.
  RecommenderOptions other = o;
  other.topn.ivf.seed = o.topn.ivf.seed + 1;
  auto reseeded = Fresh(other);
  ASSERT_TRUE(DecodeSnapshot(bytes, reseeded.get()).ok());
  EXPECT_EQ(reseeded->ivf_index().trained_items(), reseeded->model().num_items());
  EXPECT_EQ(reseeded->ivf_index().trained_with().seed, other.topn.ivf.seed);
  // No IVF index under this configuration: none is kept, and none written.
  RecommenderOptions exact = o;
  exact.topn.method = TopNMethod::kExact;
  auto plain = Fresh(exact);
  ASSERT_TRUE(DecodeSnapshot(bytes, plain.get()).ok());
  EXPECT_EQ(plain->ivf_index().lists(), 0u);
  const std::string rewritten = EncodeSnapshot(*plain);
  uint32_t lists = 1;
  std::memcpy(&lists, rewritten.data() + Payload(rewritten, kIvfTag), 4);
  EXPECT_EQ(lists, 0u);
  // Version 2: the same bytes without the ivf section.
  const size_t section = Payload(bytes, kIvfTag) - 12;
  std::string v2 =
      WithoutFullScaleCounts(bytes.substr(0, section) + bytes.substr(bytes.size() - 4));
  Patch(&v2, 8, uint32_t{2});
  auto old = Fresh(o);
  ASSERT_TRUE(DecodeSnapshot(Reseal(v2), old.get()).ok());
  EXPECT_EQ(old->ivf_index().trained_items(), old->model().num_items());
  EXPECT_TRUE(EncodeSnapshot(*old) != bytes);  // version 3, with the new centroids
}

// Found by the fuzzer: rows so large that the k-means sums overflow give
// centroids that are not finite. They are not written (the reader would
// refuse them), so the snapshot of such a state still decodes.
TEST(SnapshotIvfTest, CentroidsThatOverflowedAreNotKeptAndTheSnapshotDecodes) {
  const RecommenderOptions o = IvfOptionsFor(Objective::kRating);
  const Written w = Write(o);
  // Version 2 (no ivf section) with every item factor 3e38: the restore's
  // k-means adds such rows up to infinity.
  const size_t section = Payload(w.bytes, kIvfTag) - 12;
  std::string v2 =
      WithoutFullScaleCounts(w.bytes.substr(0, section) + w.bytes.substr(w.bytes.size() - 4));
  Patch(&v2, 8, uint32_t{2});
  const size_t model = Payload(v2, 4);
  const size_t users = w.writer->model().num_users(), items = w.writer->model().num_items();
  const size_t first_item = model + 12 + users * o.model.rank * sizeof(float);
  for (size_t f = 0; f < items * o.model.rank; ++f) {
    Patch(&v2, first_item + f * sizeof(float), 3e38f);
  }
  auto huge = Fresh(o);
  ASSERT_TRUE(DecodeSnapshot(Reseal(v2), huge.get()).ok());
  ASSERT_FALSE(huge->ivf_index().CentroidsFinite());
  const std::string bytes = EncodeSnapshot(*huge);
  uint32_t lists = 1;
  std::memcpy(&lists, bytes.data() + Payload(bytes, kIvfTag), 4);
  EXPECT_EQ(lists, 0u);
  auto again = Fresh(o);
  const Status st = DecodeSnapshot(bytes, again.get());
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(EncodeSnapshot(*again) == bytes);
}

// Version 4 (no measured probe in the ivf sections) still reads: the
// index is kept with none measured (queries read DefaultProbe until the
// next training measures) and re-encodes as version 6.
TEST(SnapshotIvfTest, AVersion4SnapshotKeepsItsCentroidsWithNoProbeMeasured) {
  const RecommenderOptions o = IvfOptionsFor(Objective::kImplicit);
  const Written w = Write(o);
  ASSERT_GT(w.writer->ivf_index().measured_probe(false), 0u);
  std::string v4 = WithoutFullScaleCounts(w.bytes);
  // Drops the 16 bytes (the two measured probes) at `at` of the section
  // whose header is at `header`.
  const auto drop = [&v4](size_t header, size_t at) {
    uint64_t len = 0;
    std::memcpy(&len, v4.data() + header + 4, 8);
    Patch(&v4, header + 4, len - 16);
    v4.erase(at, 16);
  };
  const size_t next = Header(v4, kIvfTag + 1);
  if (v4[next + 12] == 1) drop(next, next + 12 + 1 + 8 + 28);  // a retraining pending
  const size_t ivf = Header(v4, kIvfTag);
  drop(ivf, ivf + 12 + 28);
  Patch(&v4, 8, uint32_t{4});
  auto old = Fresh(o);
  const Status st = DecodeSnapshot(Reseal(v4), old.get());
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(old->ivf_index().centroids() == w.writer->ivf_index().centroids());
  for (const bool cosine : {false, true}) {
    EXPECT_EQ(old->ivf_index().measured_probe(cosine), 0u);
    EXPECT_EQ(old->ivf_index().measured_recall(cosine), -1.0f);
  }
  const std::string again = EncodeSnapshot(*old);
  EXPECT_EQ(again.substr(8, 4), std::string("\6\0\0\0", 4));
  EXPECT_EQ(again.size(), w.bytes.size());  // the same sections, (0, -1) measured twice
  EXPECT_TRUE(again != w.bytes);
}

TEST(SnapshotIvfTest, ADamagedIvfSectionIsCorruption) {
  const RecommenderOptions o = IvfOptionsFor(Objective::kRating);
  const std::string good = Write(o).bytes;
  const size_t ivf = Payload(good, kIvfTag);
  // lists, trained_items, options.lists, iterations, points, seed, measured
  // probe and recall, centroids.
  const auto expect = [&](size_t at, auto value, std::string_view msg) {
    std::string bad = good;
    Patch(&bad, at, value);
    auto rec = Fresh(o);
    const Status st = DecodeSnapshot(Reseal(std::move(bad)), rec.get());
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << msg;
    EXPECT_NE(st.message().find(msg), std::string::npos) << st.message();
    EXPECT_EQ(rec->model().num_items(), 0u);  // nothing installed
  };
  expect(ivf + 4 + 20 + 4 + 16, std::bit_cast<uint32_t>(std::numeric_limits<float>::quiet_NaN()),
         "ivf section: a centroid is not finite");
  // The measured probes (inner product at 28, cosine at 36): within the
  // cells, with a recall in [0, 1]; none measured is exactly (0, -1).
  uint32_t lists = 0, probe = 0;
  std::memcpy(&lists, good.data() + ivf, 4);
  std::memcpy(&probe, good.data() + ivf + 28, 4);
  ASSERT_GT(probe, 0u);  // the fixture's training measured
  expect(ivf + 28, lists + 1, "measured inner-product probe");
  expect(ivf + 28, uint32_t{0}, "measured inner-product probe 0");
  expect(ivf + 32, 1.5f, "at recall 1.5");
  expect(ivf + 32, -1.0f, "at recall -1");
  expect(ivf + 32, std::numeric_limits<float>::quiet_NaN(), "at recall nan");
  expect(ivf + 36, lists + 1, "measured cosine probe");
  expect(ivf + 40, 2.0f, "measured cosine probe");
  expect(ivf + 4, uint32_t{100000}, "ivf section:");  // more items than there are
  expect(ivf, uint32_t{3}, "ivf section: 3 cells");   // not the count Build picks
  expect(ivf + 12, uint32_t{0}, "k-means options out of range");
  expect(ivf + 16, uint32_t{0}, "k-means options out of range");
}

}  // namespace
}  // namespace streamrec::engine
