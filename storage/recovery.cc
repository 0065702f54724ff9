#include "storage/recovery.h"

#include <fmt/format.h>

#include <chrono>

#include "engine/snapshot.h"

namespace streamrec::storage {

Status ApplyStored(const StoredEvent& e, engine::Recommender* rec) {
  const auto type = rec->types().Find(e.type);
  if (!type) {
    return Status::FailedPrecondition(
        fmt::format("event {} has type '{}', which the configuration does not define (known: {})",
                    e.seq, e.type, rec->types().Names()));
  }
  Status st = rec->Apply({e.user, e.item, *type, e.value, e.ts_ms});
  if (!st.ok()) {
    return Status(st.code(), fmt::format("event {}: {}", e.seq, st.message()));
  }
  return Status::OK();
}

StatusOr<RecoveryResult> Recover(const EventLog& log, engine::Recommender* rec, uint64_t up_to) {
  const auto t0 = std::chrono::steady_clock::now();
  RecoveryResult r;
  StatusOr<std::optional<Snapshot>> snap = log.LatestSnapshot();
  if (!snap.ok()) return snap.status();
  if (*snap && (*snap)->seq <= up_to) {
    Status st = engine::DecodeSnapshot((*snap)->blob, rec);
    if (st.ok()) {
      r.snapshot_seq = (*snap)->seq;
      r.last_seq = r.snapshot_seq;
    } else {
      // DecodeSnapshot leaves rec untouched on failure: replay from scratch.
      r.snapshot_skipped = fmt::format("snapshot at seq {}: {}", (*snap)->seq, st.ToString());
    }
  }
  Status apply_status;
  Status scan = log.Scan(r.snapshot_seq + 1, up_to, [&](const StoredEvent& e) {
    apply_status = ApplyStored(e, rec);
    if (!apply_status.ok()) return false;
    ++r.replayed;
    r.last_seq = e.seq;
    return true;
  });
  STREAMREC_RETURN_IF_ERROR(scan);
  STREAMREC_RETURN_IF_ERROR(apply_status);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

Status WriteSnapshot(EventLog* log, const engine::Recommender& rec, uint64_t seq) {
  return log->PutSnapshot(seq, engine::EncodeSnapshot(rec));
}

}  // namespace streamrec::storage
