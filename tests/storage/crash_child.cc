// Child process of the crash test: appends batches to the log forever and
// prints each event_id once its batch is acknowledged (Append returned OK),
// until it is killed. Payloads are a pure function of the id, so a retried
// id is a duplicate, never a conflict.
//
// usage: storage_crash_child DB_DIR CYCLE sync|process
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "storage/event_log.h"

using streamrec::storage::StoredEvent;

namespace {

StoredEvent EventFor(int cycle, int n) {
  return {0,
          fmt::format("c{}-{}", cycle, n),
          fmt::format("u{}", n % 50),
          fmt::format("i{}", n % 100),
          "view",
          0.0f,
          int64_t{cycle} * 1000000 + n};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s DB_DIR CYCLE sync|process\n", argv[0]);
    return 2;
  }
  const int cycle = std::atoi(argv[2]);
  streamrec::storage::EventLogOptions o;
  o.durability = std::string(argv[3]) == "process" ? streamrec::storage::Durability::kProcess
                                                   : streamrec::storage::Durability::kSync;
  auto log = streamrec::storage::EventLog::Open(argv[1], o);
  if (!log.ok()) {
    std::fprintf(stderr, "open: %s\n", log.status().ToString().c_str());
    return 1;
  }
  // First re-send the previous cycle's first ids: acknowledged ones must
  // come back as duplicates, the rest get stored now.
  std::vector<StoredEvent> batch;
  if (cycle > 0) {
    for (int n = 0; n < 20; ++n) batch.push_back(EventFor(cycle - 1, n));
    if (!(*log)->Append(batch).ok()) return 1;
  }
  for (int n = 0;;) {
    batch.clear();
    const int size = 1 + (n * 7) % 20;
    for (int k = 0; k < size; ++k) batch.push_back(EventFor(cycle, n++));
    auto r = (*log)->Append(batch);
    if (!r.ok()) {
      std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
      return 1;
    }
    std::string acked;
    for (const auto& e : batch) acked += e.event_id + "\n";
    std::fwrite(acked.data(), 1, acked.size(), stdout);
    std::fflush(stdout);
  }
}
