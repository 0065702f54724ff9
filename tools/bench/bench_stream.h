// A synthetic stream (tools/data/synthetic.h) cut into the storage layer's
// batches, for the benchmarks that load a database: generated as it is
// consumed, so millions of events never sit in memory at once.
//
// Thread-safety: a free function; `fn` runs on the calling thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "storage/event_codec.h"
#include "tools/data/synthetic.h"

namespace streamrec::tools {

// Calls fn(batch) with consecutive batches of at most `batch_size` events
// of the stream `options` describes; event n's id is <id_prefix><n>. Stops
// at, and returns, the first error fn returns.
Status ForEachSyntheticBatch(const SyntheticOptions& options, std::string_view id_prefix,
                             size_t batch_size,
                             const std::function<Status(std::vector<storage::StoredEvent>&)>& fn);

}  // namespace streamrec::tools
