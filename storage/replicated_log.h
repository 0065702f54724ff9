// ReplicatedLog: the log of record when streamrec runs as several replicas
// (README "Cluster", docs/DESIGN.md section 10). A totally ordered stream of
// messages that every replica reads whole, in order, and applies with the
// same deterministic engine; the local EventLog then caches what was
// applied. storage/jetstream/ implements it on NATS JetStream; LiveStore
// only sees this interface, so storage/ itself never needs NATS and the
// single process (no ReplicatedLog) never touches it.
//
// Thread-safety: Append, Delete, Position and Describe from any thread;
// StartReading and Read from one reader thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
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
  uint64_t first_seq = 0;  // oldest message held (0: empty)
  uint64_t last_seq = 0;   // newest message appended (0: none ever)
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
  // on. FailedPrecondition if messages from `from` on are no longer held
  // (the stream's first seq is beyond it and the ones between were not
  // deleted one by one): this replica cannot catch up from the stream.
  virtual Status StartReading(uint64_t from) = 0;
  // Up to `max` messages in stream order, waiting up to `timeout` for the
  // first (none: an empty vector). Never skips one: a seq beyond the
  // previous one + 1 is accepted only when the messages between were
  // deleted; otherwise the reader starts again from the first missing one.
  // A reader that stalls while the stream is ahead is restarted.
  virtual StatusOr<std::vector<StreamMessage>> Read(size_t max,
                                                    std::chrono::milliseconds timeout) = 0;

  // The stream's extent now (a request to the stream's leader).
  virtual StatusOr<StreamPosition> Position() = 0;
  // Removes message `seq` from the stream (every replica of it): NotFound
  // if it is not there.
  virtual Status Delete(uint64_t seq) = 0;
  // For status pages: "nats://127.0.0.1:4222 stream streamrec (R3)".
  virtual std::string Describe() const = 0;
};

}  // namespace streamrec::storage
