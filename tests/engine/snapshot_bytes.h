// Byte-level helpers for the snapshot tests (engine/live/snapshot.h's
// format): reseal after an edit, patch a field, find a section.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "engine/live/snapshot.h"

namespace streamrec::engine::snapshot_bytes {

// The bytes with their trailing CRC32C recomputed, so an edit reaches the
// sections instead of stopping at the checksum.
inline std::string Reseal(std::string b) {
  b.resize(b.size() - 4);
  const uint32_t crc = Crc32c(b);
  b.append(reinterpret_cast<const char*>(&crc), 4);
  return b;
}

// Writes v over the bytes at `at`.
template <typename T>
void Patch(std::string* b, size_t at, T v) {
  ASSERT_LE(at + sizeof(T), b->size());
  std::memcpy(b->data() + at, &v, sizeof(T));
}

// Offset of a section's header (tag u32, length u64), by walking the
// headers; a test failure and 0 if there is none.
inline size_t Header(const std::string& b, uint32_t tag) {
  for (size_t at = sizeof(kSnapshotMagic) + 4; at + 12 <= b.size();) {
    uint32_t t;
    uint64_t len;
    std::memcpy(&t, b.data() + at, 4);
    std::memcpy(&len, b.data() + at + 4, 8);
    if (t == tag) return at;
    at += 12 + len;
  }
  ADD_FAILURE() << "no section " << tag;
  return 0;
}

// Offset of a section's payload.
inline size_t Payload(const std::string& b, uint32_t tag) { return Header(b, tag) + 12; }

}  // namespace streamrec::engine::snapshot_bytes
