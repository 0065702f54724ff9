// Snapshots a piece at a time (engine/live/snapshot.h). EncodeSnapshot into
// a SnapshotSink: the bytes are exactly the one-string encoding's, in
// pieces of the size asked for; a sink's error stops the pieces; a state
// that changes between the two passes is refused rather than handed over.
// DecodeSnapshot from a SnapshotSource: the same state, and for damaged
// bytes the same answer, as the whole-bytes decode; the source's own
// errors pass through; a failed decode changes nothing.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/live/snapshot.h"
#include "tests/engine/snapshot_bytes.h"

namespace streamrec::engine {
namespace {

RecommenderOptions Options(Objective objective) {
  RecommenderOptions o;
  o.objective = objective;
  o.model.rank = 8;
  return o;
}

// A few hundred users and items with skewed activity.
std::unique_ptr<Recommender> Trained(Objective objective, size_t events, uint64_t seed) {
  auto rec = std::make_unique<Recommender>(Options(objective), EventTypes::Defaults());
  SplitMix64 rng(seed);
  for (size_t e = 0; e < events; ++e) {
    const double x = rng.NextDouble();
    const std::string user = fmt::format("user-{}", static_cast<size_t>(x * x * 400));
    const std::string item = fmt::format("item-{}", rng.Uniform(300));
    const auto type = static_cast<EventTypeId>(rng.Uniform(5));
    const float value = type == 4 ? static_cast<float>(1 + rng.Uniform(5)) : 0.0f;
    EXPECT_TRUE(rec->Apply({user, item, type, value, 1'700'000'000'000 + int64_t(e)}).ok());
  }
  return rec;
}

// Keeps what it is given; refuses the piece numbered `fail_at`, if set.
class Collect final : public SnapshotSink {
 public:
  Status Begin(uint64_t bytes) override {
    ++begins;
    size = bytes;
    if (on_begin) on_begin();
    return Status::OK();
  }
  Status Piece(std::string&& piece) override {
    if (pieces.size() == fail_at) return Status::IOError("disk full");
    pieces.push_back(std::move(piece));
    return Status::OK();
  }
  std::string Joined() const {
    std::string all;
    for (const std::string& p : pieces) all += p;
    return all;
  }

  int begins = 0;
  uint64_t size = 0;
  std::vector<std::string> pieces;
  size_t fail_at = SIZE_MAX;
  std::function<void()> on_begin;
};

TEST(SnapshotStreamTest, PiecesJoinToTheOneStringEncodingForEveryObjective) {
  for (Objective objective : {Objective::kRating, Objective::kImplicit, Objective::kBpr}) {
    SCOPED_TRACE(static_cast<int>(objective));
    const auto rec = Trained(objective, 3000, 7);
    const std::string prefix = "PREFIX12";
    const std::string whole = EncodeSnapshot(*rec, prefix);
    ASSERT_GT(whole.size(), 20000u);
    // Pieces smaller than a section, one byte past the prefix, and larger
    // than the whole.
    for (size_t piece : {size_t{9}, size_t{1000}, size_t{4096}, whole.size() - 1, whole.size(),
                         whole.size() * 2}) {
      SCOPED_TRACE(piece);
      Collect sink;
      ASSERT_TRUE(EncodeSnapshot(*rec, prefix, piece, &sink).ok());
      EXPECT_EQ(sink.begins, 1);
      EXPECT_EQ(sink.size, whole.size());
      ASSERT_FALSE(sink.pieces.empty());
      for (size_t p = 0; p + 1 < sink.pieces.size(); ++p) {
        ASSERT_EQ(sink.pieces[p].size(), piece) << p;
      }
      EXPECT_GE(sink.pieces.back().size(), 1u);
      EXPECT_LE(sink.pieces.back().size(), piece);
      EXPECT_EQ(sink.Joined(), whole);  // the checksum too, taken piece by piece
    }
    // And the joined bytes decode to the same state.
    Collect sink;
    ASSERT_TRUE(EncodeSnapshot(*rec, "", 777, &sink).ok());
    Recommender back(Options(objective), EventTypes::Defaults());
    ASSERT_TRUE(DecodeSnapshot(sink.Joined(), &back).ok());
    EXPECT_EQ(EncodeSnapshot(back), EncodeSnapshot(*rec));
  }
}

TEST(SnapshotStreamTest, ASinksErrorEndsThePiecesAndIsTheAnswer) {
  const auto rec = Trained(Objective::kImplicit, 2000, 3);
  Collect sink;
  sink.fail_at = 2;
  const Status st = EncodeSnapshot(*rec, "", 1000, &sink);
  EXPECT_EQ(st.code(), StatusCode::kIOError) << st.ToString();
  EXPECT_EQ(sink.pieces.size(), 2u);  // none after the refusal
}

TEST(SnapshotStreamTest, AStateChangedBetweenThePassesIsInternalNotASnapshot) {
  const auto rec = Trained(Objective::kImplicit, 2000, 5);
  Collect sink;
  // Begin comes between the passes: an event applied there (against the
  // rule that the encoder's recommender holds still) lengthens sections.
  sink.on_begin = [&] {
    EXPECT_TRUE(rec->Apply({"a-new-user", "a-new-item", 0, 0.0f, 1'800'000'000'000}).ok());
  };
  const Status st = EncodeSnapshot(*rec, "", 4096, &sink);
  EXPECT_EQ(st.code(), StatusCode::kInternal) << st.ToString();
  EXPECT_NE(st.message().find("two passes"), std::string::npos) << st.ToString();
}

TEST(SnapshotStreamTest, PiecesMustHoldThePrefix) {
  const auto rec = Trained(Objective::kRating, 100, 1);
  Collect sink;
  const Status st = EncodeSnapshot(*rec, "12345678", 8, &sink);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.ToString();
  EXPECT_EQ(sink.begins, 0);
}

TEST(SnapshotStreamTest, Crc32cGoesOnFromAnEarlierPart) {
  const std::string text = "the quick brown fox jumps over the lazy dog, twice over: 0123456789";
  for (size_t cut = 0; cut <= text.size(); cut += 5) {
    EXPECT_EQ(Crc32c(text.substr(cut), Crc32c(text.substr(0, cut))), Crc32c(text)) << cut;
  }
}

// `bytes` in pieces of `piece` bytes; fails with IOError at piece `fail_at`.
class Pieces final : public SnapshotSource {
 public:
  Pieces(std::string bytes, size_t piece, uint64_t size = UINT64_MAX)
      : bytes_(std::move(bytes)), piece_(piece), size_(size == UINT64_MAX ? bytes_.size() : size) {}
  uint64_t size() const override { return size_; }
  StatusOr<std::optional<std::string_view>> Next() override {
    if (given_ == fail_at) return Status::IOError("chunk unreadable");
    if (at_ >= bytes_.size()) return std::optional<std::string_view>();
    const std::string_view p = std::string_view(bytes_).substr(at_, piece_);
    at_ += p.size();
    ++given_;
    return std::optional<std::string_view>(p);
  }

  size_t fail_at = SIZE_MAX;

 private:
  std::string bytes_;
  size_t piece_;
  uint64_t size_;
  size_t at_ = 0, given_ = 0;
};

TEST(SnapshotStreamTest, DecodedFromPiecesItIsTheSameStateForEveryObjective) {
  for (Objective objective : {Objective::kRating, Objective::kImplicit, Objective::kBpr}) {
    SCOPED_TRACE(static_cast<int>(objective));
    const auto rec = Trained(objective, 3000, 9);
    const std::string whole = EncodeSnapshot(*rec);
    const std::string prefix = "HDR";
    for (size_t piece : {size_t{1}, size_t{5}, size_t{4096}, whole.size() + 3}) {
      SCOPED_TRACE(piece);
      Pieces source(prefix + whole, piece);
      Recommender back(Options(objective), EventTypes::Defaults());
      const Status st = DecodeSnapshot(&source, prefix.size(), &back);
      ASSERT_TRUE(st.ok()) << st.ToString();
      EXPECT_EQ(EncodeSnapshot(back), whole);
    }
  }
}

// Decodes `bytes` both ways into fresh recommenders holding `base`'s state
// and expects the same answer; a failure must leave each as it was.
void ExpectSameAnswer(const std::string& bytes, const std::string& base, size_t piece) {
  Recommender whole(Options(Objective::kImplicit), EventTypes::Defaults());
  Recommender pieces(Options(Objective::kImplicit), EventTypes::Defaults());
  ASSERT_TRUE(DecodeSnapshot(base, &whole).ok());
  ASSERT_TRUE(DecodeSnapshot(base, &pieces).ok());
  const Status a = DecodeSnapshot(bytes, &whole);
  Pieces source(bytes, piece);
  const Status b = DecodeSnapshot(&source, 0, &pieces);
  EXPECT_EQ(a.code(), b.code()) << a.ToString() << " | " << b.ToString();
  EXPECT_EQ(a.message(), b.message());
  if (!b.ok()) {
    EXPECT_EQ(EncodeSnapshot(pieces), base);
  }
}

TEST(SnapshotStreamTest, DamagedBytesGetTheWholeBytesAnswer) {
  const auto rec = Trained(Objective::kImplicit, 1500, 13);
  const auto other = Trained(Objective::kImplicit, 500, 14);
  const std::string good = EncodeSnapshot(*rec);
  const std::string base = EncodeSnapshot(*other);
  // Flipped bytes (the checksum's answer, whatever the section says) and
  // truncations, at ~150 positions over the whole (every byte is each
  // section's job in snapshot_test; here the two decodes are compared).
  for (size_t at = 0; at < good.size(); at += good.size() / 150 + 1) {
    SCOPED_TRACE(at);
    std::string flipped = good;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x5a);
    ExpectSameAnswer(flipped, base, 1000);
    ExpectSameAnswer(good.substr(0, at), base, 1000);
  }
  // Resealed: what the sections say is believed. A newer version, a
  // garbled count, a config of another rank, a byte past the last section.
  std::string newer = good;
  snapshot_bytes::Patch<uint32_t>(&newer, 8, kSnapshotVersion + 1);
  ExpectSameAnswer(snapshot_bytes::Reseal(newer), base, 64);
  std::string garbled = good;
  snapshot_bytes::Patch<uint32_t>(&garbled, snapshot_bytes::Payload(garbled, 7), 0xFFFFFFF0u);
  ExpectSameAnswer(snapshot_bytes::Reseal(garbled), base, 64);
  std::string rank = good;
  snapshot_bytes::Patch<uint32_t>(&rank, snapshot_bytes::Payload(rank, 1), 16);
  ExpectSameAnswer(snapshot_bytes::Reseal(rank), base, 64);
  // Built rather than insert()ed: GCC 12 warns (-Wrestrict) on an insert
  // into a string of unknown size.
  const std::string surplus = good.substr(0, good.size() - 4) + 'x' + good.substr(good.size() - 4);
  ExpectSameAnswer(snapshot_bytes::Reseal(surplus), base, 64);
  ExpectSameAnswer(good, base, 64);  // and the good one, both OK
}

TEST(SnapshotStreamTest, TheSourcesErrorsAreTheAnswerAndChangeNothing) {
  const auto rec = Trained(Objective::kImplicit, 1500, 17);
  const std::string good = EncodeSnapshot(*rec);
  Recommender target(Options(Objective::kImplicit), EventTypes::Defaults());
  const std::string before = EncodeSnapshot(target);
  Pieces failing(good, 1000);
  failing.fail_at = 3;
  Status st = DecodeSnapshot(&failing, 0, &target);
  EXPECT_EQ(st.code(), StatusCode::kIOError) << st.ToString();
  // Fewer bytes than the size says, and more.
  Pieces short_of(good.substr(0, good.size() - 10), 1000, good.size());
  st = DecodeSnapshot(&short_of, 0, &target);
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("end before its size"), std::string::npos) << st.ToString();
  Pieces longer(good + "tail", 1000, good.size());
  st = DecodeSnapshot(&longer, 0, &target);
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_NE(st.message().find("past its size"), std::string::npos) << st.ToString();
  EXPECT_EQ(EncodeSnapshot(target), before);
}

}  // namespace
}  // namespace streamrec::engine
