// Snapshots: a Recommender's complete state as a byte string and back, so
// that storage can persist a model and later resume it. The contract storage
// relies on: decode(encode(A)) then applying events E gives a state
// bit-identical to A after E, because everything Recommender::Apply reads or
// writes is here, floats as their exact bit patterns. Configuration (event
// types, learning rates, popularity half-life, id limits) is not state: the
// decoding Recommender supplies it and must match the encoder's for the
// contract to hold; only the options the stored state itself depends on are
// stored and checked.
//
// Format, version 6. Integers are little-endian; f32/f64 are IEEE-754 bit
// patterns written as u32/u64, so restore is bit-exact. (The codec copies
// fields as they lie in memory and so builds for little-endian hosts only.)
//
//   magic     8 bytes  "SRSNAP\0\0"
//   version   u32      6
//   sections  each: tag u32, length u64 (payload bytes), payload. Versions 4
//             to 6 have exactly the eleven below, in this order, each payload
//             consumed exactly (version 4's ivf sections lack the measured
//             probe; versions 4 and 5 lack config's init_full_scale_*).
//             Version 3 (still read) has the first ten, version 2 the
//             first nine; version 1 (rating models only) the first eight,
//             and no objective in its config.
//   checksum  u32      CRC32C (Castagnoli; init and final xor 0xFFFFFFFF)
//                      of every byte before it.
// Magic, version and the trailing CRC32C are the envelope of every version:
// the checksum is verified before the version is read, so any flipped byte
// is Corruption, and a well-formed newer snapshot is Unimplemented.
//
//   1 config      i32 rank, u64 seed, f32 init_stddev (the model's options:
//                 they decide every new row), u32 fold_in_max_events (which
//                 users' histories are kept), u8 objective (0 rating, 1
//                 implicit, 2 bpr: what the model and the sections below
//                 mean; BPR's state is the model and seen items alone), u32
//                 init_full_scale_users, u32 init_full_scale_items (from
//                 version 6; an older snapshot started every row at
//                 init_stddev, which is the configured rule for its rows if
//                 it holds at most that many users and items, and is
//                 refused otherwise).
//   2 users       u32 n, then n x {u32 len, len bytes}: ids in index order,
//                 "" for a forgotten one (IdMap::Forget); others distinct.
//   3 items       the same for items.
//   4 model       f32 global_mean, u32 num_users (= users n), u32 num_items
//                 (= items n), f32 user factors [num_users x rank, row-major],
//                 f32 item factors [num_items x rank], f32 user biases
//                 [num_users], f32 item biases [num_items].
//   5 learner     (empty state unless the objective is rating) u64 mean_count, u32 n (<= users n;
//   users beyond have no
//                 rating-model events), then n x {u32 events, u32 h, h x
//                 {u32 item, f32 target, f32 weight}}: h = events while
//                 events <= fold_in_max_events, else 0.
//   6 popularity  u8 has_anchor (0 or 1; 0 requires the rest zero/empty),
//                 i64 anchor_ms, i64 newest_ts_ms, u32 n (<= items n), n x
//                 f64 score relative to the anchor.
//   7 seen        u32 n (<= users n), then n x {u32 count, count x u32 item,
//                 strictly ascending, each < items n}.
//   8 counters    u64 events_applied.
//   9 implicit    empty for a rating model. Implicit: the online updater's
//                 state (ImplicitOnlineUpdater::State): u32 users_tracked,
//                 u32 items_tracked, u64 row_updates, f32 user Gramian
//                 [rank x rank], f32 item Gramian [rank x rank], u32 nu (<=
//                 users n), nu x {u32 count, count x {u32 item, f32
//                 strength}} (each user's cells in history order), u32 ni
//                 (<= items n), ni x {u32 count, count x u32 user} (each
//                 item's cells in its history order; every cell once on
//                 each side).
//  10 ivf         u32 lists: 0 where no IVF index is kept (or its centroids
//                 are not all finite: a k-means over huge rows). Else the index's
//                 training: u32 trained_items (<= items n: the items there
//                 were when it trained), the IvfOptions it trained with (u32
//                 lists, u32 kmeans_iterations in [1, 100], u32
//                 kmeans_points_per_list >= 1, u64 seed), from version 5
//                 what its training measured, for inner-product then for
//                 cosine queries (each u32 probe in [1, lists] and f32
//                 recall in [0, 1], or 0 and -1 where it did not:
//                 IvfIndex::measured_probe), and f32 centroids
//                 [lists x rank]; lists is the count IvfIndex::Build picks
//                 for trained_items and those options. The cells are not
//                 kept: every row is filed under its nearest centroid again.
//                 Derived state, kept so that a restored copy has the cells
//                 of the copy that wrote it (a k-means on the restored rows
//                 would give others) and retrains at the same event. Used
//                 where the decoding recommender keeps an IVF index trained
//                 with the same options and it is not due for retraining
//                 (Recommender::RestoreIndex); otherwise the index is built
//                 as for a version-2 snapshot, and the section re-encodes as
//                 that index has it.
//  11 ivf_next    u8 0 where no retraining of the IVF centroids is under way
//                 (Recommender::IndexUpkeep). Else u8 1, u64 install_at (>=
//                 events_applied: the ordinal of the event after which the
//                 new centroids replace the index's), then the retraining's
//                 result as the ivf section writes an index (u32 lists > 0,
//                 ...). Written once the training has finished (the encoder
//                 waits for it), so a restored copy installs the same
//                 centroids at the same event as the copy that wrote it.
//                 Used where the ivf section is.
//
// The encoding is canonical: any version-6 byte string DecodeSnapshot
// accepts re-encodes to itself, if its ivf sections are used (see above);
// version 1 to 5 ones re-encode as version 6.
//
// Thread-safety: EncodeSnapshot reads `rec` like a query (not concurrently
// with Apply); DecodeSnapshot and CopySnapshotState write it like Apply.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/status.h"
#include "engine/live/recommender.h"

namespace streamrec::engine {

inline constexpr char kSnapshotMagic[8] = {'S', 'R', 'S', 'N', 'A', 'P', '\0', '\0'};
inline constexpr uint32_t kSnapshotVersion = 6;

// Serialises everything Recommender::Apply reads or writes: both IdMaps, the
// MFModel (options rank/seed/init_stddev, global mean, factors, biases), the
// OnlineLearner state (mean_count, per-user event counts, young users'
// fold-in histories), Popularity (anchor, newest ts, has_anchor, raw
// scores), seen items, events_applied, and the implicit updater's state.
std::string EncodeSnapshot(const Recommender& rec);
// `prefix` (a header of the caller's, outside the checksum), then
// EncodeSnapshot(rec): storage's stored form without copying the snapshot
// once more to put a header before it.
std::string EncodeSnapshot(const Recommender& rec, std::string_view prefix);

// Where EncodeSnapshot hands a snapshot over a piece at a time.
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  // First, once: the size of the whole, prefix included.
  virtual Status Begin(uint64_t bytes) = 0;
  // The next piece, in order: each is the encode's piece_bytes long but the
  // last, which is what is left. An error ends the sink's part: it gets no
  // more pieces, and EncodeSnapshot returns the error.
  virtual Status Piece(std::string&& piece) = 0;
};
// EncodeSnapshot(rec, prefix)'s bytes, handed to `sink` in pieces of
// `piece_bytes` (more than prefix.size()) as they are made, so that this
// side never holds more than one piece: a snapshot at 500k users x 5M
// events is ~250 MB, which a string held on top of the model until it was
// stored. Two passes over the state: the first counts each section's bytes
// (its length goes ahead of it), the second writes them. Internal where the
// passes disagree (rec changed between them, against the thread-safety
// rule below): the bytes handed over are then not a snapshot. After a
// sink's error the encode still finishes its pass, storing nothing.
Status EncodeSnapshot(const Recommender& rec, std::string_view prefix, size_t piece_bytes,
                      SnapshotSink* sink);

// Replaces rec's state with the snapshot's. On any error rec is left
// exactly as it was. Corruption for truncated or garbled bytes (every count
// is checked against the bytes left before anything is allocated);
// FailedPrecondition, naming the values, if the snapshot's rank, seed,
// init_stddev, fold_in_max_events or objective differ from rec's
// configured options;
// Unimplemented for a newer format version.
Status DecodeSnapshot(std::string_view bytes, Recommender* rec);
// The same for bytes the caller gives up: the snapshot is `*bytes` from
// `offset` on (a header of the caller's before it), and their memory is
// freed once the sections are read, before the state is restored (the
// implicit history's restore builds its rows: with the bytes still held,
// the peak of a restart at 5M events was ~110 MB higher).
Status DecodeSnapshot(std::string&& bytes, size_t offset, Recommender* rec);

// Where DecodeSnapshot reads a snapshot a piece at a time.
class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  // The size of all the pieces together.
  virtual uint64_t size() const = 0;
  // The next piece (not empty), valid until the next call; nullopt past the
  // last.
  virtual StatusOr<std::optional<std::string_view>> Next() = 0;
};
// The same for a snapshot read from `source` (from `offset` on: a header
// of the caller's before it), a section at a time: besides the decoded
// state only the source's current piece is held (sections read from it), where
// the whole snapshot's bytes were (~250 MB at 500k users x 5M events). The
// checksum is taken as the pieces go by and checked at the end, before
// anything is installed; the answer is the one DecodeSnapshot(bytes) gives
// (a bad checksum is Corruption, whatever the sections held; then a newer
// version is Unimplemented). The source's own errors are returned as they
// are.
Status DecodeSnapshot(SnapshotSource* source, size_t offset, Recommender* rec);

// Gives `to` (fresh, configured alike) the state of `from`, as
// DecodeSnapshot(EncodeSnapshot(from), to) would, bit for bit, but without
// the bytes: the second Left-Right copy at open. What both copies hold
// alike is shared, not copied: the user and item factor pages
// (MFModel::Clone), the seen lists and the id maps, and under the
// implicit objective the updater, which `to` must already share with
// `from` (Recommender::ShareUpdater). The biases, learner and
// popularity are copied, and the int8 mirror, IVF index and retraining
// under way taken as they are (they describe the same item rows, so no
// k-means runs again). Through the codec the encoded bytes and the decoded
// parts about to be dropped had been held at once: at 500k users x 5M
// events the open's peak, ~600 MB above the model. FailedPrecondition,
// naming the difference, where the options differ as DecodeSnapshot's
// check says or the updater is not shared; `to` is then unchanged.
Status CopySnapshotState(const Recommender& from, Recommender* to);

// The second Left-Right copy of `first`, a recommender just recovered or
// replayed, as the live store opens it: `first` is trimmed
// (Recommender::CompactMemory: rows grown one event at a time hold up to
// twice their size, and the copy shares them), then a fresh recommender
// configured alike shares its updater (Recommender::ShareUpdater) and takes
// its state (CopySnapshotState). The catalog is not snapshot state: the
// caller copies it. CopySnapshotState's errors are returned.
StatusOr<std::unique_ptr<Recommender>> MakeSecondCopy(Recommender* first);

// CRC32C of `data` as the snapshot trailer uses it (exposed for tests and
// tools that patch a snapshot and must re-seal it). `crc`: that of the
// bytes before `data`, to go on from (Crc32c(a + b) == Crc32c(b, Crc32c(a))).
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);

}  // namespace streamrec::engine
