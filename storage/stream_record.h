// The messages of the replicated stream (cluster mode, storage/
// replicated_log.h): one per wake-up of a replica's publisher, carrying the
// writes it took in, in order. Every replica decodes and applies the same
// records in stream order, so every replica makes the same decisions
// (dedup, conflicts, seqs) from the same bytes.
//
// Record, version 1:
//   byte     version (1)
//   byte     kind: 1 events, 2 forget user, 3 put item, 4 delete item,
//            5 retrain, 6 install
//   varint32 length + bytes: origin (the publishing replica's message id;
//            it finds the callers waiting for this record there)
//   8 bytes  little-endian: the publisher's ConfigFingerprint (recovery.h):
//            a replica configured otherwise applies the same stream to a
//            different model, and says so
//   events:  varint32 batch count; per batch a varint32 event count, per
//            event a flags byte (bit 0: ts_assigned, which the dedup
//            fingerprint needs) and a length-prefixed event value
//            (event_codec.h)
//   forget:  length-prefixed user
//   put:     length-prefixed item, length-prefixed item metadata
//   delete:  length-prefixed item
//   retrain: nothing more
//   install: 4 x 8 bytes little-endian: the retrain record's stream seq, the
//            event seq it trained through, the users and items it covers
// Decoding checks every length and rejects trailing bytes: a damaged
// record is Corruption, never a crash.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "storage/event_codec.h"

namespace streamrec::storage {

enum class RecordKind : uint8_t {
  kEvents = 1,
  kForgetUser = 2,
  kPutItem = 3,
  kDeleteItem = 4,
  kRetrain = 5,  // start a retrain here (docs/DESIGN.md section 10)
  kInstall = 6,  // install that retrain's model here
};

// What an install record says: the retrain it installs and what that
// retrain trained on (a replica without the trained model trains it from
// these at the install).
struct InstallInfo {
  uint64_t retrain_seq = 0;  // stream seq of the retrain record
  uint64_t through_seq = 0;  // the event seq it trained through
  uint64_t num_users = 0;    // the first this many user ids
  uint64_t num_items = 0;
  bool operator==(const InstallInfo&) const = default;
};

struct StreamRecord {
  RecordKind kind = RecordKind::kEvents;
  std::string origin;
  uint64_t config = 0;                            // the publisher's ConfigFingerprint
  std::vector<std::vector<StoredEvent>> batches;  // kEvents
  std::string id;                                 // the user or item of the other kinds
  ItemMeta meta;                                  // kPutItem
  InstallInfo install;                            // kInstall
};

inline constexpr uint8_t kStreamRecordVersion = 1;

void EncodeRecord(const StreamRecord& r, std::string* out);
Status DecodeRecord(std::string_view in, StreamRecord* r);

// The bytes one event adds to an events record (for splitting records at
// the stream's message size limit).
size_t EncodedEventSize(const StoredEvent& e);

}  // namespace streamrec::storage
