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
  // ...but not before this many times the previous snapshot's encode time
  // has passed since it was written (0: no wait). The encode stops the
  // model thread, and with it every acknowledgement: a model of 500k users
  // x 100k items encodes in ~1.5 s, and by count alone a server ingesting
  // 60k events/s would stop for it every 1.7 s (measured: ingest 65k ->
  // 25k events/s). At 10 the encodes take at most ~1/10 of the model
  // thread, and a restart replays at most ~10 encode times of log after
  // the newest snapshot. Small models encode in milliseconds: no change.
  double snapshot_spacing_factor = 10.0;
  // A user delete drops every snapshot (they hold the user) and the next
  // one is written this many seconds later, shared by every delete
  // meanwhile, instead of one whole-model snapshot per delete. Until then a
  // restart replays the whole log (a retrained model not yet in a snapshot
  // is lost to a crash in that window). Smaller: shorter window; larger:
  // fewer snapshots under delete-heavy traffic.
  double snapshot_after_forget_seconds = 5.0;
};

// Whether a snapshot is due under `options`' two triggers, given the events
// applied and the seconds passed since the last one, and that one's encode
// seconds (snapshot_spacing_factor; 0: none written yet).
inline bool SnapshotDue(const StorageOptions& options, uint64_t events_since, double seconds_since,
                        double last_encode_seconds = 0.0) {
  if (events_since == 0) return false;
  if (seconds_since < options.snapshot_spacing_factor * last_encode_seconds) return false;
  return (options.snapshot_every_events > 0 && events_since >= options.snapshot_every_events) ||
         (options.snapshot_every_seconds > 0 && seconds_since >= options.snapshot_every_seconds);
}

}  // namespace streamrec::storage
