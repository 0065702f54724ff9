#include "storage/snapshot_pipe.h"

#include <utility>

namespace streamrec::storage {

Status SnapshotPipe::Begin(uint64_t bytes) {
  MutexLock lock(&mu_);
  if (abandoned_) return abandon_status_;
  size_ = bytes;
  changed_.SignalAll();
  return Status::OK();
}

Status SnapshotPipe::Piece(std::string&& piece) {
  MutexLock lock(&mu_);
  while (!abandoned_ && pieces_.size() >= capacity_) changed_.Wait(&mu_);
  if (abandoned_) return abandon_status_;
  pieces_.push_back(std::move(piece));
  changed_.SignalAll();
  return Status::OK();
}

void SnapshotPipe::Close(Status st) {
  MutexLock lock(&mu_);
  closed_ = true;
  close_status_ = std::move(st);
  closed_at_ = std::chrono::steady_clock::now();
  changed_.SignalAll();
}

StatusOr<uint64_t> SnapshotPipe::Size() {
  MutexLock lock(&mu_);
  while (!size_ && !closed_) changed_.Wait(&mu_);
  if (!close_status_.ok()) return close_status_;
  if (!size_) return Status::Internal("a snapshot's encoder closed before giving its size");
  return *size_;
}

StatusOr<std::optional<std::string>> SnapshotPipe::Next() {
  MutexLock lock(&mu_);
  while (pieces_.empty() && !closed_) changed_.Wait(&mu_);
  // An encoder's error wins over the pieces before it: they are no snapshot.
  if (!close_status_.ok()) return close_status_;
  if (pieces_.empty()) return std::optional<std::string>();
  std::string piece = std::move(pieces_.front());
  pieces_.pop_front();
  changed_.SignalAll();
  return std::optional<std::string>(std::move(piece));
}

void SnapshotPipe::Abandon(const Status& why) {
  std::deque<std::string> freed;
  {
    MutexLock lock(&mu_);
    if (abandoned_) return;
    abandoned_ = true;
    abandon_status_ =
        why.ok()
            ? Status::Internal("the snapshot's reader has stopped: it took all it was announced")
            : why;
    freed.swap(pieces_);
    changed_.SignalAll();
  }
}

std::chrono::steady_clock::time_point SnapshotPipe::closed_at() {
  MutexLock lock(&mu_);
  return closed_at_;
}

}  // namespace streamrec::storage
