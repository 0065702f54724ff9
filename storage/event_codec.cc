#include "storage/event_codec.h"

#include <fmt/format.h>

#include <cstring>

namespace streamrec::storage {
void PutVarint32(std::string* out, uint32_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint32(std::string_view* in, uint32_t* v) {
  uint32_t result = 0;
  for (int shift = 0; shift <= 28 && !in->empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    if (shift == 28 && byte > 0x0f) return false;  // would overflow 32 bits
    result |= uint32_t{byte & 0x7fu} << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

void PutString(std::string* out, std::string_view s) {
  PutVarint32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

bool GetString(std::string_view* in, std::string* s) {
  uint32_t n = 0;
  if (!GetVarint32(in, &n) || n > in->size()) return false;
  s->assign(in->data(), n);
  in->remove_prefix(n);
  return true;
}

namespace {

template <typename T>
void PutFixedLE(std::string* out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));  // x86-64 and aarch64 are little-endian
  out->append(buf, sizeof(T));
}

template <typename T>
bool GetFixedLE(std::string_view* in, T* v) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(v, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}

void PutBE64(std::string* out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetBE64(std::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

}  // namespace

void EncodeEvent(const StoredEvent& e, std::string* out) {
  out->clear();
  out->push_back(static_cast<char>(kEventFormatVersion));
  PutString(out, e.event_id);
  PutString(out, e.user);
  PutString(out, e.item);
  PutString(out, e.type);
  PutFixedLE(out, e.value);
  PutFixedLE(out, e.ts_ms);
}

Status DecodeEvent(std::string_view in, StoredEvent* e) {
  if (in.empty()) return Status::Corruption("empty event record");
  const auto version = static_cast<uint8_t>(in.front());
  if (version != kEventFormatVersion) {
    return version > kEventFormatVersion
               ? Status::Unimplemented(
                     fmt::format("event record format {} is newer than this build ({})", version,
                                 kEventFormatVersion))
               : Status::Corruption(fmt::format("bad event record version {}", version));
  }
  in.remove_prefix(1);
  if (!GetString(&in, &e->event_id) || !GetString(&in, &e->user) || !GetString(&in, &e->item) ||
      !GetString(&in, &e->type) || !GetFixedLE(&in, &e->value) || !GetFixedLE(&in, &e->ts_ms)) {
    return Status::Corruption("truncated event record");
  }
  if (!in.empty()) return Status::Corruption("trailing bytes after event record");
  if (e->user.empty() || e->item.empty() || e->type.empty()) {
    return Status::Corruption("event record with an empty user, item or type");
  }
  return Status::OK();
}

std::string SeqKey(uint64_t seq) {
  std::string k;
  PutBE64(&k, seq);
  return k;
}

Status DecodeSeqKey(std::string_view key, uint64_t* seq) {
  if (key.size() != 8)
    return Status::Corruption(fmt::format("bad sequence key of {} bytes", key.size()));
  *seq = GetBE64(key);
  return Status::OK();
}

uint64_t PayloadFingerprint(const StoredEvent& e) {
  StoredEvent payload = e;
  payload.event_id.clear();
  if (e.ts_assigned) payload.ts_ms = 0;
  std::string bytes;
  EncodeEvent(payload, &bytes);
  if (e.ts_assigned) bytes.push_back('\xff');
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string EncodeDedup(uint64_t seq, uint64_t fingerprint) {
  std::string v;
  PutBE64(&v, seq);
  PutBE64(&v, fingerprint);
  return v;
}

Status DecodeDedup(std::string_view in, uint64_t* seq, uint64_t* fingerprint) {
  if (in.size() != 16) return Status::Corruption("bad dedup record");
  *seq = GetBE64(in);
  *fingerprint = GetBE64(in.substr(8));
  return Status::OK();
}

std::string UserIndexPrefix(std::string_view user) {
  std::string k;
  PutString(&k, user);
  return k;
}

std::string UserIndexKey(std::string_view user, uint64_t seq) {
  std::string k = UserIndexPrefix(user);
  PutBE64(&k, seq);
  return k;
}

// Version 1: hidden byte, categories. Version 2 appends the created time
// (big-endian 64-bit ms); version 1 records read as "not said" (0).
void EncodeItemMeta(const ItemMeta& m, std::string* out) {
  out->clear();
  out->push_back(2);  // format version
  out->push_back(m.hidden ? 1 : 0);
  PutVarint32(out, static_cast<uint32_t>(m.categories.size()));
  for (const auto& c : m.categories) PutString(out, c);
  PutBE64(out, static_cast<uint64_t>(m.created_ms));
}

Status DecodeItemMeta(std::string_view in, ItemMeta* m) {
  if (in.size() < 2 || (in[0] != 1 && in[0] != 2)) return Status::Corruption("bad catalog record");
  const int version = in[0];
  m->hidden = in[1] != 0;
  in.remove_prefix(2);
  uint32_t n = 0;
  if (!GetVarint32(&in, &n) || n > in.size()) return Status::Corruption("bad catalog record");
  m->categories.assign(n, {});
  for (auto& c : m->categories) {
    if (!GetString(&in, &c)) return Status::Corruption("truncated catalog record");
  }
  m->created_ms = 0;
  if (version == 2) {
    if (in.size() < 8) return Status::Corruption("truncated catalog record");
    m->created_ms = static_cast<int64_t>(GetBE64(in));
    in.remove_prefix(8);
  }
  if (!in.empty()) return Status::Corruption("trailing bytes after catalog record");
  return Status::OK();
}

}  // namespace streamrec::storage
