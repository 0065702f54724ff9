#include "tools/bench/bench_stream.h"

#include <fmt/format.h>

#include <cstdint>
#include <utility>

namespace streamrec::tools {

Status ForEachSyntheticBatch(const SyntheticOptions& options, std::string_view id_prefix,
                             size_t batch_size,
                             const std::function<Status(std::vector<storage::StoredEvent>&)>& fn) {
  std::vector<storage::StoredEvent> batch;
  batch.reserve(batch_size);
  uint64_t n = 0;
  Status st = Status::OK();
  ForEachSynthetic(options, [&](EventRecord e) {
    if (!st.ok()) return;  // the generator cannot be stopped: skip the rest
    batch.push_back({0, fmt::format("{}{}", id_prefix, n++), std::move(e.user), std::move(e.item),
                     std::move(e.type), e.value, e.ts_ms});
    if (batch.size() < batch_size) return;
    st = fn(batch);
    batch.clear();
  });
  if (st.ok() && !batch.empty()) st = fn(batch);
  return st;
}

}  // namespace streamrec::tools
