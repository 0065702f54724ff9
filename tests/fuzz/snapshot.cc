// Fuzz target: snapshot decoding (engine/live/snapshot.h), what recovery does
// with the newest snapshot on disk. Each input is decoded into a rating, an
// implicit and a BPR recommender (snapshot_fixture.h; the seeds are theirs,
// written by make_seeds.cc). The trailing CRC32C would stop almost every
// mutation at the envelope, so an input whose checksum is wrong is also
// decoded resealed (the checksum recomputed), which takes the mutation on
// to the sections.
//
// Invariants besides "no crash, no sanitizer report, no exception":
// - decoded from pieces (a SnapshotSource, as recovery reads the store),
//   the answer and the state are the whole bytes' decode's;
// - a refusal is Corruption, FailedPrecondition or Unimplemented, and
//   leaves the recommender exactly as it was;
// - the encoding is canonical: a version-3 snapshot that decodes
//   re-encodes to the same bytes, but for an ivf section the recommender
//   does not use (which re-encodes as the index it has); a version-1 or 2
//   one re-encodes to a version-3 snapshot that round-trips;
// - what decodes is a state the engine can run on: queries, new events
//   and forgetting a user work on it, and what they lead to encodes to a
//   snapshot that decodes or is refused as Corruption. Not "decodes": a
//   resealed mutation can hold values no run of the engine makes (an
//   implicit Gramian that is not Σ p pᵀ: Restore checks only its shape and
//   finiteness), a few events on which turn the state non-finite, which
//   the decoder refuses. The codec promises nothing for such bytes (the
//   CRC keeps damage out), so that is no finding.
#include "engine/live/snapshot.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/snapshot_fixture.h"

namespace streamrec::fuzz {
namespace {

using engine::Event;
using engine::Recommender;

constexpr int64_t kTs = 1'700'000'000'000;

void Apply(Recommender* rec, std::string_view user, std::string_view item, std::string_view type,
           float value, std::vector<Event>* applied) {
  const Event e{user, item, *rec->types().Find(type), value, kTs};
  if (rec->Apply(e).ok()) applied->push_back(e);
}

// What a decode replaces: not an empty recommender, so that "left exactly
// as it was" means something. Two events, applied once per objective and
// kept as their snapshot: applied for every decode, each started an IVF
// training and its probe measuring, most of this target's time (~22
// inputs/s; restoring the bytes costs a small decode).
std::string BaselineBytes(Recommender* rec) {
  rec->Reset();
  std::vector<Event> applied;
  Apply(rec, "base-user", "base-item", "view", 0.0f, &applied);
  Apply(rec, "base-user", "base-other", "rating", 4.0f, &applied);
  return engine::EncodeSnapshot(*rec);
}

// One recommender per objective to decode into, and a second to decode
// what the first re-encodes; each objective's baseline.
struct Models {
  std::unique_ptr<Recommender> rec[3], scratch[3];
  std::string baseline[3];
  Models() {
    for (int i = 0; i < 3; ++i) {
      rec[i] = SnapshotRecommender(kSnapshotObjectives[i]);
      scratch[i] = SnapshotRecommender(kSnapshotObjectives[i]);
      baseline[i] = BaselineBytes(rec[i].get());
    }
  }
};

void Baseline(Recommender* rec, const std::string& bytes) {
  rec->Reset();
  const Status st = engine::DecodeSnapshot(bytes, rec);
  FUZZ_CHECK(st.ok(), "the baseline does not decode: {}", st.ToString());
}

// Queries, events and a forget on a decoded state; then its snapshot must
// decode again.
void Exercise(Recommender* rec, Recommender* scratch) {
  const std::vector<std::string> users = rec->users().Names();
  const std::vector<std::string> items = rec->items().Names();
  engine::RecommendRequest req;
  req.n = 3;
  for (size_t u = 0; u < users.size() && u < 3; ++u) (void)rec->RecommendForUser(users[u], req);
  for (size_t i = 0; i < items.size() && i < 3; ++i) {
    (void)rec->SimilarItems(items[i], 3, users.empty() ? std::string_view{} : users[0]);
  }
  (void)rec->Popular(3);

  // Copies: Event holds views, and Apply may add ids.
  const std::string user = users.empty() ? "fuzz-user" : users[0];
  const std::string item = items.empty() ? "fuzz-item" : items[0];
  std::vector<Event> applied;
  Apply(rec, user, item, "view", 0.0f, &applied);
  Apply(rec, user, item, "rating", 4.5f, &applied);
  Apply(rec, "fuzz-new-user", item, "purchase", 0.0f, &applied);
  (void)rec->RecommendForUser(user, req);
  (void)rec->ForgetUser(user, applied);
  (void)rec->RecommendForUser("fuzz-new-user", req);

  const std::string after = engine::EncodeSnapshot(*rec);
  scratch->Reset();
  const Status st = engine::DecodeSnapshot(after, scratch);
  FUZZ_CHECK(st.ok() || st.code() == StatusCode::kCorruption,
             "the state reached from a decoded snapshot re-encodes to one refused with {}",
             st.ToString());
}

// Where the header of the ivf section (the last, tag 10) starts in a snapshot
// that decoded, or npos.
size_t IvfSectionAt(std::string_view b) {
  for (size_t at = sizeof(engine::kSnapshotMagic) + 4; at + 12 <= b.size();) {
    uint32_t tag = 0;
    uint64_t len = 0;
    std::memcpy(&tag, b.data() + at, 4);
    std::memcpy(&len, b.data() + at + 4, 8);
    if (tag == 10) return at;
    if (len > b.size() - at - 12) break;
    at += 12 + len;
  }
  return std::string_view::npos;
}

// The input in pieces of a size drawn from it: what recovery reads a
// stored snapshot as (chunks, decoded a section at a time).
class Pieces final : public engine::SnapshotSource {
 public:
  Pieces(std::string_view bytes, size_t piece) : bytes_(bytes), piece_(piece) {}
  uint64_t size() const override { return bytes_.size(); }
  StatusOr<std::optional<std::string_view>> Next() override {
    if (bytes_.empty()) return std::optional<std::string_view>();
    const std::string_view p = bytes_.substr(0, piece_);
    bytes_.remove_prefix(p.size());
    return std::optional<std::string_view>(p);
  }

 private:
  std::string_view bytes_;
  size_t piece_;
};

void Decode(std::string_view bytes, Models* m) {
  for (int i = 0; i < 3; ++i) {
    Recommender* rec = m->rec[i].get();
    Baseline(rec, m->baseline[i]);
    const std::string before = engine::EncodeSnapshot(*rec);
    const Status st = engine::DecodeSnapshot(bytes, rec);
    // Decoded from pieces: the same answer and the same state.
    {
      Recommender* scratch = m->scratch[i].get();
      Baseline(scratch, m->baseline[i]);
      Pieces pieces(bytes, 1 + bytes.size() % 61);
      const Status streamed = engine::DecodeSnapshot(&pieces, 0, scratch);
      FUZZ_CHECK(streamed.code() == st.code() && streamed.message() == st.message(),
                 "decoded from pieces: {}; whole: {}", streamed.ToString(), st.ToString());
      FUZZ_CHECK(engine::EncodeSnapshot(*scratch) == engine::EncodeSnapshot(*rec),
                 "decoded from pieces, a state other than the whole bytes' ({})", st.ToString());
    }
    if (!st.ok()) {
      FUZZ_CHECK(st.code() == StatusCode::kCorruption ||
                     st.code() == StatusCode::kFailedPrecondition ||
                     st.code() == StatusCode::kUnimplemented,
                 "a snapshot refused with {}", st.ToString());
      FUZZ_CHECK(engine::EncodeSnapshot(*rec) == before, "a refused snapshot ({}) changed state",
                 st.ToString());
      continue;
    }
    uint32_t version = 0;
    std::memcpy(&version, bytes.data() + sizeof(engine::kSnapshotMagic), sizeof(version));
    const std::string again = engine::EncodeSnapshot(*rec);
    if (version == engine::kSnapshotVersion && again == bytes) {
      // Canonical.
    } else if (version == engine::kSnapshotVersion) {
      // Only an ivf section the decoding recommender did not use (its top-N
      // configuration trains no such index) may re-encode otherwise: as
      // the index it has. Everything before that last section is the same.
      const size_t ivf = IvfSectionAt(bytes);
      FUZZ_CHECK(ivf != std::string_view::npos && again.size() >= ivf &&
                     std::string_view(again).substr(0, ivf) == bytes.substr(0, ivf),
                 "a version-{} snapshot of {} bytes re-encodes to {} others", version, bytes.size(),
                 again.size());
      Recommender* scratch = m->scratch[i].get();
      scratch->Reset();
      const Status st2 = engine::DecodeSnapshot(again, scratch);
      FUZZ_CHECK(st2.ok() && engine::EncodeSnapshot(*scratch) == again,
                 "a snapshot whose ivf section went unused re-encodes to one that does not "
                 "round-trip: {}",
                 st2.ToString());
    } else {
      Recommender* scratch = m->scratch[i].get();
      scratch->Reset();
      const Status st2 = engine::DecodeSnapshot(again, scratch);
      FUZZ_CHECK(st2.ok() && engine::EncodeSnapshot(*scratch) == again,
                 "a version-{} snapshot re-encodes to one that does not round-trip: {}", version,
                 st2.ToString());
    }
    Exercise(rec, m->scratch[i].get());
  }
}

}  // namespace
}  // namespace streamrec::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace streamrec;
  static fuzz::Models* models = new fuzz::Models();  // lives for the process
  const std::string_view bytes = fuzz::AsText(data, size);
  fuzz::Decode(bytes, models);
  if (size < sizeof(engine::kSnapshotMagic) + 8) return 0;
  std::string resealed(bytes);
  const uint32_t crc = engine::Crc32c(std::string_view(resealed).substr(0, size - 4));
  if (std::memcmp(resealed.data() + size - 4, &crc, 4) == 0) return 0;  // decoded above
  std::memcpy(resealed.data() + size - 4, &crc, 4);
  fuzz::Decode(resealed, models);
  return 0;
}
