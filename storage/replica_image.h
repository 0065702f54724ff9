// Images of a cluster replica's local database (docs/DESIGN.md section 10).
//
// The cluster's stream cannot hold every message for ever, and a user's
// DELETE must take their events out of it. An image is a replica's whole
// local database (events, dedup, catalog, model snapshots, the stream
// position P it holds) stored beside the stream (ReplicatedLog::PutImage);
// once one of seq P is stored, the stream may drop its messages up to P.
// A replica whose position is behind where the stream now starts (new,
// or down while the stream was trimmed) replaces its database with the
// newest image before it opens it, and reads the stream from P + 1.
//
// Every replica that applied the stream through P holds the same model
// and the same log there, so an image is the state it would have reached
// by replaying the messages it stands in for.
#pragma once

#include <string>

#include "engine/core/status.h"
#include "storage/event_log.h"
#include "storage/replicated_log.h"

namespace streamrec::storage {

struct ImageLoad {
  bool loaded = false;        // false: the local database can catch up from the stream
  uint64_t local_seq = 0;     // the local database's position before (0: none)
  uint64_t stream_first = 0;  // where the stream starts
  StreamImage image;          // the image loaded (loaded only)
  double seconds = 0.0;
};

// Before a cluster replica opens the database in `dir`: if its position
// is behind the stream's first message, replaces the directory with the
// newest image (fetched into "<dir>.image", checked to open at the image's
// position, then moved into place; a crash in between leaves either the
// old directory or none, and the next start fetches again). The old
// database goes: it may hold events of users deleted since.
// FailedPrecondition if no image covers where the stream starts.
StatusOr<ImageLoad> LoadImageIfBehind(ReplicatedLog* stream, const std::string& dir,
                                      const EventLogOptions& options);

// Writes an image of `log` (a checkpoint in "<dir>.image-out", removed
// afterwards; `dir` is the log's own directory) and stores it in `stream`.
StatusOr<StreamImage> PublishImage(EventLog* log, const std::string& dir, ReplicatedLog* stream);

}  // namespace streamrec::storage
