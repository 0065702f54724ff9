#include "storage/stream_record.h"

#include <fmt/format.h>

namespace streamrec::storage {
namespace {

constexpr uint8_t kTsAssigned = 1;
// The least an event takes in a record: flags, the value's length, and the
// value itself (version, four string lengths, value, ts).
constexpr size_t kMinEventBytes = 1 + 1 + 1 + 4 + 4 + 8;

void PutFixed64(std::string* out, uint64_t v) {
  for (int k = 0; k < 8; ++k) out->push_back(static_cast<char>((v >> (8 * k)) & 0xff));
}

bool GetFixed64(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  *v = 0;
  for (int k = 0; k < 8; ++k) *v |= uint64_t{static_cast<uint8_t>((*in)[k])} << (8 * k);
  in->remove_prefix(8);
  return true;
}

Status Damaged(std::string_view what) {
  return Status::Corruption(fmt::format("stream record: {}", what));
}

}  // namespace

void EncodeRecord(const StreamRecord& r, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kStreamRecordVersion));
  out->push_back(static_cast<char>(r.kind));
  PutString(out, r.origin);
  PutFixed64(out, r.config);
  std::string value;
  switch (r.kind) {
    case RecordKind::kEvents:
      PutVarint32(out, static_cast<uint32_t>(r.batches.size()));
      for (const std::vector<StoredEvent>& batch : r.batches) {
        PutVarint32(out, static_cast<uint32_t>(batch.size()));
        for (const StoredEvent& e : batch) {
          out->push_back(static_cast<char>(e.ts_assigned ? kTsAssigned : 0));
          EncodeEvent(e, &value);
          PutString(out, value);
        }
      }
      break;
    case RecordKind::kPutItem:
      PutString(out, r.id);
      EncodeItemMeta(r.meta, &value);
      PutString(out, value);
      break;
    case RecordKind::kForgetUser:
    case RecordKind::kDeleteItem:
      PutString(out, r.id);
      break;
    case RecordKind::kRetrain:
      break;
    case RecordKind::kInstall:
      PutFixed64(out, r.install.retrain_seq);
      PutFixed64(out, r.install.through_seq);
      PutFixed64(out, r.install.num_users);
      PutFixed64(out, r.install.num_items);
      break;
  }
}

Status DecodeRecord(std::string_view in, StreamRecord* r) {
  *r = StreamRecord();
  if (in.size() < 2) return Damaged("shorter than its header");
  if (static_cast<uint8_t>(in[0]) != kStreamRecordVersion) {
    return Damaged(fmt::format("unknown version {} (this build reads {})",
                               static_cast<uint8_t>(in[0]), kStreamRecordVersion));
  }
  const auto kind = static_cast<uint8_t>(in[1]);
  if (kind < 1 || kind > 6) return Damaged(fmt::format("unknown kind {}", kind));
  r->kind = static_cast<RecordKind>(kind);
  in.remove_prefix(2);
  if (!GetString(&in, &r->origin) || !GetFixed64(&in, &r->config)) return Damaged("bad origin");
  std::string value;
  switch (r->kind) {
    case RecordKind::kEvents: {
      uint32_t batches = 0;
      // Every batch takes at least one byte: a count beyond the bytes left
      // is damage, not a reason to allocate.
      if (!GetVarint32(&in, &batches) || batches > in.size()) return Damaged("bad batch count");
      r->batches.resize(batches);
      for (std::vector<StoredEvent>& batch : r->batches) {
        uint32_t n = 0;
        // Each event takes at least kMinEventBytes: a count the bytes left
        // cannot hold is damage, not a reason to allocate.
        if (!GetVarint32(&in, &n) || n > in.size() / kMinEventBytes) {
          return Damaged("bad event count");
        }
        batch.resize(n);
        for (StoredEvent& e : batch) {
          if (in.empty()) return Damaged("truncated event");
          const auto flags = static_cast<uint8_t>(in.front());
          in.remove_prefix(1);
          if ((flags & ~kTsAssigned) != 0) return Damaged("unknown event flags");
          if (!GetString(&in, &value)) return Damaged("truncated event");
          STREAMREC_RETURN_IF_ERROR(DecodeEvent(value, &e));
          e.ts_assigned = (flags & kTsAssigned) != 0;
        }
      }
      break;
    }
    case RecordKind::kPutItem:
      if (!GetString(&in, &r->id) || !GetString(&in, &value)) return Damaged("truncated item");
      STREAMREC_RETURN_IF_ERROR(DecodeItemMeta(value, &r->meta));
      break;
    case RecordKind::kForgetUser:
    case RecordKind::kDeleteItem:
      if (!GetString(&in, &r->id)) return Damaged("truncated id");
      break;
    case RecordKind::kRetrain:
      break;
    case RecordKind::kInstall:
      if (!GetFixed64(&in, &r->install.retrain_seq) || !GetFixed64(&in, &r->install.through_seq) ||
          !GetFixed64(&in, &r->install.num_users) || !GetFixed64(&in, &r->install.num_items)) {
        return Damaged("truncated install");
      }
      break;
  }
  if (!in.empty()) return Damaged(fmt::format("{} trailing bytes", in.size()));
  return Status::OK();
}

size_t EncodedEventSize(const StoredEvent& e) {
  // flags byte + varint length (<= 5) + the value: version, four
  // length-prefixed strings, value and ts.
  return 1 + 5 + 1 + 4 * 5 + e.event_id.size() + e.user.size() + e.item.size() + e.type.size() +
         4 + 8;
}

}  // namespace streamrec::storage
