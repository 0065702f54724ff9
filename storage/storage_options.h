// StorageOptions: the [storage] settings of a database: the event log's
// options and when the model is snapshotted. SnapshotDue applies the
// snapshot triggers (LiveStore's model thread calls it).
#pragma once

#include <cstdint>

#include "storage/event_log.h"

namespace streamrec::storage {

struct StorageOptions {
  // Durability, snapshots kept, purges and disk-error recovery.
  EventLogOptions log;
  // Snapshot after this many events applied since the last one (0: never
  // by count). Smaller: faster restarts, more write amplification (a
  // snapshot is the whole model, ~k*4 bytes per user and item).
  uint64_t snapshot_every_events = 100000;
  // ...or after this many seconds with at least one new event (0: never by
  // time).
  double snapshot_every_seconds = 600.0;
  // ...but not before this many times the previous snapshot's duration
  // (encoded on the model thread, which stops every acknowledgement
  // meanwhile, then stored by a writer thread) has passed since it was
  // written (0: no wait). At 2M events over 500k users a snapshot is
  // ~200 MB and took ~4 s when it was stored as one key, and by count
  // alone a server taking 60k events/s started one as soon as the last was
  // stored (ingest 65k events/s without snapshots, 28k with them). At 5
  // snapshots take at most ~1/6 of the time, and a restart replays at most
  // ~5 snapshot durations of log after the newest one. Small models
  // snapshot in milliseconds: no change.
  double snapshot_spacing_factor = 5.0;
  // ...nor before this many times the previous snapshot's encode, the part
  // that stops the model thread (0: no wait). Stored in chunks, the same
  // snapshot takes ~0.6 s, ~0.45 s of it the encode: spaced by the whole
  // duration alone, one came every 3 s and the model thread stood still
  // ~15% of the time (ingest p99 220 ms -> 500 ms). At 30 it stands still
  // at most ~1/31 of the time.
  double snapshot_encode_spacing_factor = 30.0;
  // A user delete drops every snapshot (they hold the user) and the next
  // one is written this many seconds later, shared by every delete
  // meanwhile, instead of one whole-model snapshot per delete. Until then a
  // restart replays the whole log (a retrained model not yet in a snapshot
  // is lost to a crash in that window). Smaller: shorter window; larger:
  // fewer snapshots under delete-heavy traffic.
  double snapshot_after_forget_seconds = 5.0;
};

// Whether a snapshot is due under `options`' two triggers, given the events
// applied and the seconds passed since the last one, how long that one
// took (snapshot_spacing_factor; 0: none written yet) and how long its
// encode took (snapshot_encode_spacing_factor).
inline bool SnapshotDue(const StorageOptions& options, uint64_t events_since, double seconds_since,
                        double last_snapshot_seconds = 0.0, double last_encode_seconds = 0.0) {
  if (events_since == 0) return false;
  if (seconds_since < options.snapshot_spacing_factor * last_snapshot_seconds) return false;
  if (seconds_since < options.snapshot_encode_spacing_factor * last_encode_seconds) return false;
  return (options.snapshot_every_events > 0 && events_since >= options.snapshot_every_events) ||
         (options.snapshot_every_seconds > 0 && seconds_since >= options.snapshot_every_seconds);
}

}  // namespace streamrec::storage
