// SnapshotPipe: a snapshot's bytes from the thread that encodes it (the
// model thread: the engine copy it reads holds still only there) to the
// one that stores it (EventLog::PutSnapshot), a few pieces at a time. With
// the whole snapshot encoded into one string first (~250 MB at 500k users x
// 5M events), a scheduled snapshot held that on top of the model until it
// was stored: RSS rose from ~550 to ~800 MB at every one.
//
// A bounded queue: the encoder waits while `capacity` pieces wait to be
// stored, so the encoder's share of the stall is at most the store's
// time; the reader waits for the next piece. Either side may end it early:
// the encoder by closing with an error (the reader gets it and stores
// nothing), the reader by abandoning (the encoder's next piece is refused,
// and pieces waiting are freed).
//
// Thread-safety: one encoder thread and one reader thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "engine/core/mutex.h"
#include "engine/core/status.h"
#include "engine/core/thread_annotations.h"
#include "engine/live/snapshot.h"

namespace streamrec::storage {

// The pieces a store's snapshot pipe holds at most (of
// EventLog::kSnapshotChunkBytes, 4 MB): enough to ride out the reader's
// pauses (a table block written, a file synced) without holding much.
inline constexpr size_t kSnapshotPipePieces = 4;

class SnapshotPipe final : public engine::SnapshotSink {
 public:
  explicit SnapshotPipe(size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // ---- the encoder's side (engine::EncodeSnapshot) ----
  Status Begin(uint64_t bytes) override;
  // Waits while `capacity` pieces wait; the reader's reason once it has
  // abandoned the pipe.
  Status Piece(std::string&& piece) override;
  // No more pieces: `st` is the encode's outcome, which a reader still
  // reading gets in place of the end. Notes the time (closed_at).
  void Close(Status st);

  // ---- the reader's side ----
  // The snapshot's size, once the encoder has begun; the encoder's error if
  // it closed before.
  StatusOr<uint64_t> Size();
  // The next piece, or nullopt at the end of a snapshot closed OK; the
  // encoder's error where it closed with one.
  StatusOr<std::optional<std::string>> Next();
  // The reader stops: waiting pieces are freed, and the encoder's next
  // piece is refused with `why` (Internal where `why` is OK: the
  // reader took all it was announced).
  void Abandon(const Status& why);
  // When Close was called (the encode's end); the epoch if not yet.
  std::chrono::steady_clock::time_point closed_at();

 private:
  const size_t capacity_;
  Mutex mu_;
  CondVar changed_;  // a piece in or out, begun, closed, abandoned
  std::deque<std::string> pieces_ GUARDED_BY(mu_);
  std::optional<uint64_t> size_ GUARDED_BY(mu_);
  bool closed_ GUARDED_BY(mu_) = false;
  Status close_status_ GUARDED_BY(mu_);
  std::chrono::steady_clock::time_point closed_at_ GUARDED_BY(mu_);
  bool abandoned_ GUARDED_BY(mu_) = false;
  Status abandon_status_ GUARDED_BY(mu_);
};

}  // namespace streamrec::storage
