// The snapshot codec's Reader over a ByteSource (engine/live/snapshot_io.h):
// fields and Bytes() that straddle pieces are gathered, Bulk() is copied
// straight from the pieces (never more than one piece pulled past what a
// read needs), counts and lengths are checked against the section's bytes
// left, and a source that fails or ends early reads as the end.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "engine/live/snapshot_io.h"

namespace streamrec::engine::snapshot_internal {
namespace {

// `bytes` in pieces of `piece` bytes; fails once `fail_at` bytes are given.
class Pieces final : public ByteSource {
 public:
  Pieces(std::string bytes, size_t piece, size_t fail_at = SIZE_MAX)
      : bytes_(std::move(bytes)), piece_(piece), fail_at_(fail_at) {}
  bool Next(size_t max, std::string_view* out) override {
    const size_t in_piece = piece_ - at_ % piece_;
    const size_t n = std::min({max, in_piece, bytes_.size() - at_});
    if (n == 0 || at_ >= fail_at_) return false;
    *out = std::string_view(bytes_).substr(at_, n);
    at_ += n;
    largest_ = std::max(largest_, n);
    return true;
  }
  size_t given() const { return at_; }
  size_t largest() const { return largest_; }

 private:
  std::string bytes_;
  size_t piece_;
  size_t fail_at_;
  size_t at_ = 0;
  size_t largest_ = 0;
};

std::string Encoded(const std::vector<float>& floats) {
  std::string out;
  Writer w(&out);
  w.U32(7);
  w.U64(0x0102030405060708ull);
  w.U32(3);
  w.Bulk("abc", 3);
  w.U32(static_cast<uint32_t>(floats.size()));
  w.Bulk(floats.data(), floats.size());
  w.U8(9);
  return out;
}

TEST(SnapshotReaderTest, ReadsTheSameFieldsFromAnyPieces) {
  std::vector<float> floats(1000);
  std::iota(floats.begin(), floats.end(), 0.5f);
  const std::string bytes = Encoded(floats);
  for (const size_t piece : {size_t{1}, size_t{3}, size_t{7}, size_t{64}, bytes.size()}) {
    Pieces source(bytes, piece);
    Reader r(&source, bytes.size());
    EXPECT_EQ(r.U32(), 7u) << piece;
    EXPECT_EQ(r.U64(), 0x0102030405060708ull) << piece;
    EXPECT_EQ(r.Bytes(r.U32()), "abc") << piece;
    const uint32_t n = r.Count(4);
    EXPECT_EQ(r.Bulk<float>(n), floats) << piece;
    EXPECT_EQ(r.U8(), 9u) << piece;
    EXPECT_TRUE(r.ok()) << piece;
    EXPECT_EQ(r.remaining(), 0u) << piece;
    EXPECT_EQ(source.given(), bytes.size()) << piece;
    // A read past the end fails, whatever the pieces.
    EXPECT_EQ(r.U32(), 0u);
    EXPECT_FALSE(r.ok()) << piece;
  }
}

// The Reader pulls only the section's bytes: what follows in the source is
// the next section's.
TEST(SnapshotReaderTest, PullsNothingPastItsBytes) {
  const std::string bytes = Encoded({1.0f, 2.0f}) + "NEXT";
  Pieces source(bytes, 5);
  Reader r(&source, bytes.size() - 4);
  r.U32();
  r.U64();
  r.Bytes(r.U32());
  r.Bulk<float>(r.Count(4));
  r.U8();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(source.given(), bytes.size() - 4);
  EXPECT_LE(source.largest(), 5u);
}

TEST(SnapshotReaderTest, CountsAndLengthsBeyondTheBytesLeftFail) {
  const std::string bytes = Encoded(std::vector<float>(10, 1.0f));
  {
    // The section ends inside the last float: 10 floats of 4 bytes are not
    // there (the count alone, at 1 byte each, passes).
    Pieces source(bytes, 4);
    Reader r(&source, bytes.size() - 2);
    r.U32();
    r.U64();
    r.Bytes(r.U32());
    const uint32_t n = r.Count(1);
    EXPECT_EQ(n, 10u);
    EXPECT_TRUE(r.Bulk<float>(n).empty());
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
  }
  {
    Pieces source(bytes, 4);
    Reader r(&source, bytes.size());
    r.U32();
    r.U64();
    r.Bytes(r.U32());
    EXPECT_EQ(r.Count(1000), 0u);  // 10 x 1000 bytes are not there
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.Bytes(1), "");
  }
}

// A source that fails in the middle of a Bulk: not ok, nothing returned.
TEST(SnapshotReaderTest, ASourceFailingMidwayReadsAsTheEnd) {
  std::vector<float> floats(100, 3.0f);
  const std::string bytes = Encoded(floats);
  Pieces source(bytes, 16, /*fail_at=*/64);
  Reader r(&source, bytes.size());
  r.U32();
  r.U64();
  EXPECT_EQ(r.Bytes(r.U32()), "abc");
  const uint32_t n = r.Count(4);
  EXPECT_EQ(n, 100u);
  EXPECT_TRUE(r.Bulk<float>(n).empty());
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.U8(), 0u);
}

}  // namespace
}  // namespace streamrec::engine::snapshot_internal
