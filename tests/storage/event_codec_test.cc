#include "storage/event_codec.h"

#include <gtest/gtest.h>

namespace streamrec::storage {
namespace {

StoredEvent Sample() {
  return {0, "evt-1", "user \xc3\xa9", "item/9", "rating", 4.5f, -1234567890123};
}

TEST(EventCodecTest, RoundTripIsExact) {
  std::string bytes;
  EncodeEvent(Sample(), &bytes);
  StoredEvent back;
  ASSERT_TRUE(DecodeEvent(bytes, &back).ok());
  EXPECT_EQ(back, Sample());
}

TEST(EventCodecTest, EveryTruncationIsCorruption) {
  std::string bytes;
  EncodeEvent(Sample(), &bytes);
  for (size_t n = 0; n < bytes.size(); ++n) {
    StoredEvent e;
    const Status st = DecodeEvent(std::string_view(bytes).substr(0, n), &e);
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << "length " << n;
  }
  bytes.push_back('x');
  StoredEvent e;
  EXPECT_EQ(DecodeEvent(bytes, &e).code(), StatusCode::kCorruption) << "trailing byte";
}

TEST(EventCodecTest, NewerVersionIsUnimplementedOlderIsCorruption) {
  std::string bytes;
  EncodeEvent(Sample(), &bytes);
  StoredEvent e;
  bytes[0] = static_cast<char>(kEventFormatVersion + 1);
  EXPECT_EQ(DecodeEvent(bytes, &e).code(), StatusCode::kUnimplemented);
  bytes[0] = 0;
  EXPECT_EQ(DecodeEvent(bytes, &e).code(), StatusCode::kCorruption);
}

TEST(EventCodecTest, OverlongLengthOrVarintIsCorruption) {
  StoredEvent e;
  // Version, then a length of 2^32-1 for event_id with 1 byte behind it.
  const std::string huge = std::string("\x01\xff\xff\xff\xff\x0f", 6) + "x";
  EXPECT_EQ(DecodeEvent(huge, &e).code(), StatusCode::kCorruption);
  const std::string overflow = std::string("\x01\xff\xff\xff\xff\x7f", 6);
  EXPECT_EQ(DecodeEvent(overflow, &e).code(), StatusCode::kCorruption);
}

TEST(EventCodecTest, SeqKeysSortNumerically) {
  EXPECT_LT(SeqKey(1), SeqKey(2));
  EXPECT_LT(SeqKey(255), SeqKey(256));
  EXPECT_LT(SeqKey(0xffffffffull), SeqKey(0x100000000ull));
  uint64_t seq = 0;
  ASSERT_TRUE(DecodeSeqKey(SeqKey(0x0123456789abcdefull), &seq).ok());
  EXPECT_EQ(seq, 0x0123456789abcdefull);
  EXPECT_FALSE(DecodeSeqKey("short", &seq).ok());
}

TEST(EventCodecTest, FingerprintIgnoresIdAndSeqButNotPayload) {
  StoredEvent a = Sample(), b = Sample();
  b.event_id = "other";
  b.seq = 99;
  EXPECT_EQ(PayloadFingerprint(a), PayloadFingerprint(b));
  for (auto change :
       {+[](StoredEvent* e) { e->user += "x"; }, +[](StoredEvent* e) { e->item += "x"; },
        +[](StoredEvent* e) { e->type = "view"; }, +[](StoredEvent* e) { e->value = 4.0f; },
        +[](StoredEvent* e) { e->ts_ms += 1; }}) {
    StoredEvent c = Sample();
    change(&c);
    EXPECT_NE(PayloadFingerprint(a), PayloadFingerprint(c));
  }
}

TEST(EventCodecTest, FingerprintLeavesOutATsTheServerAssigned) {
  // A retry of a body without ts is stamped again, later: still the same.
  StoredEvent a = Sample(), b = Sample();
  a.ts_assigned = b.ts_assigned = true;
  b.ts_ms = a.ts_ms + 5000;
  EXPECT_EQ(PayloadFingerprint(a), PayloadFingerprint(b));
  // "No ts" is neither an explicit ts of 0 nor the time it was stamped with.
  StoredEvent zero = Sample(), stamped = a;
  zero.ts_ms = 0;
  stamped.ts_assigned = false;
  EXPECT_NE(PayloadFingerprint(a), PayloadFingerprint(zero));
  EXPECT_NE(PayloadFingerprint(a), PayloadFingerprint(stamped));
  // The rest of the payload still counts.
  b.value = 1.0f;
  EXPECT_NE(PayloadFingerprint(a), PayloadFingerprint(b));
  // An explicit ts keeps the fingerprint it always had (FNV-1a of the
  // encoding without event_id), so dedup entries written before still match.
  StoredEvent old = Sample();
  old.event_id.clear();
  std::string bytes;
  EncodeEvent(old, &bytes);
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  EXPECT_EQ(PayloadFingerprint(Sample()), h);
}

TEST(EventCodecTest, DedupAndUserIndexKeys) {
  uint64_t seq = 0, fp = 0;
  ASSERT_TRUE(DecodeDedup(EncodeDedup(42, 0xdeadbeefcafe), &seq, &fp).ok());
  EXPECT_EQ(seq, 42u);
  EXPECT_EQ(fp, 0xdeadbeefcafeull);
  EXPECT_FALSE(DecodeDedup("x", &seq, &fp).ok());
  // "ab" and "a" + "b..." never share a prefix thanks to the length byte.
  EXPECT_NE(UserIndexKey("ab", 1).rfind(UserIndexPrefix("a"), 0), 0u);
  EXPECT_EQ(UserIndexKey("ab", 1).rfind(UserIndexPrefix("ab"), 0), 0u);
}

TEST(EventCodecTest, ItemMetaRoundTripAndDamage) {
  const ItemMeta m{.categories = {"a", "", "long category"},
                   .hidden = true,
                   .created_ms = 1'714'564'800'123};
  std::string bytes;
  EncodeItemMeta(m, &bytes);
  ItemMeta back;
  ASSERT_TRUE(DecodeItemMeta(bytes, &back).ok());
  EXPECT_EQ(back, m);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeItemMeta(std::string_view(bytes).substr(0, n), &back).ok()) << n;
  }
  bytes.push_back('x');
  EXPECT_FALSE(DecodeItemMeta(bytes, &back).ok());
  // A version-1 record (written before created times): no created time.
  const std::string v1("\x01\x00\x01\x05" "books", 9);
  ASSERT_TRUE(DecodeItemMeta(v1, &back).ok());
  EXPECT_EQ(back, (ItemMeta{.categories = {"books"}, .hidden = false, .created_ms = 0}));
}

}  // namespace
}  // namespace streamrec::storage
