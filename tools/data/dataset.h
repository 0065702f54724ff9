// Dataset: turns EventRecords (string ids, type names) into the dense
// EvalSplit the engine evaluates, and makes seeded random splits.
//
// Thread-safety: free functions; no shared state.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/core/event_types.h"
#include "engine/core/id_map.h"
#include "engine/core/status.h"
#include "engine/eval/evaluation.h"
#include "tools/data/event_file.h"

namespace streamrec::tools {

struct DenseSplit {
  engine::EvalSplit split;
  engine::IdMap users;  // train users, then test-only users
  engine::IdMap items;
};

// Maps train ids first (they form the catalog), then test-only ids beyond
// it. Events whose type does not train the rating model are dropped;
// an unknown type name is an InvalidArgument. Training examples are put in
// timestamp order (stable), which is what the online learner would have
// seen.
StatusOr<DenseSplit> BuildSplit(const std::vector<EventRecord>& train,
                                const std::vector<EventRecord>& test,
                                const engine::EventTypes& types);

// Shuffles (seeded) and cuts at train_fraction: returns {train, test}.
std::pair<std::vector<EventRecord>, std::vector<EventRecord>> RandomSplit(
    std::vector<EventRecord> events, double train_fraction, uint64_t seed);

}  // namespace streamrec::tools

namespace streamrec::tools {

// Loads events from `path`: a streamrec event file (by its header line), a
// ratings file in any format ReadRatingsFile knows, a directory holding one
// (FindRatingsFile), or "-" for standard input (so that `import ... --out -`
// can feed `eval --data -` directly).
StatusOr<std::vector<EventRecord>> LoadEvents(const std::string& path);

}  // namespace streamrec::tools
