// EncodeSnapshot into a SnapshotSink (engine/live/snapshot.h): the bytes a
// piece at a time are exactly the one-string encoding's, in pieces of the
// size asked for; a sink's error stops the pieces; a state that changes
// between the two passes is refused rather than handed over as a snapshot.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "engine/live/snapshot.h"

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

}  // namespace
}  // namespace streamrec::engine
