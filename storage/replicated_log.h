// ReplicatedLog: the log of record when streamrec runs as several replicas
// (README "Cluster", docs/DESIGN.md section 10). A totally ordered stream of
// messages that every replica reads whole, in order, and applies with the
// same deterministic engine; the local EventLog then caches what was
// applied. storage/jetstream/ implements it on NATS JetStream; LiveStore
// only sees this interface, so storage/ itself never needs NATS and the
// single process (no ReplicatedLog) never touches it.
//
// Images: the stream cannot keep every message for ever, and a user's
// DELETE must take their events out of it. A replica's local database as of
// a stream seq (an image) stands in for the messages up to there: once an
// image of seq P is stored, the messages up to P may be trimmed, and a
// replica whose position is behind where the stream now starts loads the
// image instead of replaying (storage/replica_image.h).
//
// Thread-safety: Append, Delete, Position, Describe and the image and trim
// calls from any thread; StartReading and Read from one reader thread at a
// time.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace streamrec::storage {

struct StreamMessage {
  uint64_t seq = 0;
  std::string data;
};

struct StreamPosition {
  // Oldest message held; after a trim of every message, last_seq + 1; 0
  // when nothing was ever appended.
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;   // newest message appended (0: none ever)
};

// A stored image: the files of a local database that had taken in every
// stream message up to `seq`.
struct StreamImage {
  uint64_t seq = 0;
  uint64_t files = 0;
  uint64_t bytes = 0;
};

class ReplicatedLog {
 public:
  virtual ~ReplicatedLog() = default;

  // Appends `data` under the de-duplication id `id`: the stream stores one
  // message per id within its duplicate window, so a retry of an append
  // whose answer was lost stores nothing new and returns the first one's
  // seq. Retries by itself (same id) until its publish timeout. Errors:
  // Unavailable when the stream cannot take writes now (no leader, no
  // server reachable: HTTP 503 with Retry-After), InvalidArgument for a
  // message over max_message_bytes().
  virtual StatusOr<uint64_t> Append(std::string_view id, std::string_view data) = 0;

  // Largest message the stream takes, bytes.
  virtual size_t max_message_bytes() const = 0;

  // Positions the reader: Read returns the messages from seq `from` (>= 1)
  // on.
  virtual Status StartReading(uint64_t from) = 0;
  // Up to `max` messages in stream order, waiting up to `timeout` for the
  // first (none: an empty vector). Never skips one: a seq beyond the
  // previous one + 1 is accepted only when the messages between were
  // deleted one by one; otherwise the reader starts again from the first
  // missing one. A reader that stalls while the stream is ahead is
  // restarted. FailedPrecondition when the next message was trimmed (the
  // stream now starts beyond it): this replica cannot catch up from the
  // stream and must load an image.
  virtual StatusOr<std::vector<StreamMessage>> Read(size_t max,
                                                    std::chrono::milliseconds timeout) = 0;

  // The stream's extent now (a request to the stream's leader).
  virtual StatusOr<StreamPosition> Position() = 0;
  // Removes message `seq` from the stream (every replica of it): NotFound
  // if it is not there.
  virtual Status Delete(uint64_t seq) = 0;
  // For status pages: "nats://127.0.0.1:4222 stream streamrec (R3)".
  virtual std::string Describe() const = 0;

  // Removes every message with seq <= `seq` from the stream. Only behind a
  // stored image of `seq` or later.
  virtual Status Trim(uint64_t seq) = 0;
  // Waits up to `timeout` until every reader of the stream (every running
  // replica's) has been handed message `seq`, so a trim through it leaves
  // none behind; Unavailable saying how many still lag.
  virtual Status WaitForReaders(uint64_t seq, std::chrono::milliseconds timeout) = 0;
  // Stores the regular files of directory `dir` (names without
  // whitespace or '/') as the image of stream seq `seq`; an image is
  // complete only once every file is stored.
  virtual Status PutImage(uint64_t seq, const std::string& dir) = 0;
  // The newest complete image; nullopt if there is none.
  virtual StatusOr<std::optional<StreamImage>> LatestImage() = 0;
  // Writes image `seq`'s files into directory `dir` (created; it must not
  // exist), checking each file's size. NotFound if there is no complete
  // image of `seq`.
  virtual Status GetImage(uint64_t seq, const std::string& dir) = 0;
  // Removes the images of seqs below `seq` (they may hold what a delete
  // since took out).
  virtual Status DropImagesBefore(uint64_t seq) = 0;
};

}  // namespace streamrec::storage
