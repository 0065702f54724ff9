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
  STREAMREC_RETURN_IF_ERROR(sections::CheckEnvelope(bytes));
  const auto version = Load<uint32_t>(bytes.data() + sizeof(kSnapshotMagic));
  sections::Decoded d(rec->options_, version);
  STREAMREC_RETURN_IF_ERROR(sections::ReadSections(
      bytes.substr(sections::kHeaderBytes,
                   bytes.size() - sections::kHeaderBytes - sections::kTrailerBytes),
      &d));
  // Everything is in `d` now: the bytes are not read again.
  if (owner != nullptr) std::string().swap(*owner);
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
  to->model_ = from.model_.Clone();  // user pages shared; same object for the learner
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

Status DecodeSnapshot(std::string&& bytes, size_t offset, Recommender* rec) {
  std::string owned = std::move(bytes);
  const std::string_view view = std::string_view(owned).substr(std::min(offset, owned.size()));
  return SnapshotCodec::Decode(view, rec, &owned);
}

Status CopySnapshotState(const Recommender& from, Recommender* to) {
  return SnapshotCodec::Copy(from, to);
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
