// JetStreamLog: the cluster's ReplicatedLog (storage/replicated_log.h) on a
// NATS JetStream stream, through the NATS C client (libnats). One subject,
// "<stream>.log"; the stream's sequence is the total order.
//
//   Append  js_PublishMsg with Nats-Msg-Id = the record's id; a timeout or
//           an error while the stream has no leader is retried with the
//           same id (the stream's duplicate window stores it once) until
//           publish_timeout, then Unavailable.
//   Read    an ordered consumer (ephemeral, no acks, flow control and
//           heartbeats; the client itself restarts it on a gap in the
//           consumer's sequence) started at the replica's own position.
//           Each stream seq is checked against the previous + 1: a gap is
//           accepted only when the messages in it were deleted, otherwise
//           the consumer is started again at the first missing seq; one
//           that delivers nothing for stall_timeout while the stream is
//           ahead is started again too (its server may have died). A
//           seq below the stream's first (trimmed) is FailedPrecondition.
//   Images  a second stream, "<stream>-images", one subject per image
//           upload ("<stream>.images.<seq>_<upload id>"): the files in
//           chunks of up to 1 MiB, then a manifest naming every chunk's
//           seq there. Trim purges the log stream up to a seq.
//
// Thread-safety: as ReplicatedLog. libnats connections are thread-safe;
// the reader's state is the reader thread's.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "storage/replicated_log.h"

namespace streamrec::storage {

struct JetStreamOptions {
  // NATS servers, any of the cluster's ("nats://host:port"); the client
  // finds the others and fails over between them.
  std::vector<std::string> urls;
  std::string stream = "streamrec";
  // JetStream replicas of the stream when this replica creates it (1, 3 or
  // 5; an existing stream keeps its own).
  int replicas = 3;
  // How long one Append keeps retrying (a leader election takes 4-8 s).
  std::chrono::milliseconds publish_timeout{10000};
  // One JetStream API request (publish ack, stream info, delete).
  std::chrono::milliseconds request_timeout{2000};
  // A reader that got nothing for this long while the stream is ahead is
  // started again.
  std::chrono::milliseconds stall_timeout{2000};
  // How long Open waits for the servers and the stream (a cluster that is
  // still electing its JetStream leader answers nothing useful).
  std::chrono::milliseconds open_timeout{30000};
};

class JetStreamLog final : public ReplicatedLog {
 public:
  // Connects, and finds or creates the stream (no limits: every message is
  // kept until deleted, because replicas replay it whole). Refuses a stream
  // of that name with limits that would drop messages.
  static StatusOr<std::unique_ptr<JetStreamLog>> Open(const JetStreamOptions& options);
  ~JetStreamLog() override;
  JetStreamLog(const JetStreamLog&) = delete;
  JetStreamLog& operator=(const JetStreamLog&) = delete;

  StatusOr<uint64_t> Append(std::string_view id, std::string_view data) override;
  size_t max_message_bytes() const override;
  Status StartReading(uint64_t from) override;
  StatusOr<std::vector<StreamMessage>> Read(size_t max, std::chrono::milliseconds timeout) override;
  StatusOr<StreamPosition> Position() override;
  Status Delete(uint64_t seq) override;
  std::string Describe() const override;
  Status Trim(uint64_t seq) override;
  Status WaitForReaders(uint64_t seq, std::chrono::milliseconds timeout) override;
  Status PutImage(uint64_t seq, const std::string& dir) override;
  StatusOr<std::optional<StreamImage>> LatestImage() override;
  Status GetImage(uint64_t seq, const std::string& dir) override;
  Status DropImagesBefore(uint64_t seq) override;

  // Times the reader was started again (gaps, stalls, errors): for status.
  uint64_t reader_restarts() const;

 private:
  struct Impl;
  explicit JetStreamLog(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace streamrec::storage
