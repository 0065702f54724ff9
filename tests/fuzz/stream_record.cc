// Fuzz target: the cluster's stream records (storage/stream_record.h). A
// replica decodes every message of the stream, whoever published it.
//
// Invariants besides "no crash, no sanitizer report, no exception":
// - damage is Corruption (or Unimplemented, for an event of a newer
//   version inside a record);
// - whatever decodes re-encodes to bytes that decode to the same record,
//   and encoding is then stable.
#include <bit>
#include <cstdint>
#include <string>

#include "storage/stream_record.h"
#include "tests/fuzz/fuzz_check.h"

namespace streamrec::fuzz {
namespace {

using storage::StreamRecord;

bool SameEvent(const storage::StoredEvent& a, const storage::StoredEvent& b) {
  return a.event_id == b.event_id && a.user == b.user && a.item == b.item && a.type == b.type &&
         std::bit_cast<uint32_t>(a.value) == std::bit_cast<uint32_t>(b.value) &&
         a.ts_ms == b.ts_ms && a.ts_assigned == b.ts_assigned;
}

bool Same(const StreamRecord& a, const StreamRecord& b) {
  if (a.kind != b.kind || a.origin != b.origin || a.config != b.config || a.id != b.id ||
      a.meta.categories != b.meta.categories || a.meta.hidden != b.meta.hidden ||
      !(a.install == b.install) || a.batches.size() != b.batches.size()) {
    return false;
  }
  for (size_t k = 0; k < a.batches.size(); ++k) {
    if (a.batches[k].size() != b.batches[k].size()) return false;
    for (size_t n = 0; n < a.batches[k].size(); ++n) {
      if (!SameEvent(a.batches[k][n], b.batches[k][n])) return false;
    }
  }
  return true;
}

void Check(std::string_view in) {
  StreamRecord r;
  const Status st = storage::DecodeRecord(in, &r);
  if (!st.ok()) {
    FUZZ_CHECK(st.code() == StatusCode::kCorruption || st.code() == StatusCode::kUnimplemented,
               "a record refused with {}", st.ToString());
    return;
  }
  std::string again;
  storage::EncodeRecord(r, &again);
  StreamRecord back;
  const Status st2 = storage::DecodeRecord(again, &back);
  FUZZ_CHECK(st2.ok(), "a re-encoded record decodes as {}", st2.ToString());
  FUZZ_CHECK(Same(r, back), "a record changes through the codec");
  std::string third;
  storage::EncodeRecord(back, &third);
  FUZZ_CHECK(third == again, "encoding a decoded record is not stable");
}

}  // namespace
}  // namespace streamrec::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  streamrec::fuzz::Check(streamrec::fuzz::AsText(data, size));
  return 0;
}
