#include "storage/replica_image.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

namespace streamrec::storage {
namespace {

namespace fs = std::filesystem;

// Makes a rename in `dir` durable.
void SyncDirectory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

// The stream position of the database in `dir`; 0 if there is none.
StatusOr<uint64_t> LocalPosition(const std::string& dir, const EventLogOptions& options) {
  std::error_code ec;
  if (!fs::exists(dir, ec) || fs::is_empty(dir, ec)) return uint64_t{0};
  StatusOr<std::unique_ptr<EventLog>> log = EventLog::Open(dir, options);
  if (!log.ok()) return log.status();
  return (*log)->stream_seq();
}

}  // namespace

StatusOr<ImageLoad> LoadImageIfBehind(ReplicatedLog* stream, const std::string& dir,
                                      const EventLogOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  ImageLoad out;
  StatusOr<StreamPosition> pos = stream->Position();
  if (!pos.ok()) return pos.status();
  out.stream_first = pos->first_seq;
  StatusOr<uint64_t> local = LocalPosition(dir, options);
  if (!local.ok()) return local.status();
  out.local_seq = *local;
  if (pos->first_seq <= out.local_seq + 1) return out;  // the stream still holds what comes next
  StatusOr<std::optional<StreamImage>> image = stream->LatestImage();
  if (!image.ok()) return image.status();
  if (!*image || (*image)->seq + 1 < pos->first_seq) {
    return Status::FailedPrecondition(fmt::format(
        "the cluster's stream starts at seq {} and this replica's database is at {}, but no "
        "stored image reaches seq {}: this replica cannot catch up",
        pos->first_seq, out.local_seq, pos->first_seq - 1));
  }
  out.image = **image;
  const std::string fetched = dir + ".image";
  std::error_code ec;
  fs::remove_all(fetched, ec);
  STREAMREC_RETURN_IF_ERROR(stream->GetImage(out.image.seq, fetched));
  {
    StatusOr<std::unique_ptr<EventLog>> check = EventLog::Open(fetched, options);
    if (!check.ok()) {
      return Status::Corruption(fmt::format("the image of stream seq {} does not open: {}",
                                            out.image.seq, check.status().message()));
    }
    if ((*check)->stream_seq() != out.image.seq) {
      return Status::Corruption(fmt::format("the image of stream seq {} holds seq {}",
                                            out.image.seq, (*check)->stream_seq()));
    }
  }
  fs::remove_all(dir, ec);
  if (ec) return Status::IOError(fmt::format("removing '{}': {}", dir, ec.message()));
  fs::rename(fetched, dir, ec);
  if (ec) return Status::IOError(fmt::format("moving the image into '{}': {}", dir, ec.message()));
  SyncDirectory(fs::absolute(dir).parent_path());
  out.loaded = true;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

StatusOr<StreamImage> PublishImage(EventLog* log, const std::string& dir, ReplicatedLog* stream) {
  const std::string out = dir + ".image-out";
  std::error_code ec;
  fs::remove_all(out, ec);
  StatusOr<uint64_t> seq = log->Checkpoint(out);
  StreamImage image;
  Status st = seq.status();
  if (st.ok()) {
    image.seq = *seq;
    for (const auto& e : fs::directory_iterator(out, ec)) {
      if (!e.is_regular_file()) continue;
      ++image.files;
      image.bytes += e.file_size();
    }
    st = stream->PutImage(image.seq, out);
  }
  fs::remove_all(out, ec);
  if (!st.ok()) return st;
  return image;
}

}  // namespace streamrec::storage
