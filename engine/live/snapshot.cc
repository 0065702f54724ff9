#include "engine/live/snapshot.h"

#if defined(__SSE4_2__)
#include <nmmintrin.h>
#endif
#if defined(__linux__)
#include <sys/mman.h>
#endif
#include <algorithm>
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
  static std::string Encode(const Recommender& rec, std::string_view prefix);
  // `owner` (optional): the string holding `bytes`, freed once read.
  static Status Decode(std::string_view bytes, Recommender* rec, std::string* owner);
  static Status Copy(const Recommender& from, Recommender* to);
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

}  // namespace

std::string SnapshotCodec::Encode(const Recommender& rec, std::string_view prefix) {
  const MFModel& m = rec.model_;
  // Reserve it all up front (a bound, counted from the parts): a big model
  // is hundreds of MB, and growing by doubling would copy it and fault in
  // a new buffer each time (at 500k users that was a second). Reserved
  // bytes never written cost no memory.
  const size_t rows = size_t{m.num_users()} + m.num_items();
  size_t bound = 4096 + rec.ivf_.centroids().size() * sizeof(float) +
                 (rec.ivf_next_ ? rec.ivf_next_->Trained().centroids().size() * sizeof(float) : 0) +
                 rows * (static_cast<size_t>(m.rank()) + 1) * sizeof(float) +
                 rec.popularity_.raw_scores().size() * sizeof(double) + rows * 16;
  for (const IdMap* ids : {&rec.users_, &rec.items_}) {
    for (uint32_t i = 0; i < ids->size(); ++i) bound += 4 + ids->Name(i).size();
  }
  for (uint32_t u = 0; u < rec.seen_.users(); ++u) bound += 4 + 4 * rec.seen_.Get(u).size();
  const auto& histories = rec.learner_.young_histories();
  for (const auto& h : histories) bound += 8 + sizeof(h[0]) * h.size();
  bound += sections::ImplicitBytes(rec.implicit_.get());
  std::string out;
  out.reserve(prefix.size() + bound);
  AdviseHugePages(out.data(), out.capacity());
  out.append(prefix);
  out.append(kSnapshotMagic, sizeof(kSnapshotMagic));
  sections::Writer w(&out);
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
  w.U32(Crc32c(std::string_view(out).substr(prefix.size())));
  return out;
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

std::string EncodeSnapshot(const Recommender& rec) { return SnapshotCodec::Encode(rec, {}); }

std::string EncodeSnapshot(const Recommender& rec, std::string_view prefix) {
  return SnapshotCodec::Encode(rec, prefix);
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

uint32_t Crc32c(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
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
