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

// The bytes with the last n bytes of the config section cut (its length
// patched to match), as older versions wrote a shorter one. Not resealed.
inline std::string WithoutConfigTail(std::string b, uint64_t n) {
  const size_t header = Header(b, 1);  // config
  uint64_t len = 0;
  std::memcpy(&len, b.data() + header + 4, 8);
  const uint64_t shorter = len - n;
  std::memcpy(b.data() + header + 4, &shorter, 8);
  b.erase(header + 12 + shorter, n);
  return b;
}

// The bytes as a version before 6 wrote them (the caller patches the
// version): the config section without its last two fields,
// init_full_scale_users and _items. Not resealed.
inline std::string WithoutFullScaleCounts(std::string b) {
  return WithoutConfigTail(std::move(b), 8);
}

}  // namespace streamrec::engine::snapshot_bytes
