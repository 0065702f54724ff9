// VerifyDatabase: a full read of a streamrec database that checks every
// byte it can: RocksDB's block checksums over every table file, then every
// event record, dedup entry, user index key and catalog entry decoded, and
// every snapshot decoded into an engine. What `streamrec log verify` runs;
// it finds damage that serving would only meet later (a retrain, a delete,
// a restart).
//
// Thread-safety: a function; the log may be in use by others meanwhile
// (it only reads).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/event_types.h"
#include "engine/live/recommender.h"
#include "storage/event_log.h"

namespace streamrec::storage {

struct VerifyReport {
  uint64_t events = 0;             // event records decoded
  uint64_t snapshots = 0;          // snapshots decoded whole
  uint64_t snapshots_foreign = 0;  // intact, but written under other settings:
                                   // checked up to its checksum only
  uint64_t catalog_items = 0;
  // What is damaged, one line each naming the part ("event 1234: ...",
  // "snapshot at seq 900: ...", "table checksums: ... 000012.sst");
  // empty if nothing is.
  std::vector<std::string> problems;
};

// Snapshots are decoded into an engine built from `engine` and `types` (the
// server's configuration), so that every section is checked, not just the
// checksum.
VerifyReport VerifyDatabase(const EventLog& log, const engine::RecommenderOptions& engine,
                            const engine::EventTypes& types);

}  // namespace streamrec::storage
