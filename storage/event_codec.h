// The compact binary encodings of what storage/ keeps in RocksDB: events
// (versioned), dedup entries, catalog entries and big-endian keys.
//
// Event value, version 1:
//   byte     version (1)
//   varint32 length + bytes, four times: event_id, user, item, type
//   4 bytes  value (IEEE-754 bits, little-endian)
//   8 bytes  ts_ms (two's complement, little-endian)
// Decoding checks every length against the bytes left and rejects trailing
// bytes, so a damaged value is Corruption, never a crash.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/catalog.h"
#include "engine/core/status.h"

namespace streamrec::storage {

// One event as the log stores it, and as writers hand it to the log (seq
// 0: the log assigns it on append). `event_id` may be empty (no dedup).
struct StoredEvent {
  uint64_t seq = 0;
  std::string event_id;
  std::string user;
  std::string item;
  std::string type;
  float value = 0.0f;
  int64_t ts_ms = 0;
  // ts_ms was stamped on arrival because the client sent none. Not stored
  // (a decoded event has false); it only keeps ts_ms out of the dedup
  // fingerprint, so that a retry of the same body, stamped again with a
  // later time, is still a duplicate.
  bool ts_assigned = false;
  bool operator==(const StoredEvent&) const = default;
};

inline constexpr uint8_t kEventFormatVersion = 1;

void EncodeEvent(const StoredEvent& e, std::string* out);  // seq is the key, not encoded
Status DecodeEvent(std::string_view in, StoredEvent* e);   // leaves e->seq alone

// 8-byte big-endian keys sort in numeric order under RocksDB's bytewise
// comparator.
std::string SeqKey(uint64_t seq);
Status DecodeSeqKey(std::string_view key, uint64_t* seq);

// Fingerprint of an event's payload as the client sent it (everything but
// seq and event_id, and ts_ms when the server assigned it): a retried
// event_id with the same fingerprint is a duplicate, a different one a
// conflict. 64-bit FNV-1a over the encoded fields; an assigned ts hashes as
// 0 plus a marker byte, so "no ts" differs from an explicit ts of 0 and the
// fingerprints of events with an explicit ts are what they always were.
uint64_t PayloadFingerprint(const StoredEvent& e);

// dedup value: seq (8 bytes BE) + fingerprint (8 bytes BE).
std::string EncodeDedup(uint64_t seq, uint64_t fingerprint);
Status DecodeDedup(std::string_view in, uint64_t* seq, uint64_t* fingerprint);

// user index key: varint32 length + user bytes + seq (8 bytes BE); the
// length prefix keeps "ab"+seq from colliding with "a"+"b..."
std::string UserIndexPrefix(std::string_view user);
std::string UserIndexKey(std::string_view user, uint64_t seq);

// The varint and length-prefixed string pieces of these encodings, shared
// with the cluster's stream records (storage/stream_record.h). The Get
// forms return false, consuming an unspecified prefix, on truncated or
// overlong input.
void PutVarint32(std::string* out, uint32_t v);
bool GetVarint32(std::string_view* in, uint32_t* v);
void PutString(std::string* out, std::string_view s);
bool GetString(std::string_view* in, std::string* s);

// Item metadata kept in the catalog column family (the engine's type).
using ItemMeta = engine::ItemMeta;
void EncodeItemMeta(const ItemMeta& m, std::string* out);
Status DecodeItemMeta(std::string_view in, ItemMeta* m);

}  // namespace streamrec::storage
