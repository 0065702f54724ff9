// JetStreamLog's shared state (jetstream_log.h): the connection, the
// reader's consumer, and the requests both halves of the implementation
// make. jetstream_log.cc holds the log (open, append, read, delete, trim);
// jetstream_images.cc holds the images (put, find, get, drop). Internal to
// storage/jetstream.
//
// Thread-safety: as JetStreamLog's (the reader's state is the reader's).
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/jetstream/jetstream_log.h"

namespace streamrec::storage {
namespace jetstream_internal {

using Clock = std::chrono::steady_clock;

// "what: status (JetStream error N): the client's detail".
std::string NatsError(std::string_view what, natsStatus s, jsErrCode jerr);
// Errors that pass: the stream's leader is being elected, the connection is
// failing over, a request timed out.
bool Transient(natsStatus s, jsErrCode jerr);
// An image's manifest (jetstream_images.cc).
struct Manifest;

}  // namespace jetstream_internal

struct JetStreamLog::Impl {
  using Clock = jetstream_internal::Clock;
  using Manifest = jetstream_internal::Manifest;

  JetStreamOptions options;
  std::string subject;
  // Images (docs/DESIGN.md section 10): a stream of their own, one
  // subject per image ("<stream>.images.<seq>"): its files in chunks, then
  // a manifest naming each chunk's seq there.
  std::string images_stream;
  std::string images_prefix;
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;

  // Reader thread's state.
  natsSubscription* sub = nullptr;
  uint64_t next = 1;  // the seq Read hands out next
  Clock::time_point last_progress = Clock::now();
  std::atomic<uint64_t> restarts{0};

  ~Impl() {
    if (sub != nullptr) natsSubscription_Destroy(sub);
    if (js != nullptr) jsCtx_Destroy(js);
    if (nc != nullptr) {
      natsConnection_Close(nc);
      natsConnection_Destroy(nc);
    }
  }

  jsOptions RequestOptions() const {
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = options.request_timeout.count();
    return o;
  }

  // Finds or creates the log's stream, waiting up to open_timeout for the
  // cluster; FailedPrecondition if it has limits that drop messages or does
  // not take the subject.
  Status EnsureStream();

  // Creates stream `name` on `subject`: file storage, options.replicas,
  // no limits, two minutes of message ids (longer than any retry of one
  // append or image chunk).
  natsStatus AddStream(const std::string& name, const std::string& subj, jsErrCode* jerr);

  // Finds or creates the images stream (kept until dropped, like the log).
  Status EnsureImages();

  struct ImageSubject {
    uint64_t seq = 0;  // the image's stream seq
    std::string subject;
    uint64_t messages = 0;
  };

  // The images' subjects ("<prefix><seq>_<upload>"), oldest seq first.
  StatusOr<std::vector<ImageSubject>> ImageSubjects();

  // The newest complete image (of seq `want`, or of any when 0): its
  // subject and manifest. NotFound if there is none. An image is complete
  // when its manifest is the subject's last message and every chunk it
  // names is there.
  StatusOr<std::pair<std::string, Manifest>> FindImage(uint64_t want);

  // Message `seq` of the images stream; NotFound if it is gone.
  StatusOr<natsMsg*> GetImageMsg(uint64_t seq);

  // (Re)creates the ordered consumer at `next`.
  Status Subscribe();

  // Counts a restart and re-subscribes at `next` (Read retries on failure).
  void Restart();

  // Publishes `data` to `subj` with Nats-Msg-Id `id` and `headers`,
  // retrying transient failures with the same id until publish_timeout.
  StatusOr<uint64_t> Publish(const std::string& subj, std::string_view id, std::string_view data,
                             const std::vector<std::pair<std::string, std::string>>& headers);

  // Whether every seq in [from, to) was deleted one by one; FailedPrecondition
  // when some lie below the stream's first seq (trimmed: the replica must
  // load an image, docs/DESIGN.md section 10).
  StatusOr<bool> Deleted(uint64_t from, uint64_t to);

  // FailedPrecondition: the stream starts at `first`, past `next_seq`.
  Status Trimmed(uint64_t next_seq, uint64_t first) const;
};

}  // namespace streamrec::storage
