// The snapshot codec (engine/live/snapshot.h): exact round trips, and every
// kind of damage refused. ~500 lines in one file on purpose: the round-trip
// and the corruption tests share the skewed stream below, and the codec is
// one format. The byte-level helpers (Reseal, Patch, Payload) are in
// snapshot_bytes.h; the IVF section's tests in snapshot_ivf_test.cc.
#include "engine/live/snapshot.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <new>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/random.h"
#include "tests/engine/snapshot_bytes.h"

// Sanitizers reserve their shadow memory as address space: no cap there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SNAPSHOT_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SNAPSHOT_TEST_SANITIZED 1
#endif
#endif

namespace streamrec::engine {
namespace {

using snapshot_bytes::Patch;
using snapshot_bytes::Payload;
using snapshot_bytes::Reseal;
using snapshot_bytes::WithoutFullScaleCounts;

constexpr size_t kUsers = 300, kItems = 200;
constexpr int64_t kStartMs = 1'700'000'000'000;

RecommenderOptions TestOptions() {
  RecommenderOptions o;
  o.model.rank = 8;
  // A minute: the stream spans hours, so the popularity anchor moves.
  o.popularity.half_life_ms = 60'000;
  return o;
}

// The default types plus one that trains nothing, so some users have ids
// and seen items but no learner state.
EventTypes TestTypes() {
  const EventTypes d = EventTypes::Defaults();
  std::vector<EventTypeSpec> specs;
  for (size_t t = 0; t < d.size(); ++t) specs.push_back(d.spec(static_cast<EventTypeId>(t)));
  EventTypeSpec impression;
  impression.name = "impression";
  impression.weight = 0.05f;
  specs.push_back(impression);
  return std::move(EventTypes::Create(std::move(specs))).value();
}

std::unique_ptr<Recommender> Fresh(const RecommenderOptions& o = TestOptions()) {
  return std::make_unique<Recommender>(o, TestTypes());
}

struct Stream {
  std::vector<std::string> users, items;  // the events' string_views point here
  std::vector<Event> events;
};

// Skewed users (x^2: the first few have hundreds of events, the tail a
// handful), all six types, ratings in 0.5 steps, time mostly forward with
// some late events; the last event is a never-training "lurker".
Stream MakeStream(size_t n, uint64_t seed) {
  Stream s;
  for (size_t u = 0; u < kUsers; ++u) s.users.push_back(fmt::format("user-{}", u));
  for (size_t i = 0; i < kItems; ++i) s.items.push_back(fmt::format("item/{}", i));
  s.users.push_back("lurker");
  SplitMix64 rng(seed);
  int64_t ts = kStartMs;
  for (size_t e = 0; e + 1 < n; ++e) {
    const double x = rng.NextDouble(), y = rng.NextDouble();
    const auto type = static_cast<EventTypeId>(rng.Uniform(6));
    const float value = 0.5f * static_cast<float>(1 + rng.Uniform(10));
    ts += static_cast<int64_t>(rng.Uniform(20'000));
    const int64_t late = rng.Uniform(20) == 0 ? static_cast<int64_t>(rng.Uniform(600'000)) : 0;
    s.events.push_back({s.users[static_cast<size_t>(x * x * kUsers)],
                        s.items[static_cast<size_t>(y * kItems)], type, value, ts - late});
  }
  s.events.push_back({s.users.back(), s.items[0], 5, 0.0f, ts});
  return s;
}

void ApplyAll(Recommender* rec, std::span<const Event> events) {
  for (const Event& e : events) ASSERT_TRUE(rec->Apply(e).ok());
}

// Answers as (item, score bits): equal means bit-identical.
using Answer = std::vector<std::pair<std::string, uint32_t>>;
Answer Bits(const std::vector<NamedScore>& v) {
  Answer out;
  for (const auto& s : v) out.emplace_back(s.item, std::bit_cast<uint32_t>(s.score));
  return out;
}

void ExpectSameAnswers(const Recommender& a, const Recommender& b, const Stream& s) {
  RecommendRequest req;
  req.n = 15;
  for (const std::string& user : s.users) {
    const Recommendations ra = a.RecommendForUser(user, req), rb = b.RecommendForUser(user, req);
    ASSERT_EQ(ra.source, rb.source) << user;
    ASSERT_EQ(Bits(ra.items), Bits(rb.items)) << user;
  }
  for (size_t i = 0; i < s.items.size(); i += 7) {
    auto sa = a.SimilarItems(s.items[i], 10, s.users[i]),
         sb = b.SimilarItems(s.items[i], 10, s.users[i]);
    ASSERT_EQ(sa.ok(), sb.ok());
    if (sa.ok()) {
      ASSERT_EQ(Bits(*sa), Bits(*sb)) << s.items[i];
    }
  }
  EXPECT_EQ(Bits(a.Popular(50)), Bits(b.Popular(50)));
}

TEST(SnapshotTest, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  // The 8-byte fast path and the byte tail agree: same value in two chunks
  // of different alignment as in one.
  const std::string text(1000, 'q');
  EXPECT_EQ(Crc32c(text), Crc32c(std::string(text)));
  EXPECT_NE(Crc32c(text), Crc32c(text.substr(1)));
  // RFC 3720's check values: 32 bytes each, all through the 8-byte path.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending(32, '\0');
  for (int b = 0; b < 32; ++b) ascending[b] = static_cast<char>(b);
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
}

TEST(SnapshotTest, APrefixedEncodingIsThePrefixThenTheSnapshotAndDecodesFromOwnedBytes) {
  auto rec = Fresh();
  const Stream s = MakeStream(500, 3);
  for (const Event& e : s.events) ASSERT_TRUE(rec->Apply(e).ok());
  const std::string plain = EncodeSnapshot(*rec);
  EXPECT_EQ(EncodeSnapshot(*rec, "header!!"), "header!!" + plain);
  EXPECT_EQ(EncodeSnapshot(*rec, ""), plain);
  // Decoded from owned bytes past the header (storage's way: it frees them
  // once read), the same state; a wrong offset reads no snapshot.
  auto owned = Fresh();
  ASSERT_TRUE(DecodeSnapshot(EncodeSnapshot(*rec, "header!!"), 8, owned.get()).ok());
  EXPECT_EQ(EncodeSnapshot(*owned), plain);
  auto shifted = Fresh();
  EXPECT_EQ(DecodeSnapshot(EncodeSnapshot(*rec, "header!!"), 7, shifted.get()).code(),
            StatusCode::kCorruption);
  EXPECT_EQ(DecodeSnapshot(std::string("header!!"), 9, shifted.get()).code(),
            StatusCode::kCorruption);
  EXPECT_EQ(EncodeSnapshot(*shifted), EncodeSnapshot(*Fresh()));
}

TEST(SnapshotTest, EmptyRecommenderRoundTrips) {
  auto a = Fresh();
  const std::string bytes = EncodeSnapshot(*a);
  EXPECT_EQ(bytes.substr(0, 8), std::string("SRSNAP\0\0", 8));
  EXPECT_EQ(bytes.substr(8, 4), std::string("\6\0\0\0", 4));
  auto b = Fresh();
  ASSERT_TRUE(DecodeSnapshot(bytes, b.get()).ok());
  EXPECT_EQ(EncodeSnapshot(*b), bytes);
  // No anchor yet: the first event after a restore anchors at its own time,
  // as it does on a fresh engine.
  const Event e{"u", "i", 0, 0.0f, kStartMs};
  ASSERT_TRUE(a->Apply(e).ok());
  ASSERT_TRUE(b->Apply(e).ok());
  EXPECT_TRUE(b->popularity().has_anchor());
  EXPECT_EQ(EncodeSnapshot(*b), EncodeSnapshot(*a));
}

TEST(SnapshotTest, RoundTripIsExactAndAnswersMatch) {
  const Stream s = MakeStream(4000, 7);
  auto a = Fresh();
  ApplyAll(a.get(), s.events);
  // The stream must reach every kind of state the snapshot holds.
  const uint32_t young_max = TestOptions().learner.fold_in_max_events;
  const auto& counts = a->learner().user_event_counts();
  EXPECT_GT(std::count_if(counts.begin(), counts.end(), [&](uint32_t c) { return c > young_max; }),
            3);
  EXPECT_GT(std::count_if(counts.begin(), counts.end(),
                          [&](uint32_t c) { return c > 2 && c <= young_max; }),
            50);
  EXPECT_LT(counts.size(), a->users().size());
  EXPECT_GT(a->popularity().anchor_ms(), kStartMs);

  const std::string bytes = EncodeSnapshot(*a);
  auto b = Fresh();
  ASSERT_TRUE(DecodeSnapshot(bytes, b.get()).ok());
  EXPECT_EQ(EncodeSnapshot(*b), bytes);
  EXPECT_EQ(b->events_applied(), s.events.size());
  EXPECT_EQ(b->users().Names(), a->users().Names());
  ExpectSameAnswers(*a, *b, s);

  // Decoding replaces whatever a recommender held before.
  auto c = Fresh();
  ApplyAll(c.get(), MakeStream(300, 99).events);
  ASSERT_TRUE(DecodeSnapshot(bytes, c.get()).ok());
  EXPECT_EQ(EncodeSnapshot(*c), bytes);
  c->Reset();
  EXPECT_EQ(EncodeSnapshot(*c), EncodeSnapshot(*Fresh()));
}

// What storage relies on: snapshot at M, restore, replay the rest == the
// whole log from scratch, bit for bit.
TEST(SnapshotTest, SnapshotPlusReplayEqualsFullReplay) {
  const Stream s = MakeStream(3000, 11);
  const uint32_t young_max = TestOptions().learner.fold_in_max_events;
  // The first event that graduates a user out of fold-in.
  size_t graduation = 0;
  {
    auto probe = Fresh();
    for (size_t j = 0; j < s.events.size() && graduation == 0; ++j) {
      ASSERT_TRUE(probe->Apply(s.events[j]).ok());
      const uint32_t u = *probe->users().Find(s.events[j].user);
      if (probe->learner().user_event_count(u) == young_max + 1) graduation = j;
    }
  }
  ASSERT_GT(graduation, 1u);
  const std::set<size_t> cuts = {
      0, 1, graduation - 1, graduation, graduation + 1, s.events.size() / 2, s.events.size() - 1};
  auto a = Fresh();
  std::vector<std::pair<size_t, std::string>> snapshots;
  for (size_t j = 0; j < s.events.size(); ++j) {
    if (cuts.count(j)) snapshots.emplace_back(j, EncodeSnapshot(*a));
    ASSERT_TRUE(a->Apply(s.events[j]).ok());
  }
  const std::string full = EncodeSnapshot(*a);
  for (const auto& [m, bytes] : snapshots) {
    auto b = Fresh();
    ASSERT_TRUE(DecodeSnapshot(bytes, b.get()).ok()) << m;
    ApplyAll(b.get(), std::span(s.events).subspan(m));
    EXPECT_TRUE(EncodeSnapshot(*b) == full) << "snapshot after " << m << " events";
  }
  auto b = Fresh();
  ASSERT_TRUE(DecodeSnapshot(snapshots[3].second, b.get()).ok());
  ApplyAll(b.get(), std::span(s.events).subspan(snapshots[3].first));
  ExpectSameAnswers(*a, *b, s);
}

// A few kB: small enough to damage every byte.
std::string SmallSnapshot() {
  auto rec = Fresh();
  ApplyAll(rec.get(), MakeStream(30, 3).events);
  return EncodeSnapshot(*rec);
}

TEST(SnapshotTest, EveryFlippedByteAndTruncationIsCorruption) {
  const std::string good = SmallSnapshot();
  auto target = Fresh();
  ApplyAll(target.get(), MakeStream(50, 5).events);
  const std::string before = EncodeSnapshot(*target);
  for (size_t at = 0; at < good.size(); ++at) {
    for (const uint8_t mask : {0x01, 0x80, 0xFF}) {
      std::string bad = good;
      bad[at] = static_cast<char>(bad[at] ^ mask);
      const Status st = DecodeSnapshot(bad, target.get());
      ASSERT_EQ(st.code(), StatusCode::kCorruption) << "byte " << at << ": " << st.ToString();
    }
  }
  for (size_t len = 0; len < good.size(); ++len) {
    ASSERT_EQ(DecodeSnapshot(good.substr(0, len), target.get()).code(), StatusCode::kCorruption)
        << len;
  }
  EXPECT_EQ(DecodeSnapshot(good + '\0', target.get()).code(), StatusCode::kCorruption);
  // A failed decode leaves the recommender exactly as it was.
  EXPECT_EQ(EncodeSnapshot(*target), before);
}

// With the checksum recomputed the structure itself is the only defence:
// every resealed flip must be refused cleanly or decode to a state that is
// safe to use and re-encodes to the same bytes (the encoding is canonical).
TEST(SnapshotTest, ResealedFlipsAreRefusedOrCanonical) {
  const std::string good = SmallSnapshot();
  size_t refused = 0;
  for (size_t at = 8; at + 4 < good.size(); ++at) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0xFF);
    bad = Reseal(std::move(bad));
    auto rec = Fresh();
    const Status st = DecodeSnapshot(bad, rec.get());
    if (!st.ok()) {
      ++refused;
      ASSERT_TRUE(st.code() == StatusCode::kCorruption ||
                  st.code() == StatusCode::kFailedPrecondition ||
                  st.code() == StatusCode::kUnimplemented)
          << at << ": " << st.ToString();
      continue;
    }
    ASSERT_TRUE(EncodeSnapshot(*rec) == bad) << "byte " << at;
    ASSERT_TRUE(rec->Apply({"user-1", "item/1", 4, 3.0f, kStartMs}).ok());
    (void)rec->RecommendForUser("user-1", {});
  }
  // Headers, counts, lengths, ids and seen lists are all checked.
  EXPECT_GT(refused, good.size() / 10);
}

// Caps the address space while alive, so an allocation sized from a corrupt
// count fails with bad_alloc rather than reserving gigabytes lazily (which a
// test could not tell from success).
class AddressSpaceCap {
 public:
  explicit AddressSpaceCap([[maybe_unused]] size_t headroom) {
#ifndef SNAPSHOT_TEST_SANITIZED
    size_t pages = 0;
    std::ifstream("/proc/self/statm") >> pages;
    rlimit cap{};
    active_ = pages > 0 && getrlimit(RLIMIT_AS, &old_) == 0;
    cap.rlim_cur = pages * static_cast<size_t>(sysconf(_SC_PAGESIZE)) + headroom;
    cap.rlim_max = old_.rlim_max;
    active_ = active_ && cap.rlim_cur < old_.rlim_cur && setrlimit(RLIMIT_AS, &cap) == 0;
#endif
  }
  ~AddressSpaceCap() {
    if (active_) setrlimit(RLIMIT_AS, &old_);
  }
  bool active() const { return active_; }

 private:
  rlimit old_{};
  bool active_ = false;
};

TEST(SnapshotTest, HugeCountsAreCorruptionWithoutHugeAllocations) {
  const std::string good = SmallSnapshot();
  const size_t users = Payload(good, 2), learner = Payload(good, 5);
  const size_t popularity = Payload(good, 6), seen = Payload(good, 7);
  std::vector<std::pair<std::string, std::string>> cases;
  auto add = [&](std::string what, size_t at, auto value) {
    std::string b = good;
    Patch(&b, at, value);
    cases.emplace_back(std::move(what), Reseal(std::move(b)));
  };
  add("id count", users, uint32_t{0xFFFFFFFF});
  add("id length", users + 4, uint32_t{0xFFFFFFF0});
  add("section length", users - 8, uint64_t{1} << 62);
  add("learner users", learner + 8, uint32_t{0x7FFFFFFF});
  add("history length", learner + 8 + 4 + 4, uint32_t{0x40000000});
  add("score count", popularity + 17, uint32_t{0x20000000});
  add("seen users", seen, uint32_t{0xFFFFFFFF});
  add("seen items", seen + 4, uint32_t{0x3FFFFFFF});
  std::vector<std::unique_ptr<Recommender>> recs;
  for (size_t n = 0; n < cases.size(); ++n) recs.push_back(Fresh());
  const AddressSpaceCap cap(size_t{256} << 20);
  if (cap.active()) {
    std::vector<char> probe;  // the cap bites: this would succeed lazily without it
    EXPECT_THROW(probe.reserve(size_t{1} << 32), std::bad_alloc);
  }
  for (size_t n = 0; n < cases.size(); ++n) {
    const Status st = DecodeSnapshot(cases[n].second, recs[n].get());
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << cases[n].first << ": " << st.ToString();
  }
}

// Expects `bytes` refused as FailedPrecondition by a fresh recommender
// under `o`, with a message naming every needle, its state untouched.
void ExpectRefused(const std::string& bytes, const RecommenderOptions& o,
                   std::initializer_list<std::string_view> needles) {
  auto rec = Fresh(o);
  const std::string mine = EncodeSnapshot(*rec);
  const Status st = DecodeSnapshot(bytes, rec.get());
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  for (const std::string_view needle : needles) {
    EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
  }
  EXPECT_EQ(EncodeSnapshot(*rec), mine);
}

TEST(SnapshotTest, ModelIdentityMismatchIsFailedPrecondition) {
  const std::string bytes = SmallSnapshot();
  const auto expect_refused = [&](const RecommenderOptions& o, std::string_view a,
                                  std::string_view b) {
    ExpectRefused(bytes, o, {a, b});
  };
  RecommenderOptions o = TestOptions();
  o.model.rank = 16;
  expect_refused(o, "rank 8", "configured 16");
  o = TestOptions();
  o.model.seed = 7;
  expect_refused(o, "seed 42", "configured 7");
  o = TestOptions();
  o.model.init_stddev = 0.2f;
  expect_refused(o, "init_stddev 0.1", "configured 0.2");
  o = TestOptions();
  o.learner.fold_in_max_events = 8;
  expect_refused(o, "fold_in_max_events 32", "configured 8");
  // Both named when both differ.
  o.model.rank = 4;
  expect_refused(o, "rank 8", "fold_in_max_events 32");
  o = TestOptions();
  o.model.init_full_scale_users = 0;
  expect_refused(o, "init_full_scale_users 500000", "configured 0");
  o = TestOptions();
  o.model.init_full_scale_items = 7;
  expect_refused(o, "init_full_scale_items 50000", "configured 7");
}

// Before version 6 the config section had no init_full_scale_users and
// _items, and every row started at init_stddev: such a snapshot is read
// while its rows are ones the configured rule starts the same way, and
// refused otherwise.
TEST(SnapshotTest, AVersion5SnapshotReadsWhenItsRowsStartedAsTheyWouldNow) {
  const std::string bytes = SmallSnapshot();
  std::string v5 = WithoutFullScaleCounts(bytes);
  Patch(&v5, 8, uint32_t{5});
  v5 = Reseal(std::move(v5));
  auto now = Fresh();
  ASSERT_GT(now->options().model.init_full_scale_users, 0u);
  ASSERT_GT(now->options().model.init_full_scale_items, 0u);
  const Status st = DecodeSnapshot(v5, now.get());
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(EncodeSnapshot(*now), bytes);  // as version 6
  RecommenderOptions none = TestOptions();
  none.model.init_full_scale_users = 0;
  none.model.init_full_scale_items = 0;
  auto unshrunk = Fresh(none);
  ASSERT_TRUE(DecodeSnapshot(v5, unshrunk.get()).ok());
  for (const bool users : {true, false}) {
    RecommenderOptions few = TestOptions();
    (users ? few.model.init_full_scale_users : few.model.init_full_scale_items) = 3;
    ExpectRefused(v5, few, {users ? "init_full_scale_users 3 " : "init_full_scale_items 3 "});
  }
}

TEST(SnapshotTest, NewerVersionIsUnimplemented) {
  std::string bytes = SmallSnapshot();
  Patch(&bytes, 8, kSnapshotVersion + 1);
  auto rec = Fresh();
  // Unsealed, the edit is damage like any other.
  EXPECT_EQ(DecodeSnapshot(bytes, rec.get()).code(), StatusCode::kCorruption);
  const Status st = DecodeSnapshot(Reseal(bytes), rec.get());
  EXPECT_EQ(st.code(), StatusCode::kUnimplemented) << st.ToString();
  EXPECT_NE(st.message().find(fmt::format("version {}", kSnapshotVersion + 1)), std::string::npos)
      << st.message();
  Patch(&bytes, 8, uint32_t{0});
  EXPECT_EQ(DecodeSnapshot(Reseal(bytes), rec.get()).code(), StatusCode::kCorruption);
}

// ua rates i0 and i1 (two history entries, seen [0, 1]); ub views i1.
std::string TinySnapshot() {
  auto rec = Fresh();
  ApplyAll(rec.get(), std::vector<Event>{{"ua", "i0", 4, 4.0f, kStartMs},
                                         {"ub", "i1", 0, 0.0f, kStartMs},
                                         {"ua", "i1", 4, 2.0f, kStartMs}});
  return EncodeSnapshot(*rec);
}

void ExpectCorruption(std::string bad, std::string_view msg) {
  const Status st = DecodeSnapshot(Reseal(std::move(bad)), Fresh().get());
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << msg;
  EXPECT_NE(st.message().find(msg), std::string::npos) << st.message();
}

// Damage a checksum cannot see (a buggy writer): each inconsistency between
// sections is refused, with a message saying what.
TEST(SnapshotTest, InconsistentFieldsAreCorruption) {
  const std::string good = TinySnapshot();
  ASSERT_TRUE(DecodeSnapshot(good, Fresh().get()).ok());
  const size_t users = Payload(good, 2), model = Payload(good, 4), learner = Payload(good, 5);
  const size_t popularity = Payload(good, 6), seen = Payload(good, 7);
  const auto expect = [&](size_t at, auto value, std::string_view msg) {
    std::string bad = good;
    Patch(&bad, at, value);
    ExpectCorruption(std::move(bad), msg);
  };
  // users: count, {2, "ua"}, {2, "ub"}.
  expect(users + 4 + 6 + 4 + 1, 'a', "'ua' appears at indices 0 and 1");
  expect(model + 4, uint32_t{3}, "3 x 2 rows for 2 users and 2 items");
  // learner: mean_count, n, then ua: events, history length, {item, target, weight}...
  expect(learner + 20, uint32_t{2}, "unknown item");
  expect(learner + 12, uint32_t{3}, "user 0 has 3 events and a history of 2");
  expect(popularity, uint8_t{0}, "without an anchor");
  expect(popularity, uint8_t{2}, "has_anchor is 2");
  // seen: n, then ua: count 2, items 0 and 1.
  expect(seen + 8, uint32_t{1}, "user 0: items not ascending");
  expect(seen + 12, uint32_t{2}, "user 0: items not ascending or unknown");
}

TEST(SnapshotTest, SurplusDataIsCorruption) {
  const std::string good = TinySnapshot();
  const size_t learner = Payload(good, 5), popularity = Payload(good, 6);
  const size_t seen = Payload(good, 7), counters = Payload(good, 8);
  // `extra` inserted at `at` in section `tag` (its length fixed up), and the
  // count at `count_at` (if any) raised to 3 to claim it.
  const auto grown = [&](uint32_t tag, size_t at, size_t extra, size_t count_at,
                         std::string_view msg) {
    std::string bad = good;
    bad.insert(at, std::string(extra, '\0'));
    const size_t len_at = Payload(good, tag) - 8;
    uint64_t len;
    std::memcpy(&len, bad.data() + len_at, 8);
    Patch(&bad, len_at, len + extra);
    if (count_at != 0) Patch(&bad, count_at, uint32_t{3});
    ExpectCorruption(std::move(bad), msg);
  };
  grown(5, popularity - 12, 8, learner + 8, "learner section: 3 users of 2");
  grown(6, seen - 12, 8, popularity + 17, "3 scores for 2 items");
  grown(7, counters - 12, 4, seen, "seen section: 3 users of 2");
  grown(8, counters + 8, 8, 0, "counters section: 8 bytes left over");
  // One byte between the last section and the (recomputed) checksum.
  ExpectCorruption(good.substr(0, good.size() - 4) + "x" + "crc!",
                   "1 bytes after the last section");
}

TEST(SnapshotTest, ForgottenUsersRoundTrip) {
  const Stream s = MakeStream(2000, 13);
  auto a = Fresh();
  ApplyAll(a.get(), s.events);
  // A graduated user and a young one: tombstone ids, zeroed learner state.
  ASSERT_TRUE(a->ForgetUser(s.users[0]));
  ASSERT_TRUE(a->ForgetUser(s.users[250]));
  const std::string bytes = EncodeSnapshot(*a);
  auto b = Fresh();
  ASSERT_TRUE(DecodeSnapshot(bytes, b.get()).ok());
  EXPECT_EQ(EncodeSnapshot(*b), bytes);
  EXPECT_FALSE(b->users().Find(s.users[0]).has_value());
  ExpectSameAnswers(*a, *b, s);
  // They come back as new users, identically on both.
  const Event back{s.users[0], s.items[3], 4, 4.5f, kStartMs};
  ASSERT_TRUE(a->Apply(back).ok());
  ASSERT_TRUE(b->Apply(back).ok());
  EXPECT_EQ(EncodeSnapshot(*b), EncodeSnapshot(*a));
}

TEST(SnapshotTest, RestorersCheckTheirInputs) {
  EXPECT_TRUE(IdMap::FromNames({"a", "b"}).ok());
  EXPECT_EQ(IdMap::FromNames({"a", "b", "a"}).status().code(), StatusCode::kCorruption);
  const StatusOr<IdMap> ids = IdMap::FromNames({"x", "y"});
  EXPECT_EQ(ids->Find("y"), 1u);
  EXPECT_EQ(ids->Name(0), "x");

  MFModel m(ModelOptions{.rank = 2});
  EXPECT_FALSE(m.SetRows(1.0f, {1, 2, 3}, {}, {0.5f}, {}).ok());  // 3 floats for one rank-2 row
  EXPECT_EQ(m.num_users(), 0u);
  ASSERT_TRUE(m.SetRows(1.5f, {1, 2}, {3, 4, 5, 6}, {0.5f}, {0.25f, 0.75f}).ok());
  EXPECT_EQ(m.num_users(), 1u);
  EXPECT_EQ(m.num_items(), 2u);
  EXPECT_EQ(m.Predict(0, 1), 1.5f + 0.5f + 0.75f + (1 * 5 + 2 * 6));

  const EventTypes types = EventTypes::Defaults();
  OnlineLearner l(&m, &types, LearnerOptions{.fold_in_max_events = 2});
  using H = OnlineLearner::HistoryEntry;
  EXPECT_FALSE(l.Restore(1, {1}, {}).ok());                              // lengths differ
  EXPECT_FALSE(l.Restore(1, {1}, std::vector<std::vector<H>>(1)).ok());  // young, no history
  EXPECT_FALSE(l.Restore(3, {3}, {{H{0, 4, 1}}}).ok());                  // graduated, history kept
  ASSERT_TRUE(l.Restore(3, {3, 1}, {{}, {H{1, 4, 1}}}).ok());
  EXPECT_EQ(l.mean_count(), 3u);
  EXPECT_EQ(l.user_event_count(1), 1u);
}

}  // namespace
}  // namespace streamrec::engine
