// The snapshot sections (engine/live/snapshot.h has the format): one writer
// and one checking reader per section, the reader of the whole section
// sequence and the envelope check. SnapshotCodec (snapshot.cc) puts them
// together and installs what they decoded.
#include "engine/live/snapshot_sections.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <array>
#include <bit>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace streamrec::engine::snapshot_internal {

using HistoryEntry = OnlineLearner::HistoryEntry;
using Cell = ImplicitOnlineUpdater::Cell;

// The format is little-endian; fields and arrays (history entries included)
// are copied as they lie in memory.
static_assert(std::endian::native == std::endian::little, "snapshot codec needs little-endian");
static_assert(sizeof(HistoryEntry) == 12 && std::is_trivially_copyable_v<HistoryEntry>);
static_assert(sizeof(Cell) == 8 && std::is_trivially_copyable_v<Cell>);

namespace {
constexpr const char* kSectionNames[] = {"",         "config",   "users",      "items",
                                         "model",    "learner",  "popularity", "seen",
                                         "counters", "implicit", "ivf",        "ivf_next"};
}  // namespace

Status Corrupt(Section s, std::string_view why) {
  return Status::Corruption(fmt::format("snapshot {} section: {}", kSectionNames[s], why));
}

void WriteConfig(Writer& w, const MFModel& model, const LearnerOptions& learner,
                 Objective objective) {
  w.U32(static_cast<uint32_t>(model.rank()));
  w.U64(model.options().seed);
  w.F32(model.options().init_stddev);
  w.U32(learner.fold_in_max_events);
  w.U8(static_cast<uint8_t>(objective));
  w.U32(model.options().init_full_scale_users);
  w.U32(model.options().init_full_scale_items);
}

// Stored state only means the same thing under the same options, so a
// mismatch is the caller's configuration, not damage: FailedPrecondition.
static Status ReadConfig(Reader& r, Decoded* d) {
  const auto rank = static_cast<int32_t>(r.U32());
  const uint64_t seed = r.U64();
  const uint32_t stddev_bits = r.U32();
  const uint32_t fold_in = r.U32();
  const uint8_t objective = d->version >= 2 ? r.U8() : 0;  // version 1: rating models only
  // Before version 6 every row started at init_stddev: ReadModel checks
  // that the snapshot's rows are ones the configured rule starts so too.
  const ModelOptions& m = d->options.model;
  const uint32_t full_scale_users = d->version >= 6 ? r.U32() : m.init_full_scale_users;
  const uint32_t full_scale_items = d->version >= 6 ? r.U32() : m.init_full_scale_items;
  if (!r.ok()) return Corrupt(kConfig, "truncated");
  if (objective > static_cast<uint8_t>(Objective::kBpr)) {
    return Corrupt(kConfig, fmt::format("unknown objective {}", objective));
  }
  d->objective = static_cast<Objective>(objective);
  std::vector<std::string> diffs;
  if (rank != m.rank) diffs.push_back(fmt::format("rank {} (configured {})", rank, m.rank));
  if (seed != m.seed) diffs.push_back(fmt::format("seed {} (configured {})", seed, m.seed));
  if (stddev_bits != std::bit_cast<uint32_t>(m.init_stddev)) {
    diffs.push_back(fmt::format("init_stddev {} (configured {})", std::bit_cast<float>(stddev_bits),
                                m.init_stddev));
  }
  const uint32_t want_fold_in = d->options.learner.fold_in_max_events;
  if (fold_in != want_fold_in) {
    diffs.push_back(fmt::format("fold_in_max_events {} (configured {})", fold_in, want_fold_in));
  }
  if (full_scale_users != m.init_full_scale_users) {
    diffs.push_back(fmt::format("init_full_scale_users {} (configured {})", full_scale_users,
                                m.init_full_scale_users));
  }
  if (full_scale_items != m.init_full_scale_items) {
    diffs.push_back(fmt::format("init_full_scale_items {} (configured {})", full_scale_items,
                                m.init_full_scale_items));
  }
  if (d->objective != d->options.objective) {
    diffs.push_back(fmt::format("objective {} (configured {})", ObjectiveName(d->objective),
                                ObjectiveName(d->options.objective)));
  }
  if (diffs.empty()) return Status::OK();
  return Status::FailedPrecondition(
      fmt::format("snapshot was written with {}", fmt::join(diffs, ", ")));
}

Status CheckConfig(const MFModel& model, const LearnerOptions& learner, Objective objective,
                   const RecommenderOptions& configured) {
  std::string bytes;
  Writer w(&bytes);
  WriteConfig(w, model, learner, objective);
  Reader r(bytes);
  Decoded d(configured, kSnapshotVersion);
  return ReadConfig(r, &d);
}

void WriteIdMap(Writer& w, const IdMap& ids) {
  w.U32(ids.size());
  for (uint32_t i = 0; i < ids.size(); ++i) {
    const std::string_view name = ids.Name(i);
    w.U32(static_cast<uint32_t>(name.size()));
    w.Bulk(name.data(), name.size());
  }
}

static Status ReadIdMap(Section s, Reader& r, IdMap* out) {
  const uint32_t n = r.Count(4);
  std::vector<std::string> names;
  names.reserve(n);
  for (uint32_t i = 0; i < n && r.ok(); ++i) names.emplace_back(r.Bytes(r.U32()));
  if (!r.ok()) return Corrupt(s, "truncated or a count exceeds the data");
  StatusOr<IdMap> m = IdMap::FromNames(names);
  if (!m.ok()) return Corrupt(s, m.status().message());
  *out = std::move(m).value();
  return Status::OK();
}

void WriteModel(Writer& w, const MFModel& m) {
  const size_t k = static_cast<size_t>(m.rank());
  w.F32(m.global_mean());
  w.U32(m.num_users());
  w.U32(m.num_items());
  m.ForEachUserBlock(
      [&](uint32_t, uint32_t count, const float* rows) { w.Bulk(rows, size_t{count} * k); });
  m.ForEachItemBlock(
      [&](uint32_t, uint32_t count, const float* rows) { w.Bulk(rows, size_t{count} * k); });
  w.Bulk(m.user_biases(), m.num_users());
  w.Bulk(m.item_biases(), m.num_items());
}

static Status ReadModel(Reader& r, Decoded* d) {
  const size_t k = static_cast<size_t>(d->options.model.rank);
  const float mean = r.F32();
  const uint32_t nu = r.U32(), ni = r.U32();
  if (r.ok() && (nu != d->users.size() || ni != d->items.size())) {
    return Corrupt(kModel, fmt::format("{} x {} rows for {} users and {} items", nu, ni,
                                       d->users.size(), d->items.size()));
  }
  // A snapshot from before version 6: its rows all started at init_stddev,
  // as the configured rule starts the first init_full_scale_* of each side.
  const auto past = [](uint32_t rows, uint32_t full) { return full != 0 && rows > full; };
  const ModelOptions& m = d->options.model;
  if (r.ok() && d->version < 6 &&
      (past(nu, m.init_full_scale_users) || past(ni, m.init_full_scale_items))) {
    return Status::FailedPrecondition(fmt::format(
        "snapshot (format version {}) was written when every row started at init_stddev, and "
        "holds {} users and {} items, past the init_full_scale_users {} or "
        "init_full_scale_items {} that start so now",
        d->version, nu, ni, m.init_full_scale_users, m.init_full_scale_items));
  }
  // Row counts now equal id counts already read, so these sizes are bounded
  // by the snapshot's length; Bulk checks them against the bytes left too.
  std::vector<float> uf = r.Bulk<float>(nu * k);
  std::vector<float> itf = r.Bulk<float>(ni * k);
  std::vector<float> ub = r.Bulk<float>(nu);
  std::vector<float> ib = r.Bulk<float>(ni);
  if (!r.ok()) return Corrupt(kModel, "truncated");
  Status st = d->model.SetRows(mean, std::move(uf), std::move(itf), std::move(ub), std::move(ib));
  return st.ok() ? st : Corrupt(kModel, st.message());
}

void WriteLearner(Writer& w, const OnlineLearner& l) {
  w.U64(l.mean_count());
  const auto& counts = l.user_event_counts();
  const auto& histories = l.young_histories();
  w.U32(static_cast<uint32_t>(counts.size()));
  for (size_t u = 0; u < counts.size(); ++u) {
    w.U32(counts[u]);
    w.U32(static_cast<uint32_t>(histories[u].size()));
    w.Bulk(histories[u].data(), histories[u].size());
  }
}

static Status ReadLearner(Reader& r, Decoded* d) {
  d->mean_count = r.U64();
  const uint32_t n = r.Count(8);
  if (n > d->users.size()) {
    return Corrupt(kLearner, fmt::format("{} users of {}", n, d->users.size()));
  }
  d->user_events.reserve(n);
  d->histories.reserve(n);
  for (uint32_t u = 0; u < n && r.ok(); ++u) {
    d->user_events.push_back(r.U32());
    d->histories.push_back(r.Bulk<HistoryEntry>(r.U32()));
    for (const HistoryEntry& e : d->histories.back()) {
      if (e.item >= d->items.size()) return Corrupt(kLearner, "history names an unknown item");
    }
  }
  if (!r.ok()) return Corrupt(kLearner, "truncated or a count exceeds the data");
  // The rating learner runs under the rating objective only.
  if (d->objective != Objective::kRating && (d->mean_count != 0 || n != 0)) {
    return Corrupt(kLearner, "rating-learner state in a ranking model");
  }
  return Status::OK();
}

void WritePopularity(Writer& w, const Popularity& p) {
  w.U8(p.has_anchor() ? 1 : 0);
  w.U64(static_cast<uint64_t>(p.anchor_ms()));
  w.U64(static_cast<uint64_t>(p.newest_ts_ms()));
  w.U32(p.num_items());
  w.Bulk(p.raw_scores().data(), p.raw_scores().size());
}

static Status ReadPopularity(Reader& r, Decoded* d) {
  const uint8_t anchor = r.U8();
  d->has_anchor = anchor == 1;
  d->anchor_ms = static_cast<int64_t>(r.U64());
  d->newest_ts_ms = static_cast<int64_t>(r.U64());
  const uint32_t n = r.Count(8);
  d->scores = r.Bulk<double>(n);
  if (!r.ok()) return Corrupt(kPopularity, "truncated or a count exceeds the data");
  if (anchor > 1) return Corrupt(kPopularity, fmt::format("has_anchor is {}", anchor));
  if (n > d->items.size()) {
    return Corrupt(kPopularity, fmt::format("{} scores for {} items", n, d->items.size()));
  }
  // Only Add() sets the anchor, and it also adds a score.
  if (!d->has_anchor && (d->anchor_ms != 0 || d->newest_ts_ms != 0 || n != 0)) {
    return Corrupt(kPopularity, "state without an anchor");
  }
  return Status::OK();
}

void WriteSeen(Writer& w, const SeenLists& seen) {
  w.U32(seen.users());
  for (uint32_t u = 0; u < seen.users(); ++u) {
    const std::span<const uint32_t> items = seen.Get(u);
    w.U32(static_cast<uint32_t>(items.size()));
    w.Bulk(items.data(), items.size());
  }
}

static Status ReadSeen(Reader& r, Decoded* d) {
  const uint32_t n = r.Count(4);
  if (n > d->users.size()) return Corrupt(kSeen, fmt::format("{} users of {}", n, d->users.size()));
  d->seen.resize(n);
  for (uint32_t u = 0; u < n && r.ok(); ++u) {
    const auto& items = d->seen[u] = r.Bulk<uint32_t>(r.U32());
    for (size_t j = 0; j < items.size(); ++j) {
      // Queries merge these lists assuming sorted, distinct, known items.
      if (items[j] >= d->items.size() || (j > 0 && items[j] <= items[j - 1])) {
        return Corrupt(kSeen, fmt::format("user {}: items not ascending or unknown", u));
      }
    }
  }
  return r.ok() ? Status::OK() : Corrupt(kSeen, "truncated or a count exceeds the data");
}

// Empty for a rating model; else the updater's State (see the header).
void WriteImplicit(Writer& w, const ImplicitOnlineUpdater* up) {
  if (up == nullptr) return;
  w.U32(up->users_tracked());
  w.U32(up->items_tracked());
  w.U64(up->row_updates());
  w.Bulk(up->user_gramian().data(), up->user_gramian().size());
  w.Bulk(up->item_gramian().data(), up->item_gramian().size());
  w.U32(static_cast<uint32_t>(up->user_rows()));
  // A row's words gathered first and appended at once: millions of 4-byte
  // appends were most of this section's time.
  std::vector<uint32_t> words;
  // A user cell's strength is in its item's list (StrengthOf), a random
  // read each: the cells of the user kStrengthsAhead rows on are hinted
  // while this one's are gathered. Whole encodes at 500k users x 5M cells,
  // with a CI run sharing the cores: 0.37-0.55 s when the user's list held
  // the strengths, 0.62-1.4 s reading them unhinted, 0.50-0.67 s hinted 8
  // rows ahead (3 and 32 did no better).
  constexpr uint32_t kStrengthsAhead = 8;
  const auto users = static_cast<uint32_t>(up->user_rows());
  for (uint32_t u = 0; u < users; ++u) {
    if (u + kStrengthsAhead < users) {
      for (const ImplicitOnlineUpdater::UserCell& c : up->UserCells(u + kStrengthsAhead)) {
        __builtin_prefetch(up->ItemCells(c.id).data() + c.in_item);
      }
    }
    const std::span<const ImplicitOnlineUpdater::UserCell> cells = up->UserCells(u);
    words.clear();
    words.push_back(static_cast<uint32_t>(cells.size()));
    for (const ImplicitOnlineUpdater::UserCell& c : cells) {
      words.push_back(c.id);
      words.push_back(std::bit_cast<uint32_t>(up->StrengthOf(c)));
    }
    w.Bulk(words.data(), words.size());
  }
  w.U32(static_cast<uint32_t>(up->item_rows()));
  for (uint32_t i = 0; i < up->item_rows(); ++i) {
    const std::span<const Cell> cells = up->ItemCells(i);
    words.clear();
    words.push_back(static_cast<uint32_t>(cells.size()));
    for (const Cell& c : cells) words.push_back(c.id);
    w.Bulk(words.data(), words.size());
  }
}

// Structure only; ImplicitOnlineUpdater::Restore checks the cells.
static Status ReadImplicit(Reader& r, Decoded* d) {
  if (d->objective != Objective::kImplicit) return Status::OK();
  ImplicitOnlineUpdater::State& st = d->implicit;
  const auto k = static_cast<Eigen::Index>(d->options.model.rank);
  st.users_tracked = r.U32();
  st.items_tracked = r.U32();
  st.row_updates = r.U64();
  for (Eigen::MatrixXf* g : {&st.user_gramian, &st.item_gramian}) {
    std::vector<float> v = r.Bulk<float>(static_cast<size_t>(k * k));
    if (!r.ok()) return Corrupt(kImplicit, "truncated");
    *g = Eigen::Map<Eigen::MatrixXf>(v.data(), k, k);
  }
  const uint32_t nu = r.Count(4);
  if (nu > d->users.size()) {
    return Corrupt(kImplicit, fmt::format("{} users of {}", nu, d->users.size()));
  }
  st.user_cells.resize(nu);
  for (uint32_t u = 0; u < nu && r.ok(); ++u) st.user_cells[u] = r.Bulk<Cell>(r.U32());
  const uint32_t ni = r.Count(4);
  if (ni > d->items.size()) {
    return Corrupt(kImplicit, fmt::format("{} items of {}", ni, d->items.size()));
  }
  st.item_users.resize(ni);
  for (uint32_t i = 0; i < ni && r.ok(); ++i) st.item_users[i] = r.Bulk<uint32_t>(r.U32());
  return r.ok() ? Status::OK() : Corrupt(kImplicit, "truncated or a count exceeds the data");
}

// u32 lists; then, where lists > 0, the trained IVF index (see the header).
void WriteIvf(Writer& w, const IvfIndex& ivf) {
  // Centroids a k-means on huge rows overflowed are not kept (a reader
  // refuses them): the restore trains afresh, as without the section.
  if (ivf.lists() == 0 || !ivf.CentroidsFinite()) {
    w.U32(0);
    return;
  }
  w.U32(ivf.lists());
  const IvfOptions& o = ivf.trained_with();
  w.U32(ivf.trained_items());
  w.U32(o.lists);
  w.U32(static_cast<uint32_t>(o.kmeans_iterations));
  w.U32(o.kmeans_points_per_list);
  w.U64(o.seed);
  for (const bool cosine : {false, true}) {
    w.U32(ivf.measured_probe(cosine));
    w.F32(ivf.measured_recall(cosine));
  }
  w.Bulk(ivf.centroids().data(), ivf.centroids().size());
}

// The trained index WriteIvf wrote, into *out (untouched where lists is 0).
static Status ReadTrained(Section s, Reader& r, Decoded* d, IvfIndex* out) {
  const uint32_t lists = r.U32();
  if (!r.ok()) return Corrupt(s, "truncated");
  if (lists == 0) return Status::OK();
  const uint32_t trained_items = r.U32();
  IvfOptions o;
  o.lists = r.U32();
  const uint32_t iterations = r.U32();
  o.kmeans_points_per_list = r.U32();
  o.seed = r.U64();
  std::array<uint32_t, 2> probe{0, 0};  // [cosine]
  std::array<float, 2> recall{-1.0f, -1.0f};
  if (d->version >= 5) {
    for (const int cosine : {0, 1}) {
      probe[cosine] = r.U32();
      recall[cosine] = r.F32();
    }
  }
  if (!r.ok()) return Corrupt(s, "truncated");
  // The bounds RecommenderOptions accepts, and the cells Build picks.
  if (iterations < 1 || iterations > 100 || o.kmeans_points_per_list < 1 || o.lists > (1u << 20)) {
    return Corrupt(s, "k-means options out of range");
  }
  o.kmeans_iterations = static_cast<int>(iterations);
  if (trained_items > d->items.size() || lists != IvfIndex::ListsFor(trained_items, o)) {
    return Corrupt(s, fmt::format("{} cells trained on {} of {} items", lists, trained_items,
                                  d->items.size()));
  }
  for (const int cosine : {0, 1}) {
    // Canonical: none measured is exactly (0, -1).
    const uint32_t p = probe[cosine];
    const float q = recall[cosine];
    const bool none = p == 0 && std::bit_cast<uint32_t>(q) == std::bit_cast<uint32_t>(-1.0f);
    if (!none && (p == 0 || p > lists || !(q >= 0.0f && q <= 1.0f))) {
      return Corrupt(s, fmt::format("measured {} probe {} of {} cells at recall {}",
                                    cosine ? "cosine" : "inner-product", p, lists, q));
    }
  }
  const size_t floats = size_t{lists} * static_cast<size_t>(d->options.model.rank);
  if (floats * sizeof(float) > r.remaining()) return Corrupt(s, "truncated");
  StatusOr<IvfIndex> ivf =
      IvfIndex::FromCentroids(d->options.model.rank, trained_items, o, r.Bulk<float>(floats));
  if (!ivf.ok()) return Corrupt(s, ivf.status().message());
  *out = std::move(*ivf);
  for (const int cosine : {0, 1}) out->SetMeasured(cosine != 0, probe[cosine], recall[cosine]);
  return r.ok() ? Status::OK() : Corrupt(s, "truncated");
}

static Status ReadIvf(Reader& r, Decoded* d) { return ReadTrained(kIvf, r, d, &d->ivf); }

void WriteIvfNext(Writer& w, const IvfTraining* next) {
  // Centroids that overflowed are not kept, as in WriteIvf: the restored
  // copy keeps its index where the writer installs those.
  if (next == nullptr || next->Trained().lists() == 0 || !next->Trained().CentroidsFinite()) {
    w.U8(0);
    return;
  }
  w.U8(1);
  w.U64(next->install_at());
  WriteIvf(w, next->Trained());
}

static Status ReadIvfNext(Reader& r, Decoded* d) {
  const uint8_t pending = r.U8();
  if (!r.ok()) return Corrupt(kIvfNext, "truncated");
  if (pending == 0) return Status::OK();
  if (pending != 1) return Corrupt(kIvfNext, fmt::format("flag {}", pending));
  d->ivf_next_at = r.U64();
  if (!r.ok()) return Corrupt(kIvfNext, "truncated");
  // Installed after a later event: this one's ordinal at the earliest.
  if (d->ivf_next_at < d->events_applied) {
    return Corrupt(kIvfNext, fmt::format("installed after event {}, before the {} applied",
                                         d->ivf_next_at, d->events_applied));
  }
  STREAMREC_RETURN_IF_ERROR(ReadTrained(kIvfNext, r, d, &d->ivf_next));
  // Canonical: a retraining whose centroids are not kept is written as
  // none (WriteIvf's lists 0 after the flag is not).
  if (d->ivf_next.lists() == 0) return Corrupt(kIvfNext, "a retraining without centroids");
  return Status::OK();
}

using SectionReader = Status (*)(Reader&, Decoded*);
constexpr SectionReader kReaders[] = {
    nullptr,
    ReadConfig,
    [](Reader& r, Decoded* d) { return ReadIdMap(kUsers, r, &d->users); },
    [](Reader& r, Decoded* d) { return ReadIdMap(kItems, r, &d->items); },
    ReadModel,
    ReadLearner,
    ReadPopularity,
    ReadSeen,
    [](Reader& r, Decoded* d) {
      d->events_applied = r.U64();
      return r.ok() ? Status::OK() : Corrupt(kCounters, "truncated");
    },
    ReadImplicit,
    ReadIvf,
    ReadIvfNext,
};

Status ReadSection(Section s, Reader& section, Decoded* d) {
  STREAMREC_RETURN_IF_ERROR(kReaders[s](section, d));
  if (section.remaining() != 0) {
    return Corrupt(s, fmt::format("{} bytes left over", section.remaining()));
  }
  return Status::OK();
}

Status NotASnapshot() {
  return Status::Corruption("not a streamrec snapshot (bad magic or too short)");
}

Status ChecksumMismatch(uint32_t stored, uint32_t computed) {
  return Status::Corruption(
      fmt::format("snapshot checksum mismatch (stored {:08x}, computed {:08x})", stored, computed));
}

Status CheckVersion(uint32_t version) {
  if (version > kSnapshotVersion) {
    return Status::Unimplemented(fmt::format(
        "snapshot format version {}; this build reads up to {}", version, kSnapshotVersion));
  }
  if (version < 1) return Status::Corruption(fmt::format("snapshot format version {}", version));
  return Status::OK();
}

// Magic, then checksum, then version: see the header for why in this order.
Status CheckEnvelope(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes + kTrailerBytes ||
      std::memcmp(bytes.data(), kSnapshotMagic, sizeof(kSnapshotMagic)) != 0) {
    return NotASnapshot();
  }
  const std::string_view sealed = bytes.substr(0, bytes.size() - kTrailerBytes);
  const auto stored = Load<uint32_t>(bytes.data() + sealed.size());
  const uint32_t actual = Crc32c(sealed);
  if (stored != actual) return ChecksumMismatch(stored, actual);
  return CheckVersion(Load<uint32_t>(bytes.data() + sizeof(kSnapshotMagic)));
}

}  // namespace streamrec::engine::snapshot_internal
