// The snapshot's sections (engine/live/snapshot.h has the format): their
// tags, the writer of each, and the reader of the whole sequence into a
// Decoded, checked before any of it is installed. Used by the codec
// (snapshot.cc) alone; not part of the engine's API.
//
// Thread-safety: functions of their arguments; the parts written are read
// only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/live/recommender.h"
#include "engine/live/snapshot.h"
#include "engine/live/snapshot_io.h"

namespace streamrec::engine::snapshot_internal {

enum Section {
  kConfig = 1,
  kUsers,
  kItems,
  kModel,
  kLearner,
  kPopularity,
  kSeen,
  kCounters,
  kImplicit,
  kIvf,
  kIvfNext
};
// The last section of each format version.
constexpr Section LastSection(uint32_t version) {
  return version == 1 ? kCounters : version == 2 ? kImplicit : version == 3 ? kIvf : kIvfNext;
}
constexpr size_t kHeaderBytes = sizeof(kSnapshotMagic) + 4;
constexpr size_t kTrailerBytes = 4;

// Corruption naming section s.
Status Corrupt(Section s, std::string_view why);

// Everything the sections hold, decoded and checked before any of it is
// installed, so a failed decode leaves the recommender untouched.
struct Decoded {
  Decoded(const RecommenderOptions& o, uint32_t v) : options(o), version(v), model(o.model) {}

  const RecommenderOptions& options;
  uint32_t version;
  Objective objective = Objective::kRating;
  IdMap users, items;
  MFModel model;
  uint64_t mean_count = 0;
  std::vector<uint32_t> user_events;
  std::vector<std::vector<OnlineLearner::HistoryEntry>> histories;
  bool has_anchor = false;
  int64_t anchor_ms = 0;
  int64_t newest_ts_ms = 0;
  std::vector<double> scores;
  std::vector<std::vector<uint32_t>> seen;
  uint64_t events_applied = 0;
  ImplicitOnlineUpdater::State implicit;
  IvfIndex ivf{options.model.rank};       // no centroids unless the section has them
  IvfIndex ivf_next{options.model.rank};  // the same for the retraining under way
  uint64_t ivf_next_at = 0;
};

// OK where a snapshot of a model with `model`'s options, `learner` and
// `objective` may be decoded under `configured`; else ReadConfig's
// FailedPrecondition, naming the differences (CopySnapshotState's check).
Status CheckConfig(const MFModel& model, const LearnerOptions& learner, Objective objective,
                   const RecommenderOptions& configured);

// The sections' contents, in the order the format has them.
void WriteConfig(Writer& w, const MFModel& model, const LearnerOptions& learner,
                 Objective objective);
void WriteIdMap(Writer& w, const IdMap& ids);
void WriteModel(Writer& w, const MFModel& m);
void WriteLearner(Writer& w, const OnlineLearner& l);
void WritePopularity(Writer& w, const Popularity& p);
void WriteSeen(Writer& w, const SeenLists& seen);
// Empty for a rating model; else the updater's State.
void WriteImplicit(Writer& w, const ImplicitOnlineUpdater* up);
// u32 lists; then, where lists > 0, the trained IVF index.
void WriteIvf(Writer& w, const IvfIndex& ivf);
// u8 0 where no retraining is under way; else u8 1, u64 the ordinal of the
// event it is installed after, and its centroids as WriteIvf writes them.
// Waits for the training to finish.
void WriteIvfNext(Writer& w, const IvfTraining* next);

// Section s's payload, all of `section`'s bytes, into d, consumed exactly
// (the codec reads the sections in their fixed order, a section at a time,
// each from the pieces as they come: snapshot.cc).
Status ReadSection(Section s, Reader& section, Decoded* d);
// Magic, then checksum, then version: see snapshot.h for why in this order.
Status CheckEnvelope(std::string_view bytes);
// The envelope's answers, which the decode from pieces (snapshot.cc) gives
// too: bad magic or too short; a checksum that does not hold; and OK for a
// version this build reads, else Unimplemented (newer) or Corruption (0).
Status NotASnapshot();
Status ChecksumMismatch(uint32_t stored, uint32_t computed);
Status CheckVersion(uint32_t version);

}  // namespace streamrec::engine::snapshot_internal
