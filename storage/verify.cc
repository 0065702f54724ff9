#include "storage/verify.h"

#include <fmt/format.h>

#include "engine/live/snapshot.h"
#include "storage/recovery.h"

namespace streamrec::storage {
namespace {

// The stored bytes are an 8-byte fingerprint, then the engine snapshot
// whose last 4 bytes are the little-endian CRC32C of the rest.
bool TrailerIntact(std::string_view stored) {
  if (stored.size() < 8 + 4) return false;
  const std::string_view snap = stored.substr(8);
  const std::string_view body = snap.substr(0, snap.size() - 4);
  uint32_t crc = 0;
  for (int b = 0; b < 4; ++b) {
    crc |= static_cast<uint32_t>(static_cast<unsigned char>(snap[body.size() + b])) << (8 * b);
  }
  return crc == engine::Crc32c(body);
}

}  // namespace

VerifyReport VerifyDatabase(const EventLog& log, const engine::RecommenderOptions& engine,
                            const engine::EventTypes& types) {
  VerifyReport r;
  auto note = [&](std::string_view part, const Status& st) {
    if (!st.ok()) r.problems.push_back(fmt::format("{}: {}", part, st.ToString()));
  };
  note("table checksums", log.VerifyChecksums());
  note("event log", log.Scan(1, UINT64_MAX, [&](const StoredEvent&) {
    ++r.events;
    return true;
  }));
  note("indexes", log.VerifyIndexes());
  note("catalog", log.ScanItems([&](std::string_view, const ItemMeta&) {
    ++r.catalog_items;
    return true;
  }));
  std::string listing;
  const std::vector<uint64_t> seqs = log.SnapshotSeqs(&listing);
  if (!listing.empty()) r.problems.push_back(fmt::format("snapshots: {}", listing));
  for (uint64_t seq : seqs) {
    StatusOr<std::string> blob = log.GetSnapshot(seq);
    // A fresh engine per snapshot: a decode replaces all of its state.
    engine::Recommender rec(engine, types);
    // Checked before the bytes go to the decode, which frees them.
    const bool intact = blob.ok() && TrailerIntact(*blob);
    Status st = blob.ok() ? LoadSnapshot(std::move(blob).value(), &rec) : blob.status();
    if (st.ok()) {
      ++r.snapshots;
    } else if (st.code() == StatusCode::kFailedPrecondition && intact) {
      // Written under other settings: not decodable here, but its trailer
      // (CRC32C of every byte before it, engine/live/snapshot.h) says the bytes
      // are as written.
      ++r.snapshots_foreign;
    } else {
      note(fmt::format("snapshot at seq {}", seq), st);
    }
  }
  return r;
}

}  // namespace streamrec::storage
