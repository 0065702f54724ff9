// The snapshot codec's byte-level tools (engine/live/snapshot.cc and
// snapshot_sections.cc): fixed-width little-endian fields written by Writer
// and read back by Reader with a sticky failure, and the CRC32C tables. Not part of the engine's
// API.
//
// Thread-safety: Writer and Reader are single-use values; the tables are
// constants.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace streamrec::engine::snapshot_internal {

// CRC32C, slicing-by-8: table k advances a byte k positions further, so one
// step folds eight input bytes (GB/s; snapshots can be hundreds of MB).
using CrcTables = std::array<std::array<uint32_t, 256>, 8>;
constexpr CrcTables MakeCrcTables() {
  CrcTables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int b = 0; b < 8; ++b) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
  return t;
}
constexpr CrcTables kCrc = MakeCrcTables();

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Appends fixed-width fields (floats as their bit patterns) to a string.
// A snapshot is made in two passes over the state (SnapshotCodec::Encode),
// so that no byte is patched once written and the bytes can leave a piece
// at a time: a counting Writer stores nothing and notes each section's
// length; a writing one, given those lengths, puts each ahead of its
// section. A writing Writer with a piece size hands its string to `spill`
// whenever it holds exactly that many bytes (spill empties it), so it
// never holds more than one piece.
class Writer {
 public:
  // The string's piece once full; it leaves *piece empty.
  using Spill = std::function<void(std::string* piece)>;

  // Counting: stores no byte; AddSection appends each section's length to
  // *lengths, in order.
  explicit Writer(std::vector<uint64_t>* lengths) : lengths_(lengths) {}
  // Appending to *out, with no sections.
  explicit Writer(std::string* out) : out_(out) {}
  // Appending to *out, AddSection taking its lengths from `lengths` (a
  // counting pass's, over the same state); `spill`, where given, takes
  // every `piece_bytes` (> 0) bytes.
  Writer(std::string* out, const std::vector<uint64_t>* lengths, size_t piece_bytes = SIZE_MAX,
         Spill spill = {})
      : out_(out), given_(lengths), piece_(piece_bytes), spill_(std::move(spill)) {}

  void U8(uint8_t v) { Bulk(&v, 1); }
  void U32(uint32_t v) { Bulk(&v, 1); }
  void U64(uint64_t v) { Bulk(&v, 1); }
  void F32(float v) { Bulk(&v, 1); }
  template <typename T>
  void Bulk(const T* p, size_t n) {
    const size_t bytes = n * sizeof(T);
    written_ += bytes;
    if (out_ != nullptr && bytes > 0) Append(reinterpret_cast<const char*>(p), bytes);
  }
  // Tag, length, then what `write` appends.
  template <typename F>
  void AddSection(uint32_t tag, F&& write) {
    U32(tag);
    if (out_ == nullptr) {
      U64(0);
      const uint64_t at = written_;
      write();
      lengths_->push_back(written_ - at);
      return;
    }
    // A Writer without lengths has no sections: mismatched().
    const uint64_t len = given_ != nullptr && next_ < given_->size() ? (*given_)[next_] : 0;
    ++next_;
    U64(len);
    const uint64_t at = written_;
    write();
    if (written_ - at != len) mismatched_ = true;
  }

  // Every byte given so far, stored or counted.
  uint64_t written() const { return written_; }
  // Whether a section (or the number of them) came out other than the
  // counting pass said: the state changed between the passes, or a
  // section's writer is not deterministic. The bytes are then no snapshot.
  bool mismatched() const {
    return mismatched_ || (given_ != nullptr ? next_ != given_->size() : next_ > 0);
  }

 private:
  void Append(const char* p, size_t n) {
    if (!spill_) {
      out_->append(p, n);
      return;
    }
    while (n > 0) {
      const size_t take = std::min(n, piece_ - out_->size());
      out_->append(p, take);
      p += take;
      n -= take;
      if (out_->size() == piece_ && spill_) spill_(out_);
    }
  }

  std::string* out_ = nullptr;
  std::vector<uint64_t>* lengths_ = nullptr;      // counting
  const std::vector<uint64_t>* given_ = nullptr;  // writing
  size_t next_ = 0;
  size_t piece_ = SIZE_MAX;
  Spill spill_;
  uint64_t written_ = 0;
  bool mismatched_ = false;
};

// Where a Reader's bytes come from when they are not one string: a
// snapshot's pieces as they arrive (snapshot.cc's PieceReader).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // The next bytes, at least 1 and at most `max` (> 0), consumed: a view
  // valid until the next call. False where the source has failed or ended
  // (the caller learns why from the source).
  virtual bool Next(size_t max, std::string_view* out) = 0;
};

// Reads fixed-width fields with a sticky failure: past the end every read
// returns zero/empty and ok() turns false, so a decoder checks once per
// section rather than after every field.
//
// Over a ByteSource it reads `n` bytes a piece at a time, never holding
// them whole: a field or Bytes() that straddles two pieces is gathered
// into a small buffer, Bulk() copies straight from the pieces. (A
// section's bytes gathered whole had been the restart's largest transient:
// the model section is (users + items) x rank x 4 bytes, ~1.4 GB at 5M
// users x 1M items.) The answers are those of the whole bytes', provided
// the source's failure, which reads as an early end here, is checked
// first.
class Reader {
 public:
  explicit Reader(std::string_view b) : p_(b) {}
  Reader(ByteSource* source, uint64_t n) : source_(source), unpulled_(n) {}

  bool ok() const { return ok_; }
  uint64_t remaining() const { return p_.size() + unpulled_; }

  uint8_t U8() { return Get<uint8_t>(); }
  uint32_t U32() { return Get<uint32_t>(); }
  uint64_t U64() { return Get<uint64_t>(); }
  float F32() { return Get<float>(); }
  // Valid until the next read.
  std::string_view Bytes(size_t n) { return Need(n) ? std::string_view(Take(n), n) : ""; }
  // A u32 count of elements of at least `min_bytes` each. A count the bytes
  // left cannot hold fails and reads as 0, so a corrupt count never sizes
  // an allocation.
  uint32_t Count(size_t min_bytes) {
    const uint32_t n = U32();
    if (ok_ && uint64_t{n} * min_bytes > remaining()) Fail();
    return ok_ ? n : 0;
  }
  template <typename T>
  std::vector<T> Bulk(size_t n) {
    std::vector<T> v;
    if (n > remaining() / sizeof(T)) {
      Fail();
    } else if (n > 0) {
      v.resize(n);
      if (!CopyOut(reinterpret_cast<char*>(v.data()), n * sizeof(T))) v.clear();
    }
    return v;
  }

 private:
  template <typename T>
  T Get() {
    return Need(sizeof(T)) ? Load<T>(Take(sizeof(T))) : T{};
  }
  // Makes the next n bytes one view in p_.
  bool Need(uint64_t n) {
    if (n <= p_.size()) return ok_;
    if (n > remaining()) {
      Fail();
      return false;
    }
    // From here a source is behind the reader, with the bytes.
    if (p_.empty() && !Pull(unpulled_)) return false;
    if (n <= p_.size()) return true;
    std::string gathered(p_);
    while (gathered.size() < n) {
      std::string_view more;
      if (!Pull(static_cast<size_t>(n - gathered.size()), &more)) return false;
      gathered.append(more);
    }
    gathered_.swap(gathered);
    p_ = gathered_;
    return true;
  }
  // The next at most `max` unpulled bytes into *out (p_ when not given).
  bool Pull(uint64_t max, std::string_view* out = nullptr) {
    std::string_view got;
    if (!source_->Next(static_cast<size_t>(std::min<uint64_t>(max, SIZE_MAX)), &got) ||
        got.empty() || got.size() > max) {
      Fail();
      return false;
    }
    unpulled_ -= got.size();
    *(out != nullptr ? out : &p_) = got;
    return true;
  }
  bool CopyOut(char* to, size_t n) {
    const size_t here = std::min(n, p_.size());
    if (here > 0) std::memcpy(to, Take(here), here);
    for (size_t done = here; done < n;) {
      std::string_view more;
      if (!Pull(n - done, &more)) return false;
      std::memcpy(to + done, more.data(), more.size());
      done += more.size();
    }
    return true;
  }
  void Fail() {
    ok_ = false;
    p_ = {};
    unpulled_ = 0;
  }
  const char* Take(size_t n) {
    const char* p = p_.data();
    p_.remove_prefix(n);
    return p;
  }

  std::string_view p_;  // the bytes in hand
  ByteSource* source_ = nullptr;
  uint64_t unpulled_ = 0;  // the source's bytes not yet in p_
  std::string gathered_;   // what p_ views after a read straddled pieces
  bool ok_ = true;
};

}  // namespace streamrec::engine::snapshot_internal
