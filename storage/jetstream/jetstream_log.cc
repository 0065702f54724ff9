#include "storage/jetstream/jetstream_log.h"

#include <fmt/format.h>
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "storage/jetstream/jetstream_impl.h"

namespace streamrec::storage {
namespace jetstream_internal {

std::string NatsError(std::string_view what, natsStatus s, jsErrCode jerr) {
  std::string text = fmt::format("{}: {}", what, natsStatus_GetText(s));
  if (jerr != 0) text += fmt::format(" (JetStream error {})", static_cast<int>(jerr));
  // The client's own detail ("no server available", the server's -ERR).
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  if (detail != nullptr && *detail != '\0' && last == s) text += fmt::format(": {}", detail);
  return text;
}

bool Transient(natsStatus s, jsErrCode jerr) {
  if (jerr == JSStreamMessageExceedsMaximumErr || jerr == JSStreamNotFoundErr) return false;
  return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_NOT_YET_CONNECTED ||
         s == NATS_CONNECTION_DISCONNECTED || s == NATS_IO_ERROR || s == NATS_ERR ||
         s == NATS_NO_SERVER || s == NATS_STALE_CONNECTION || jerr == JSClusterNotAvailErr;
}

}  // namespace jetstream_internal

using jetstream_internal::Clock;
using jetstream_internal::NatsError;
using jetstream_internal::Transient;

Status JetStreamLog::Impl::EnsureStream() {
  const Clock::time_point deadline = Clock::now() + options.open_timeout;
  std::string last;
  for (;;) {
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    jsOptions o = RequestOptions();
    natsStatus s = js_GetStreamInfo(&si, js, options.stream.c_str(), &o, &jerr);
    if (s == NATS_OK) {
      const jsStreamConfig& c = *si->Config;
      const bool limited = c.MaxMsgs > 0 || c.MaxBytes > 0 || c.MaxAge > 0 ||
                           c.MaxMsgsPerSubject > 0 || c.Retention != js_LimitsPolicy;
      bool has_subject = false;
      for (int k = 0; k < c.SubjectsLen; ++k) has_subject |= subject == c.Subjects[k];
      jsStreamInfo_Destroy(si);
      if (limited) {
        return Status::FailedPrecondition(fmt::format(
            "JetStream stream '{}' has limits or a retention policy that drop messages; "
            "streamrec's replicas replay the whole stream, so it must keep every message",
            options.stream));
      }
      if (!has_subject) {
        return Status::FailedPrecondition(
            fmt::format("JetStream stream '{}' exists but does not take subject '{}'",
                        options.stream, subject));
      }
      return Status::OK();
    }
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
      s = AddStream(options.stream, subject, &jerr);
      if (s == NATS_OK) return Status::OK();
      // Another replica may have created it meanwhile: look again.
      last = NatsError("creating the stream", s, jerr);
    } else {
      last = NatsError("reading the stream's info", s, jerr);
    }
    if (Clock::now() >= deadline) {
      return Status::Unavailable(fmt::format("JetStream stream '{}' not ready after {} s: {}",
                                             options.stream, options.open_timeout.count() / 1000,
                                             last));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// Creates stream `name` on `subject`: file storage, options.replicas,
// no limits, two minutes of message ids (longer than any retry of one
// append or image chunk).
natsStatus JetStreamLog::Impl::AddStream(const std::string& name, const std::string& subj,
                                         jsErrCode* jerr) {
  jsOptions o = RequestOptions();
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = name.c_str();
  const char* subjects[] = {subj.c_str()};
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Replicas = options.replicas;
  cfg.Retention = js_LimitsPolicy;
  cfg.Duplicates = int64_t{120} * 1000 * 1000 * 1000;
  *jerr = static_cast<jsErrCode>(0);
  jsStreamInfo* si = nullptr;
  const natsStatus s = js_AddStream(&si, js, &cfg, &o, jerr);
  if (s == NATS_OK) jsStreamInfo_Destroy(si);
  return s;
}

// (Re)creates the ordered consumer at `next`.
Status JetStreamLog::Impl::Subscribe() {
  if (sub != nullptr) {
    natsSubscription_Destroy(sub);
    sub = nullptr;
  }
  jsOptions o = RequestOptions();
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = options.stream.c_str();
  so.Ordered = true;
  so.Config.DeliverPolicy = js_DeliverByStartSequence;
  so.Config.OptStartSeq = next;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_SubscribeSync(&sub, js, subject.c_str(), &o, &so, &jerr);
  if (s != NATS_OK) {
    sub = nullptr;
    return Status::Unavailable(NatsError("starting the stream's consumer", s, jerr));
  }
  // Flow control bounds what the server sends ahead; the client's own
  // slow-consumer limit must not drop what it let through.
  natsSubscription_SetPendingLimits(sub, -1, 256 << 20);
  last_progress = Clock::now();
  return Status::OK();
}

void JetStreamLog::Impl::Restart() {
  restarts.fetch_add(1);
  (void)Subscribe();  // on failure Read tries again
}

// Publishes `data` to `subj` with Nats-Msg-Id `id` and `headers`,
// retrying transient failures with the same id until publish_timeout.
StatusOr<uint64_t> JetStreamLog::Impl::Publish(
    const std::string& subj, std::string_view id, std::string_view data,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  const std::string msg_id(id);
  const Clock::time_point deadline = Clock::now() + options.publish_timeout;
  std::string last;
  for (int attempt = 0;; ++attempt) {
    natsMsg* msg = nullptr;
    natsStatus s =
        natsMsg_Create(&msg, subj.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
    for (const auto& [k, v] : headers) {
      if (s == NATS_OK) s = natsMsgHeader_Set(msg, k.c_str(), v.c_str());
    }
    if (s != NATS_OK) {
      natsMsg_Destroy(msg);
      return Status::Internal(NatsError("creating a message", s, static_cast<jsErrCode>(0)));
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id.c_str();
    po.MaxWait = options.request_timeout.count();
    jsPubAck* ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    s = js_PublishMsg(&ack, js, msg, &po, &jerr);
    natsMsg_Destroy(msg);
    if (s == NATS_OK) {
      const uint64_t seq = ack->Sequence;
      jsPubAck_Destroy(ack);
      return seq;
    }
    last = NatsError("publishing to the stream", s, jerr);
    if (s == NATS_MAX_PAYLOAD || jerr == JSStreamMessageExceedsMaximumErr) {
      return Status::InvalidArgument(last);
    }
    if (!Transient(s, jerr) || Clock::now() >= deadline) break;
    // A short pause, growing: an election takes seconds, a blip less.
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50 * (attempt + 1), 500)));
  }
  return Status::Unavailable(
      fmt::format("the cluster's stream takes no writes now (retry shortly): {}", last));
}

// Whether every seq in [from, to) was deleted one by one; FailedPrecondition
// when some lie below the stream's first seq (trimmed: the replica must
// load an image, docs/DESIGN.md section 10).
StatusOr<bool> JetStreamLog::Impl::Deleted(uint64_t from, uint64_t to) {
  jsOptions o = RequestOptions();
  o.Stream.Info.DeletedDetails = true;
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js, options.stream.c_str(), &o, &jerr);
  if (s != NATS_OK) return Status::Unavailable(NatsError("reading the stream's info", s, jerr));
  std::unordered_set<uint64_t> deleted(si->State.Deleted, si->State.Deleted + si->State.DeletedLen);
  const uint64_t first = si->State.FirstSeq;
  jsStreamInfo_Destroy(si);
  if (from < first) return Trimmed(from, first);
  for (uint64_t k = from; k < to; ++k) {
    if (!deleted.contains(k)) return false;
  }
  return true;
}

Status JetStreamLog::Impl::Trimmed(uint64_t next_seq, uint64_t first) const {
  return Status::FailedPrecondition(fmt::format(
      "the stream was trimmed: it starts at seq {} and this replica needs {} next. Restart it: "
      "it then loads the newest image instead of replaying",
      first, next_seq));
}

JetStreamLog::JetStreamLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JetStreamLog::~JetStreamLog() = default;

StatusOr<std::unique_ptr<JetStreamLog>> JetStreamLog::Open(const JetStreamOptions& options) {
  if (options.urls.empty()) return Status::InvalidArgument("no NATS server URL");
  if (options.stream.empty() ||
      options.stream.find_first_of(" .*>\t\r\n/\\") != std::string::npos) {
    return Status::InvalidArgument(fmt::format(
        "stream name '{}': must be non-empty, without spaces, '.', '*', '>', '/' or '\\'",
        options.stream));
  }
  if (options.replicas != 1 && options.replicas != 3 && options.replicas != 5) {
    return Status::InvalidArgument(
        fmt::format("stream replicas {}: must be 1, 3 or 5", options.replicas));
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->subject = options.stream + ".log";
  impl->images_stream = options.stream + "-images";
  impl->images_prefix = options.stream + ".images.";
  natsOptions* no = nullptr;
  if (natsOptions_Create(&no) != NATS_OK) return Status::Internal("natsOptions_Create failed");
  std::vector<const char*> servers;
  for (const std::string& u : options.urls) servers.push_back(u.c_str());
  natsStatus s = natsOptions_SetServers(no, servers.data(), static_cast<int>(servers.size()));
  // Reconnect for ever: a replica outlives any one NATS server's restart.
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(no, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(no, 100);
  if (s == NATS_OK) s = natsOptions_SetTimeout(no, options.request_timeout.count());
  if (s == NATS_OK) s = natsOptions_SetNoRandomize(no, false);
  if (s != NATS_OK) {
    natsOptions_Destroy(no);
    return Status::InvalidArgument(NatsError("NATS options", s, static_cast<jsErrCode>(0)));
  }
  const Clock::time_point deadline = Clock::now() + options.open_timeout;
  for (;;) {
    s = natsConnection_Connect(&impl->nc, no);
    if (s == NATS_OK || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  natsOptions_Destroy(no);
  if (s != NATS_OK) {
    impl->nc = nullptr;
    return Status::Unavailable(
        NatsError(fmt::format("connecting to NATS at {}", fmt::join(options.urls, ",")), s,
                  static_cast<jsErrCode>(0)));
  }
  jsOptions o = impl->RequestOptions();
  s = natsConnection_JetStream(&impl->js, impl->nc, &o);
  if (s != NATS_OK) {
    impl->js = nullptr;
    return Status::Unavailable(NatsError("JetStream context", s, static_cast<jsErrCode>(0)));
  }
  STREAMREC_RETURN_IF_ERROR(impl->EnsureStream());
  STREAMREC_RETURN_IF_ERROR(impl->EnsureImages());
  return std::unique_ptr<JetStreamLog>(new JetStreamLog(std::move(impl)));
}

StatusOr<uint64_t> JetStreamLog::Append(std::string_view id, std::string_view data) {
  if (data.size() > max_message_bytes()) {
    return Status::InvalidArgument(fmt::format(
        "a stream message of {} bytes is over the NATS servers' max_payload of {} bytes",
        data.size(), max_message_bytes()));
  }
  return impl_->Publish(impl_->subject, id, data, {});
}

size_t JetStreamLog::max_message_bytes() const {
  // The servers' max_payload as the connection last learned it (0 while
  // disconnected: then NATS's default, 1 MB), less room for the headers
  // (Nats-Msg-Id).
  int64_t m = natsConnection_GetMaxPayload(impl_->nc);
  if (m <= 4096) m = int64_t{1} << 20;
  return static_cast<size_t>(m - 1024);
}

Status JetStreamLog::StartReading(uint64_t from) {
  impl_->next = std::max<uint64_t>(from, 1);
  // A start below the stream's first seq silently starts at the first.
  StatusOr<StreamPosition> pos = Position();
  if (!pos.ok()) return pos.status();
  if (pos->first_seq > impl_->next) return impl_->Trimmed(impl_->next, pos->first_seq);
  return impl_->Subscribe();
}

StatusOr<std::vector<StreamMessage>> JetStreamLog::Read(size_t max,
                                                        std::chrono::milliseconds timeout) {
  std::vector<StreamMessage> out;
  Impl& r = *impl_;
  if (r.sub == nullptr) {
    std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds(200)));
    STREAMREC_RETURN_IF_ERROR(r.Subscribe());
  }
  int64_t wait_ms = std::max<int64_t>(timeout.count(), 1);
  while (out.size() < max) {
    natsMsg* msg = nullptr;
    natsStatus s = natsSubscription_NextMsg(&msg, r.sub, wait_ms);
    if (s == NATS_TIMEOUT) {
      if (out.empty() && Clock::now() - r.last_progress >= r.options.stall_timeout) {
        // Nothing for a while: fine if the stream has nothing new, a dead
        // consumer if it has.
        StatusOr<StreamPosition> pos = Position();
        r.last_progress = Clock::now();
        if (pos.ok() && pos->first_seq > r.next) return r.Trimmed(r.next, pos->first_seq);
        if (pos.ok() && pos->last_seq >= r.next) r.Restart();
      }
      break;
    }
    if (s != NATS_OK) {
      // Missed heartbeats, a closed subscription: start again where we are.
      r.Restart();
      break;
    }
    jsMsgMetaData* meta = nullptr;
    s = natsMsg_GetMetaData(&meta, msg);
    if (s != NATS_OK) {
      natsMsg_Destroy(msg);
      continue;  // not a stream message (a status the client passed on)
    }
    const uint64_t seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
    if (seq < r.next) {  // seen already (a restarted consumer)
      natsMsg_Destroy(msg);
      continue;
    }
    if (seq > r.next) {
      StatusOr<bool> deleted = r.Deleted(r.next, seq);
      if (!deleted.ok() && deleted.status().code() == StatusCode::kFailedPrecondition) {
        natsMsg_Destroy(msg);
        return deleted.status();
      }
      if (!deleted.ok() || !*deleted) {
        natsMsg_Destroy(msg);
        r.Restart();  // from r.next, the first one missing
        break;
      }
    }
    out.push_back(StreamMessage{
        seq, std::string(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)))});
    natsMsg_Destroy(msg);
    r.next = seq + 1;
    r.last_progress = Clock::now();
    wait_ms = 1;  // the rest: only what has arrived
    int pending = 0, bytes = 0;
    if (natsSubscription_GetPending(r.sub, &pending, &bytes) != NATS_OK || pending == 0) break;
  }
  return out;
}

StatusOr<StreamPosition> JetStreamLog::Position() {
  jsOptions o = impl_->RequestOptions();
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, impl_->js, impl_->options.stream.c_str(), &o, &jerr);
  if (s != NATS_OK) return Status::Unavailable(NatsError("reading the stream's info", s, jerr));
  // An empty stream that had messages (all trimmed) starts after its last.
  const bool never = si->State.Msgs == 0 && si->State.LastSeq == 0;
  StreamPosition p{never ? 0 : std::max(si->State.FirstSeq, uint64_t{1}), si->State.LastSeq};
  jsStreamInfo_Destroy(si);
  return p;
}

Status JetStreamLog::Delete(uint64_t seq) {
  jsOptions o = impl_->RequestOptions();
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_DeleteMsg(impl_->js, impl_->options.stream.c_str(), seq, &o, &jerr);
  if (s == NATS_OK) return Status::OK();
  if (jerr == JSNoMessageFoundErr || jerr == JSSequenceNotFoundErr) {
    return Status::NotFound(fmt::format("stream message {} is not there", seq));
  }
  return Status::Unavailable(NatsError(fmt::format("deleting stream message {}", seq), s, jerr));
}

std::string JetStreamLog::Describe() const {
  return fmt::format("{} stream {} (R{})", fmt::join(impl_->options.urls, ","),
                     impl_->options.stream, impl_->options.replicas);
}

uint64_t JetStreamLog::reader_restarts() const { return impl_->restarts.load(); }

Status JetStreamLog::Trim(uint64_t seq) {
  jsOptions o = impl_->RequestOptions();
  o.Stream.Purge.Sequence = seq + 1;  // "up to but not including"
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_PurgeStream(impl_->js, impl_->options.stream.c_str(), &o, &jerr);
  if (s == NATS_OK) return Status::OK();
  return Status::Unavailable(
      NatsError(fmt::format("trimming the stream through seq {}", seq), s, jerr));
}

Status JetStreamLog::WaitForReaders(uint64_t seq, std::chrono::milliseconds timeout) {
  // The replicas' ordered consumers: what each was handed last. A
  // message handed over is in that replica's client buffer and is applied
  // whatever happens to the stream after.
  const Clock::time_point deadline = Clock::now() + timeout;
  for (;;) {
    jsOptions o = impl_->RequestOptions();
    jsConsumerInfoList* list = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_Consumers(&list, impl_->js, impl_->options.stream.c_str(), &o, &jerr);
    if (s != NATS_OK && s != NATS_NOT_FOUND) {
      return Status::Unavailable(NatsError("listing the stream's consumers", s, jerr));
    }
    int behind = 0;
    if (list != nullptr) {
      for (int k = 0; k < list->Count; ++k) behind += list->List[k]->Delivered.Stream < seq;
      jsConsumerInfoList_Destroy(list);
    }
    if (behind == 0) return Status::OK();
    if (Clock::now() >= deadline) {
      return Status::Unavailable(
          fmt::format("{} reader(s) of the stream had not reached seq {} after {} ms", behind, seq,
                      timeout.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace streamrec::storage
