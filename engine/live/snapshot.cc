#include "engine/live/snapshot.h"

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "engine/live/snapshot_sections.h"

namespace streamrec::engine {

namespace sections = snapshot_internal;
using snapshot_internal::kCrc;
using snapshot_internal::Load;

// The friend of Recommender that reads and replaces its private state.
struct SnapshotCodec {
  static Status Encode(const Recommender& rec, std::string_view prefix, size_t piece_bytes,
                       SnapshotSink* sink);
  // `owner` (optional): the string holding `bytes`, freed once read.
  static Status Decode(std::string_view bytes, Recommender* rec, std::string* owner);
  static Status Decode(SnapshotSource* source, size_t offset, Recommender* rec);
  // The decoded state into rec: the steps that can still refuse first.
  static Status Install(sections::Decoded& d, Recommender* rec);
  static Status Copy(const Recommender& from, Recommender* to);
  // The version and the sections, as either pass of Encode writes them.
  static void WriteBody(sections::Writer& w, const Recommender& rec);
};

namespace {

// Asks the kernel to back [p, p + n) with 2 MB pages where it can
// (transparent huge pages, in "madvise" mode on most distributions): a
// snapshot buffer of hundreds of MB is otherwise faulted in 4 KB at a time.
// Advice only; ignored where unsupported.
void AdviseHugePages(char* p, size_t n) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  const uintptr_t from = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t to = (reinterpret_cast<uintptr_t>(p) + n) & ~(kHuge - 1);
  if (to > from) (void)madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
#else
  (void)p;
  (void)n;
#endif
}

// EncodeSnapshot's string: the single piece, taken whole.
class StringSink final : public SnapshotSink {
 public:
  Status Begin(uint64_t) override { return Status::OK(); }
  Status Piece(std::string&& piece) override {
    if (out.empty()) {
      out = std::move(piece);
    } else {
      out += piece;
    }
    return Status::OK();
  }

  std::string out;
};

// One piece: the whole bytes of DecodeSnapshot(string_view).
class WholeSource final : public SnapshotSource {
 public:
  explicit WholeSource(std::string_view bytes) : bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  StatusOr<std::optional<std::string_view>> Next() override {
    if (given_ || bytes_.empty()) return std::optional<std::string_view>();
    given_ = true;
    return std::optional<std::string_view>(bytes_);
  }

 private:
  std::string_view bytes_;
  bool given_ = false;
};

// Consumes a source's pieces in reads of any length, each a view into the
// current piece where it lies within it, else gathered into a buffer of
// its own, or as a ByteSource (what a section's Reader pulls); and sums
// what it consumes (CRC32C) while summing() is on.
class PieceReader final : public sections::ByteSource {
 public:
  explicit PieceReader(SnapshotSource* source) : source_(source) {}

  bool Next(size_t max, std::string_view* out) override {
    if (current_.empty() && !Fill().ok()) return false;
    *out = current_.substr(0, max);
    current_.remove_prefix(out->size());
    Consumed(*out);
    return true;
  }

  void set_summing(bool on) { summing_ = on; }
  uint32_t crc() const { return crc_; }
  uint64_t position() const { return position_; }

  // *out: the next n bytes (a header or trailer: a few bytes; sections are
  // read through a Reader over this ByteSource), valid until the next
  // read; Corruption where the source ends first.
  Status Read(uint64_t n, std::string_view* out) {
    if (current_.size() < n) {
      gathered_.clear();
      while (gathered_.size() < n) {
        if (current_.empty()) STREAMREC_RETURN_IF_ERROR(Fill());
        const size_t take =
            static_cast<size_t>(std::min<uint64_t>(n - gathered_.size(), current_.size()));
        gathered_.append(current_.data(), take);
        current_.remove_prefix(take);
      }
      *out = gathered_;
    } else {
      *out = current_.substr(0, static_cast<size_t>(n));
      current_.remove_prefix(static_cast<size_t>(n));
    }
    Consumed(*out);
    return Status::OK();
  }
  // Consumes n bytes without keeping them.
  Status Skip(uint64_t n) {
    while (n > 0) {
      if (current_.empty()) STREAMREC_RETURN_IF_ERROR(Fill());
      const size_t take = static_cast<size_t>(std::min<uint64_t>(n, current_.size()));
      Consumed(current_.substr(0, take));
      current_.remove_prefix(take);
      n -= take;
    }
    return Status::OK();
  }
  // Whether the source has nothing past what was read.
  StatusOr<bool> AtEnd() {
    if (!current_.empty()) return false;
    StatusOr<std::optional<std::string_view>> next = source_->Next();
    STREAMREC_RETURN_IF_ERROR(next.status());
    if (!*next) return true;
    current_ = **next;
    return current_.empty();
  }
  // The source's error, or its bytes ending early, if a read met either.
  const Status& source_status() const { return source_status_; }

 private:
  Status Fill() {
    StatusOr<std::optional<std::string_view>> next = source_->Next();
    if (!next.ok()) {
      source_status_ = next.status();
    } else if (!*next || (*next)->empty()) {
      source_status_ =
          Status::Corruption("not a streamrec snapshot: its bytes end before its size");
    } else {
      current_ = **next;
    }
    return source_status_;
  }
  void Consumed(std::string_view bytes) {
    if (summing_) crc_ = Crc32c(bytes, crc_);
    position_ += bytes.size();
  }

  SnapshotSource* source_;
  std::string_view current_;
  std::string gathered_;
  Status source_status_;
  uint64_t position_ = 0;
  uint32_t crc_ = 0;
  bool summing_ = false;
};

// The sections of a snapshot of `version`, in their fixed order, each
// consumed exactly and decoded from the pieces as they come (a Reader over
// `in`); the body ends at `end` (the reader's position where the trailer
// begins).
Status ReadBody(PieceReader& in, uint64_t end, sections::Decoded* d) {
  for (uint32_t tag = sections::kConfig; tag <= sections::LastSection(d->version); ++tag) {
    const auto s = static_cast<sections::Section>(tag);
    const uint64_t left = end - in.position();
    std::string_view head;
    STREAMREC_RETURN_IF_ERROR(in.Read(std::min<uint64_t>(left, 12), &head));
    const uint32_t got = head.size() >= 4 ? Load<uint32_t>(head.data()) : 0;
    const uint64_t len = head.size() == 12 ? Load<uint64_t>(head.data() + 4) : 0;
    if (head.size() < 12 || got != tag || len > end - in.position()) {
      return sections::Corrupt(s, fmt::format("missing or malformed header (tag {})", got));
    }
    // Read from the pieces as it goes: the source's failure, which the
    // section sees as its bytes ending, is the caller's answer.
    sections::Reader section(&in, len);
    STREAMREC_RETURN_IF_ERROR(sections::ReadSection(s, section, d));
  }
  if (in.position() != end) {
    return Status::Corruption(
        fmt::format("snapshot: {} bytes after the last section", end - in.position()));
  }
  return Status::OK();
}

}  // namespace

void SnapshotCodec::WriteBody(sections::Writer& w, const Recommender& rec) {
  const MFModel& m = rec.model_;
  w.U32(kSnapshotVersion);
  w.AddSection(sections::kConfig, [&] {
    sections::WriteConfig(w, m, rec.learner_.options(), rec.options_.objective);
  });
  w.AddSection(sections::kUsers, [&] { sections::WriteIdMap(w, rec.users_); });
  w.AddSection(sections::kItems, [&] { sections::WriteIdMap(w, rec.items_); });
  w.AddSection(sections::kModel, [&] { sections::WriteModel(w, m); });
  w.AddSection(sections::kLearner, [&] { sections::WriteLearner(w, rec.learner_); });
  w.AddSection(sections::kPopularity, [&] { sections::WritePopularity(w, rec.popularity_); });
  w.AddSection(sections::kSeen, [&] { sections::WriteSeen(w, rec.seen_); });
  w.AddSection(sections::kCounters, [&] { w.U64(rec.events_applied_); });
  w.AddSection(sections::kImplicit, [&] { sections::WriteImplicit(w, rec.implicit_.get()); });
  w.AddSection(sections::kIvf, [&] { sections::WriteIvf(w, rec.ivf_); });
  w.AddSection(sections::kIvfNext, [&] { sections::WriteIvfNext(w, rec.ivf_next_.get()); });
}

Status SnapshotCodec::Encode(const Recommender& rec, std::string_view prefix, size_t piece_bytes,
                             SnapshotSink* sink) {
  if (piece_bytes <= prefix.size()) {
    return Status::InvalidArgument(fmt::format(
        "snapshot pieces of {} bytes cannot hold the {}-byte prefix", piece_bytes, prefix.size()));
  }
  // Pass one: the sections' lengths, and so the size. Far cheaper than the
  // second (nothing is copied), and it lets every length go ahead of its
  // section: nothing written is patched later, so no piece is held back.
  std::vector<uint64_t> lengths;
  sections::Writer counter(&lengths);
  WriteBody(counter, rec);
  const uint64_t total =
      prefix.size() + sizeof(kSnapshotMagic) + counter.written() + sections::kTrailerBytes;
  STREAMREC_RETURN_IF_ERROR(sink->Begin(total));

  // Pass two. The checksum covers what follows the prefix, and is taken a
  // piece at a time as each leaves; the trailer's own bytes are outside it.
  std::string piece;
  const size_t first = static_cast<size_t>(std::min<uint64_t>(piece_bytes, total));
  piece.reserve(first);
  if (first >= (size_t{64} << 20)) AdviseHugePages(piece.data(), piece.capacity());
  uint32_t crc = 0;
  size_t unsummed_from = prefix.size();  // in the piece being filled
  bool summing = true;
  Status sink_status;
  auto spill = [&](std::string* full) {
    if (summing) crc = Crc32c(std::string_view(*full).substr(unsummed_from), crc);
    unsummed_from = 0;
    if (sink_status.ok()) sink_status = sink->Piece(std::move(*full));
    full->clear();
    if (sink_status.ok()) full->reserve(piece_bytes);
  };
  sections::Writer w(&piece, &lengths, piece_bytes, spill);
  w.Bulk(prefix.data(), prefix.size());
  w.Bulk(kSnapshotMagic, sizeof(kSnapshotMagic));
  WriteBody(w, rec);
  crc = Crc32c(std::string_view(piece).substr(unsummed_from), crc);
  summing = false;
  w.U32(crc);
  if (!piece.empty() && sink_status.ok()) sink_status = sink->Piece(std::move(piece));
  if (w.mismatched() || w.written() != total) {
    return Status::Internal(
        "encoding a snapshot: the state changed between its two passes (a section came out "
        "another length than counted)");
  }
  return sink_status;
}

Status SnapshotCodec::Decode(std::string_view bytes, Recommender* rec, std::string* owner) {
  // Whole bytes: the checksum first, which refuses a damaged snapshot
  // without reading its sections.
  STREAMREC_RETURN_IF_ERROR(sections::CheckEnvelope(bytes));
  const auto version = Load<uint32_t>(bytes.data() + sizeof(kSnapshotMagic));
  sections::Decoded d(rec->options_, version);
  WholeSource source(bytes);
  PieceReader in(&source);
  STREAMREC_RETURN_IF_ERROR(in.Skip(sections::kHeaderBytes));
  STREAMREC_RETURN_IF_ERROR(ReadBody(in, bytes.size() - sections::kTrailerBytes, &d));
  // Everything is in `d` now: the bytes are not read again.
  if (owner != nullptr) std::string().swap(*owner);
  return Install(d, rec);
}

Status SnapshotCodec::Decode(SnapshotSource* source, size_t offset, Recommender* rec) {
  const uint64_t size = source->size();
  if (size < offset + sections::kHeaderBytes + sections::kTrailerBytes) {
    return sections::NotASnapshot();
  }
  PieceReader in(source);
  STREAMREC_RETURN_IF_ERROR(in.Skip(offset));
  in.set_summing(true);
  std::string_view header;
  STREAMREC_RETURN_IF_ERROR(in.Read(sections::kHeaderBytes, &header));
  if (std::memcmp(header.data(), kSnapshotMagic, sizeof(kSnapshotMagic)) != 0) {
    return sections::NotASnapshot();
  }
  const auto version = Load<uint32_t>(header.data() + sizeof(kSnapshotMagic));
  const uint64_t end = size - sections::kTrailerBytes;  // where the trailer begins
  // What the bytes say is only believed once the checksum, taken as they
  // go by, holds: until then an error is kept, and the rest read for the
  // sum alone. The answers are those of the whole-bytes decode.
  sections::Decoded d(rec->options_, version);
  Status found = sections::CheckVersion(version);
  if (found.ok()) {
    found = ReadBody(in, end, &d);
    // The source's own failure (a chunk missing or unreadable, its bytes
    // short of its size) is the answer: there is no sum to check.
    STREAMREC_RETURN_IF_ERROR(in.source_status());
  }
  STREAMREC_RETURN_IF_ERROR(in.Skip(end - in.position()));
  const uint32_t actual = in.crc();
  in.set_summing(false);
  std::string_view trailer;
  STREAMREC_RETURN_IF_ERROR(in.Read(sections::kTrailerBytes, &trailer));
  const auto stored = Load<uint32_t>(trailer.data());
  if (stored != actual) return sections::ChecksumMismatch(stored, actual);
  StatusOr<bool> at_end = in.AtEnd();
  STREAMREC_RETURN_IF_ERROR(at_end.status());
  if (!*at_end) {
    return Status::Corruption("not a streamrec snapshot: its bytes go on past its size");
  }
  STREAMREC_RETURN_IF_ERROR(found);
  return Install(d, rec);
}

Status SnapshotCodec::Install(sections::Decoded& d, Recommender* rec) {
  // The restores of the learner and the implicit updater are the steps that
  // can still refuse, and each changes nothing when it does. Only one of
  // them has state: under kImplicit the learner's is empty (ReadLearner),
  // so restoring it changes nothing either. Everything after them cannot
  // fail.
  Status st = rec->learner_.Restore(d.mean_count, std::move(d.user_events), std::move(d.histories));
  if (!st.ok()) return sections::Corrupt(sections::kLearner, st.message());
  if (rec->implicit_) {
    // An updater shared with another copy (Recommender::ShareUpdater) is
    // not this one's to overwrite: the restored state goes into its own.
    if (rec->implicit_.use_count() > 1) {
      auto own = std::make_shared<ImplicitOnlineUpdater>(rec->options_.implicit, rec->model_);
      st = own->Restore(std::move(d.implicit), d.model.num_users(), d.model.num_items());
      if (!st.ok()) return sections::Corrupt(sections::kImplicit, st.message());
      rec->implicit_ = std::move(own);
    } else {
      st = rec->implicit_->Restore(std::move(d.implicit), d.model.num_users(), d.model.num_items());
      if (!st.ok()) return sections::Corrupt(sections::kImplicit, st.message());
    }
  }
  rec->users_ = std::move(d.users);
  rec->items_ = std::move(d.items);
  rec->model_ = std::move(d.model);  // same object: the learner's pointer stays valid
  rec->RestoreIndex(std::move(d.ivf), std::move(d.ivf_next), d.ivf_next_at);
  rec->popularity_.Restore(d.anchor_ms, d.newest_ts_ms, std::move(d.scores), d.has_anchor);
  rec->seen_.Assign(std::move(d.seen));
  rec->events_applied_ = d.events_applied;
  rec->catalog_.Reindex(rec->items_);  // metadata is not snapshot state; indices are
  return Status::OK();
}

Status SnapshotCodec::Copy(const Recommender& from, Recommender* to) {
  // The checks DecodeSnapshot makes of a snapshot of `from`, first: they
  // and the learner's restore are all that can refuse.
  STREAMREC_RETURN_IF_ERROR(sections::CheckConfig(from.model_, from.learner_.options(),
                                                  from.options_.objective, to->options_));
  if (to->implicit_ != from.implicit_) {
    return Status::FailedPrecondition(
        "copying a recommender's state: the copy does not share its implicit updater");
  }
  // Under kImplicit the learner's state is empty (as ReadLearner finds it).
  STREAMREC_RETURN_IF_ERROR(to->learner_.Restore(from.learner_.mean_count(),
                                                 from.learner_.user_event_counts(),
                                                 from.learner_.young_histories()));
  to->users_.ShareAll(from.users_);  // equal ids, held once
  to->items_.ShareAll(from.items_);
  to->model_ = from.model_.Clone();  // pages shared; same object for the learner
  // The mirror and index describe these very item rows bit for bit: taken
  // as they are, not built again (a k-means).
  to->quantized_ = from.quantized_;
  to->ivf_ = from.ivf_;
  to->ivf_next_ = from.ivf_next_;  // the same retraining
  to->popularity_.Restore(from.popularity_.anchor_ms(), from.popularity_.newest_ts_ms(),
                          from.popularity_.raw_scores(), from.popularity_.has_anchor());
  to->seen_.ShareAll(from.seen_);  // equal lists, held once
  to->events_applied_ = from.events_applied_;
  to->catalog_.Reindex(to->items_);  // metadata is not snapshot state; indices are
  return Status::OK();
}

std::string EncodeSnapshot(const Recommender& rec) { return EncodeSnapshot(rec, {}); }

std::string EncodeSnapshot(const Recommender& rec, std::string_view prefix) {
  // One piece of the whole size: held once, reserved exactly.
  StringSink sink;
  const Status st = SnapshotCodec::Encode(rec, prefix, SIZE_MAX, &sink);
  assert(st.ok());  // a string sink never refuses, and rec holds still here
  (void)st;
  return std::move(sink.out);
}

Status EncodeSnapshot(const Recommender& rec, std::string_view prefix, size_t piece_bytes,
                      SnapshotSink* sink) {
  return SnapshotCodec::Encode(rec, prefix, piece_bytes, sink);
}

Status DecodeSnapshot(std::string_view bytes, Recommender* rec) {
  return SnapshotCodec::Decode(bytes, rec, nullptr);
}

Status DecodeSnapshot(SnapshotSource* source, size_t offset, Recommender* rec) {
  return SnapshotCodec::Decode(source, offset, rec);
}

Status DecodeSnapshot(std::string&& bytes, size_t offset, Recommender* rec) {
  std::string owned = std::move(bytes);
  const std::string_view view = std::string_view(owned).substr(std::min(offset, owned.size()));
  return SnapshotCodec::Decode(view, rec, &owned);
}

Status CopySnapshotState(const Recommender& from, Recommender* to) {
  return SnapshotCodec::Copy(from, to);
}

StatusOr<std::unique_ptr<Recommender>> MakeSecondCopy(Recommender* first) {
  first->CompactMemory();
  auto second = std::make_unique<Recommender>(first->options(), first->types());
  second->ShareUpdater(*first);
  STREAMREC_RETURN_IF_ERROR(CopySnapshotState(*first, second.get()));
  return second;
}

uint32_t Crc32c(std::string_view data, uint32_t crc) {
  uint32_t c = crc ^ 0xFFFFFFFFu;
  const char* p = data.data();
  size_t n = data.size();
#if defined(__SSE4_2__)
  // The CPU's CRC32 instruction computes this very CRC (Castagnoli): 8
  // bytes per instruction, ~5x the tables (a 300 MB snapshot is checked at
  // every encode and decode).
  uint64_t c64 = c;
  for (; n >= 8; p += 8, n -= 8) c64 = _mm_crc32_u64(c64, Load<uint64_t>(p));
  c = static_cast<uint32_t>(c64);
#endif
  for (; n >= 8; p += 8, n -= 8) {
    const uint64_t v = Load<uint64_t>(p) ^ c;
    c = kCrc[7][v & 0xff] ^ kCrc[6][(v >> 8) & 0xff] ^ kCrc[5][(v >> 16) & 0xff] ^
        kCrc[4][(v >> 24) & 0xff] ^ kCrc[3][(v >> 32) & 0xff] ^ kCrc[2][(v >> 40) & 0xff] ^
        kCrc[1][(v >> 48) & 0xff] ^ kCrc[0][v >> 56];
  }
  for (; n > 0; ++p, --n) c = kCrc[0][(c ^ static_cast<unsigned char>(*p)) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

}  // namespace streamrec::engine
