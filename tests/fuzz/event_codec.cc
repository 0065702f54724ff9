// Fuzz target: the binary records storage/ keeps in RocksDB
// (storage/event_codec.h). Each input is decoded as an event value, a
// catalog value, a dedup value and a sequence key, as recovery and the
// readers do with whatever a damaged database holds; and it is also taken
// apart (FuzzedDataProvider) into an event and item metadata to encode.
//
// Invariants besides "no crash, no sanitizer report, no exception":
// - damage is Corruption (or Unimplemented, for a newer event version);
// - decode(encode(x)) == x for whatever decodes, and for every event the
//   log would store (non-empty user, item and type) and every metadata;
// - an accepted event record never carries an empty user, item or type;
// - keys keep their order: SeqKey sorts as its number does.
#include "storage/event_codec.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <bit>
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_check.h"

namespace streamrec::fuzz {
namespace {

using storage::StoredEvent;

void CheckDamage(const Status& st, std::string_view what) {
  FUZZ_CHECK(st.code() == StatusCode::kCorruption || st.code() == StatusCode::kUnimplemented,
             "{} refused with {}", what, st.ToString());
}

// == on StoredEvent compares value as a float, and NaN != NaN: the codec
// must keep the bits.
bool SameEvent(const StoredEvent& a, const StoredEvent& b) {
  return a.event_id == b.event_id && a.user == b.user && a.item == b.item && a.type == b.type &&
         std::bit_cast<uint32_t>(a.value) == std::bit_cast<uint32_t>(b.value) &&
         a.ts_ms == b.ts_ms && a.seq == b.seq;
}

void CheckEventRoundTrip(const StoredEvent& e) {
  std::string record;
  storage::EncodeEvent(e, &record);
  StoredEvent back;
  back.seq = e.seq;  // the key, not the value
  const Status st = storage::DecodeEvent(record, &back);
  FUZZ_CHECK(st.ok(), "an encoded event decodes as {}", st.ToString());
  FUZZ_CHECK(SameEvent(back, e), "an event changes through the codec");
  // The fingerprint reads only the payload.
  StoredEvent other_id = e;
  other_id.event_id += "x";
  FUZZ_CHECK(storage::PayloadFingerprint(other_id) == storage::PayloadFingerprint(e),
             "the fingerprint depends on event_id");
}

void CheckMetaRoundTrip(const storage::ItemMeta& m) {
  std::string record;
  storage::EncodeItemMeta(m, &record);
  storage::ItemMeta back;
  const Status st = storage::DecodeItemMeta(record, &back);
  FUZZ_CHECK(st.ok() && back == m, "item metadata changes through the codec: {}", st.ToString());
}

void DecodeAsStored(std::string_view in) {
  StoredEvent e;
  if (Status st = storage::DecodeEvent(in, &e); st.ok()) {
    FUZZ_CHECK(!e.user.empty() && !e.item.empty() && !e.type.empty(),
               "an accepted record has an empty user, item or type");
    CheckEventRoundTrip(e);
  } else {
    CheckDamage(st, "an event record");
  }
  storage::ItemMeta meta;
  if (Status st = storage::DecodeItemMeta(in, &meta); st.ok()) {
    CheckMetaRoundTrip(meta);
  } else {
    CheckDamage(st, "a catalog record");
  }
  uint64_t seq = 0, fingerprint = 0;
  if (Status st = storage::DecodeDedup(in, &seq, &fingerprint); st.ok()) {
    FUZZ_CHECK(storage::EncodeDedup(seq, fingerprint) == in, "a dedup record re-encodes apart");
  } else {
    CheckDamage(st, "a dedup record");
  }
  if (Status st = storage::DecodeSeqKey(in, &seq); st.ok()) {
    FUZZ_CHECK(storage::SeqKey(seq) == in, "a sequence key re-encodes apart");
  } else {
    CheckDamage(st, "a sequence key");
  }
}

void EncodeFromParts(const uint8_t* data, size_t size) {
  FuzzedDataProvider p(data, size);
  StoredEvent e;
  e.seq = p.ConsumeIntegral<uint64_t>();
  e.value = std::bit_cast<float>(p.ConsumeIntegral<uint32_t>());
  e.ts_ms = p.ConsumeIntegral<int64_t>();
  e.event_id = p.ConsumeRandomLengthString(64);
  e.user = p.ConsumeRandomLengthString(300);
  e.item = p.ConsumeRandomLengthString(300);
  e.type = p.ConsumeRandomLengthString(32);
  if (!e.user.empty() && !e.item.empty() && !e.type.empty()) CheckEventRoundTrip(e);

  // Keys: bytewise order is numeric order, and a user's keys share the
  // prefix that no other user's keys have.
  const uint64_t other = p.ConsumeIntegral<uint64_t>();
  FUZZ_CHECK((storage::SeqKey(e.seq) < storage::SeqKey(other)) == (e.seq < other),
             "SeqKey({}) and SeqKey({}) sort apart from the numbers", e.seq, other);
  const std::string key = storage::UserIndexKey(e.user, e.seq);
  FUZZ_CHECK(key.starts_with(storage::UserIndexPrefix(e.user)), "user key without its prefix");
  if (e.item != e.user) {
    FUZZ_CHECK(!storage::UserIndexKey(e.item, other).starts_with(storage::UserIndexPrefix(e.user)),
               "one user's key starts with another's prefix");
  }

  storage::ItemMeta m;
  m.hidden = p.ConsumeBool();
  const size_t n = p.ConsumeIntegralInRange<size_t>(0, 8);
  for (size_t i = 0; i < n; ++i) m.categories.push_back(p.ConsumeRandomLengthString(40));
  CheckMetaRoundTrip(m);
}

}  // namespace
}  // namespace streamrec::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  streamrec::fuzz::DecodeAsStored(streamrec::fuzz::AsText(data, size));
  streamrec::fuzz::EncodeFromParts(data, size);
  return 0;
}
