#include "storage/jetstream/jetstream_log.h"

#include <fmt/format.h>
#include <nats/nats.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>
#include <atomic>
#include <thread>
#include <unordered_set>

namespace streamrec::storage {
namespace {

using Clock = std::chrono::steady_clock;

std::string NatsError(std::string_view what, natsStatus s, jsErrCode jerr) {
  std::string text = fmt::format("{}: {}", what, natsStatus_GetText(s));
  if (jerr != 0) text += fmt::format(" (JetStream error {})", static_cast<int>(jerr));
  // The client's own detail ("no server available", the server's -ERR).
  natsStatus last = NATS_OK;
  const char* detail = nats_GetLastError(&last);
  if (detail != nullptr && *detail != '\0' && last == s) text += fmt::format(": {}", detail);
  return text;
}

// Errors that pass: the stream's leader is being elected, the connection is
// failing over, a request timed out.
bool Transient(natsStatus s, jsErrCode jerr) {
  if (jerr == JSStreamMessageExceedsMaximumErr || jerr == JSStreamNotFoundErr) return false;
  return s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS || s == NATS_NOT_YET_CONNECTED ||
         s == NATS_CONNECTION_DISCONNECTED || s == NATS_IO_ERROR || s == NATS_ERR ||
         s == NATS_NO_SERVER || s == NATS_STALE_CONNECTION ||
         jerr == JSClusterNotAvailErr;
}


// An image's manifest, the last message on its subject. A few lines of
// text, written and read only here:
//   streamrec-image 1
//   seq <stream seq>
//   file <name> <bytes>                        one per file, in order
//   chunk <images seq> <file> <offset> <bytes>  one per chunk, in order
struct Manifest {
  struct File {
    std::string name;
    uint64_t bytes = 0;
  };
  struct Chunk {
    uint64_t seq = 0;
    size_t file = 0;
    uint64_t offset = 0;
    uint64_t bytes = 0;
  };
  uint64_t seq = 0;
  std::vector<File> files;
  std::vector<Chunk> chunks;

  std::string Encode() const {
    std::string out = fmt::format("streamrec-image 1\nseq {}\n", seq);
    for (const File& f : files) out += fmt::format("file {} {}\n", f.name, f.bytes);
    for (const Chunk& c : chunks) {
      out += fmt::format("chunk {} {} {} {}\n", c.seq, c.file, c.offset, c.bytes);
    }
    return out;
  }
  static StatusOr<Manifest> Decode(std::string_view text) {
    std::istringstream in{std::string(text)};
    std::string word;
    int version = 0;
    Manifest m;
    if (!(in >> word >> version) || word != "streamrec-image" || version != 1 ||
        !(in >> word >> m.seq) || word != "seq") {
      return Status::Corruption("an image manifest without its header");
    }
    while (in >> word) {
      if (word == "file") {
        File f;
        if (!(in >> f.name >> f.bytes)) return Status::Corruption("a bad file line in a manifest");
        m.files.push_back(std::move(f));
      } else if (word == "chunk") {
        Chunk c;
        if (!(in >> c.seq >> c.file >> c.offset >> c.bytes) || c.file >= m.files.size()) {
          return Status::Corruption("a bad chunk line in a manifest");
        }
        m.chunks.push_back(c);
      } else {
        return Status::Corruption(fmt::format("an unknown line '{}' in a manifest", word));
      }
    }
    return m;
  }
};

constexpr const char* kManifestHeader = "Streamrec-Manifest";

}  // namespace

struct JetStreamLog::Impl {
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

  Status EnsureStream() {
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
          return Status::FailedPrecondition(fmt::format(
              "JetStream stream '{}' exists but does not take subject '{}'", options.stream,
              subject));
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
                                               options.stream,
                                               options.open_timeout.count() / 1000, last));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // Creates stream `name` on `subject`: file storage, options.replicas,
  // no limits, two minutes of message ids (longer than any retry of one
  // append or image chunk).
  natsStatus AddStream(const std::string& name, const std::string& subj, jsErrCode* jerr) {
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

  // Finds or creates the images stream (kept until dropped, like the log).
  Status EnsureImages() {
    jsOptions o = RequestOptions();
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&si, js, images_stream.c_str(), &o, &jerr);
    if (s == NATS_OK) {
      jsStreamInfo_Destroy(si);
      return Status::OK();
    }
    if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr) {
      return Status::Unavailable(NatsError("reading the images stream's info", s, jerr));
    }
    s = AddStream(images_stream, images_prefix + "*", &jerr);
    if (s == NATS_OK) return Status::OK();
    // Another replica may have created it meanwhile.
    jerr = static_cast<jsErrCode>(0);
    if (js_GetStreamInfo(&si, js, images_stream.c_str(), &o, &jerr) == NATS_OK) {
      jsStreamInfo_Destroy(si);
      return Status::OK();
    }
    return Status::Unavailable(NatsError("creating the images stream", s, jerr));
  }

  struct ImageSubject {
    uint64_t seq = 0;  // the image's stream seq
    std::string subject;
    uint64_t messages = 0;
  };
  // The images' subjects ("<prefix><seq>_<upload>"), oldest seq first.
  StatusOr<std::vector<ImageSubject>> ImageSubjects() {
    jsOptions o = RequestOptions();
    const std::string filter = images_prefix + "*";
    o.Stream.Info.SubjectsFilter = filter.c_str();
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&si, js, images_stream.c_str(), &o, &jerr);
    if (s != NATS_OK) return Status::Unavailable(NatsError("listing the images", s, jerr));
    std::vector<ImageSubject> out;
    if (si->State.Subjects != nullptr) {
      for (int k = 0; k < si->State.Subjects->Count; ++k) {
        const jsStreamStateSubject& e = si->State.Subjects->List[k];
        std::string_view name(e.Subject);
        if (!name.starts_with(images_prefix)) continue;
        name.remove_prefix(images_prefix.size());
        uint64_t seq = 0;
        auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), seq);
        if (ec == std::errc() && end != name.data() + name.size() && *end == '_') {
          out.push_back({seq, e.Subject, e.Msgs});
        }
      }
    }
    jsStreamInfo_Destroy(si);
    std::sort(out.begin(), out.end(),
              [](const ImageSubject& x, const ImageSubject& y) { return x.seq < y.seq; });
    return out;
  }

  // The newest complete image (of seq `want`, or of any when 0): its
  // subject and manifest. NotFound if there is none. An image is complete
  // when its manifest is the subject's last message and every chunk it
  // names is there.
  StatusOr<std::pair<std::string, Manifest>> FindImage(uint64_t want) {
    StatusOr<std::vector<ImageSubject>> subjects = ImageSubjects();
    if (!subjects.ok()) return subjects.status();
    for (auto it = subjects->rbegin(); it != subjects->rend(); ++it) {
      if (want != 0 && it->seq != want) continue;
      jsOptions o = RequestOptions();
      natsMsg* msg = nullptr;
      jsErrCode jerr = static_cast<jsErrCode>(0);
      natsStatus s = js_GetLastMsg(&msg, js, images_stream.c_str(), it->subject.c_str(), &o, &jerr);
      if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) continue;  // dropped meanwhile
      if (s != NATS_OK) return Status::Unavailable(NatsError("reading an image's manifest", s, jerr));
      const char* flag = nullptr;
      const bool is_manifest = natsMsgHeader_Get(msg, kManifestHeader, &flag) == NATS_OK;
      StatusOr<Manifest> m =
          is_manifest ? Manifest::Decode(std::string_view(
                            natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg))))
                      : StatusOr<Manifest>(Status::NotFound("no manifest"));
      natsMsg_Destroy(msg);
      if (!m.ok() || m->seq != it->seq || it->messages != m->chunks.size() + 1) continue;
      return std::make_pair(it->subject, std::move(m).value());
    }
    return Status::NotFound(want != 0 ? fmt::format("no complete image of stream seq {}", want)
                                      : std::string("no complete image"));
  }

  // Message `seq` of the images stream; NotFound if it is gone.
  StatusOr<natsMsg*> GetImageMsg(uint64_t seq) {
    jsOptions o = RequestOptions();
    natsMsg* msg = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetMsg(&msg, js, images_stream.c_str(), seq, &o, &jerr);
    if (s == NATS_OK) return msg;
    if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr) {
      return Status::NotFound(fmt::format("image message {} is gone", seq));
    }
    return Status::Unavailable(NatsError(fmt::format("reading image message {}", seq), s, jerr));
  }

  // (Re)creates the ordered consumer at `next`.
  Status Subscribe() {
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

  void Restart() {
    restarts.fetch_add(1);
    (void)Subscribe();  // on failure Read tries again
  }

  // Publishes `data` to `subj` with Nats-Msg-Id `id` and `headers`,
  // retrying transient failures with the same id until publish_timeout.
  StatusOr<uint64_t> Publish(const std::string& subj, std::string_view id, std::string_view data,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
    const std::string msg_id(id);
    const Clock::time_point deadline = Clock::now() + options.publish_timeout;
    std::string last;
    for (int attempt = 0;; ++attempt) {
      natsMsg* msg = nullptr;
      natsStatus s = natsMsg_Create(&msg, subj.c_str(), nullptr, data.data(),
                                    static_cast<int>(data.size()));
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
  StatusOr<bool> Deleted(uint64_t from, uint64_t to) {
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

  Status Trimmed(uint64_t next_seq, uint64_t first) const {
    return Status::FailedPrecondition(fmt::format(
        "the stream was trimmed: it starts at seq {} and this replica needs {} next. Restart it: "
        "it then loads the newest image instead of replaying",
        first, next_seq));
  }

};

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
    return Status::Unavailable(NatsError(
        fmt::format("connecting to NATS at {}", fmt::join(options.urls, ",")), s,
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
      return Status::Unavailable(fmt::format(
          "{} reader(s) of the stream had not reached seq {} after {} ms", behind, seq,
          timeout.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

Status JetStreamLog::PutImage(uint64_t seq, const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> paths;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) paths.push_back(e.path());
  }
  if (ec) return Status::IOError(fmt::format("listing '{}': {}", dir, ec.message()));
  std::sort(paths.begin(), paths.end());
  // One subject per upload: two replicas imaging the same seq at once do
  // not interleave on one subject.
  std::mt19937_64 rng(std::random_device{}());
  const std::string subject = fmt::format("{}{}_{:016x}", impl_->images_prefix, seq, rng());
  const size_t chunk = std::min<size_t>(max_message_bytes() - 512, size_t{1} << 20);
  Manifest m;
  m.seq = seq;
  std::string buf(chunk, '\0');
  for (const fs::path& p : paths) {
    const std::string name = p.filename().string();
    if (name.find_first_of(" \t\r\n/") != std::string::npos) {
      return Status::InvalidArgument(fmt::format("image file name '{}' has whitespace", name));
    }
    std::ifstream in(p, std::ios::binary);
    if (!in) return Status::IOError(fmt::format("reading '{}'", p.string()));
    const size_t index = m.files.size();
    m.files.push_back({name, 0});
    for (;;) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      const size_t got = static_cast<size_t>(in.gcount());
      if (got == 0) break;
      const uint64_t offset = m.files.back().bytes;
      StatusOr<uint64_t> at = impl_->Publish(
          subject, fmt::format("{}-{}", subject, m.chunks.size()), std::string_view(buf.data(), got),
          {{"Streamrec-File", name}, {"Streamrec-Offset", std::to_string(offset)}});
      if (!at.ok()) return at.status();
      m.chunks.push_back({*at, index, offset, got});
      m.files.back().bytes += got;
      if (got < buf.size()) break;
    }
    if (in.bad()) return Status::IOError(fmt::format("reading '{}'", p.string()));
  }
  const std::string text = m.Encode();
  if (text.size() > max_message_bytes()) {
    return Status::InvalidArgument(fmt::format("the image's manifest takes {} bytes", text.size()));
  }
  StatusOr<uint64_t> at =
      impl_->Publish(subject, subject + "-manifest", text, {{kManifestHeader, "1"}});
  return at.status();
}

StatusOr<std::optional<StreamImage>> JetStreamLog::LatestImage() {
  StatusOr<std::pair<std::string, Manifest>> found = impl_->FindImage(0);
  if (!found.ok() && found.status().code() == StatusCode::kNotFound) {
    return std::optional<StreamImage>();
  }
  if (!found.ok()) return found.status();
  StreamImage image{found->second.seq, found->second.files.size(), 0};
  for (const Manifest::File& f : found->second.files) image.bytes += f.bytes;
  return std::optional<StreamImage>(image);
}

Status JetStreamLog::GetImage(uint64_t seq, const std::string& dir) {
  namespace fs = std::filesystem;
  StatusOr<std::pair<std::string, Manifest>> found = impl_->FindImage(seq);
  if (!found.ok()) return found.status();
  const Manifest& m = found->second;
  std::error_code ec;
  if (!fs::create_directory(dir, ec)) {
    return Status::IOError(
        fmt::format("creating '{}': {}", dir, ec ? ec.message() : "it exists already"));
  }
  std::FILE* out = nullptr;
  size_t open_file = m.files.size();
  uint64_t written = 0;
  auto close_file = [&]() -> Status {
    if (out == nullptr) return Status::OK();
    const bool ok = std::fflush(out) == 0 && ::fsync(fileno(out)) == 0;
    std::fclose(out);
    out = nullptr;
    if (!ok) return Status::IOError(fmt::format("writing '{}'", m.files[open_file].name));
    if (written != m.files[open_file].bytes) {
      return Status::Corruption(fmt::format("image file '{}': {} bytes, the manifest says {}",
                                            m.files[open_file].name, written,
                                            m.files[open_file].bytes));
    }
    return Status::OK();
  };
  auto open = [&](size_t file) -> Status {
    STREAMREC_RETURN_IF_ERROR(close_file());
    open_file = file;
    written = 0;
    out = std::fopen((fs::path(dir) / m.files[file].name).c_str(), "wb");
    if (out == nullptr) return Status::IOError(fmt::format("creating '{}'", m.files[file].name));
    return Status::OK();
  };
  std::vector<bool> opened(m.files.size(), false);
  Status st;
  for (const Manifest::Chunk& c : m.chunks) {
    if (c.file != open_file) {
      if (opened[c.file]) {
        st = Status::Corruption("an image manifest whose chunks of one file are not together");
        break;
      }
      opened[c.file] = true;
      if (st = open(c.file); !st.ok()) break;
    }
    StatusOr<natsMsg*> msg = impl_->GetImageMsg(c.seq);
    if (!msg.ok()) {
      st = msg.status();
      break;
    }
    const size_t n = static_cast<size_t>(natsMsg_GetDataLength(*msg));
    const bool fits = n == c.bytes && c.offset == written;
    const bool put = fits && std::fwrite(natsMsg_GetData(*msg), 1, n, out) == n;
    natsMsg_Destroy(*msg);
    if (!fits) {
      st = Status::Corruption(fmt::format("image chunk {} does not fit its manifest", c.seq));
      break;
    }
    if (!put) {
      st = Status::IOError(fmt::format("writing '{}'", m.files[c.file].name));
      break;
    }
    written += n;
  }
  if (Status closed = close_file(); st.ok()) st = closed;
  // Files with no bytes have no chunk.
  for (size_t f = 0; st.ok() && f < m.files.size(); ++f) {
    if (opened[f]) continue;
    if (m.files[f].bytes != 0) {
      st = Status::Corruption(fmt::format("image file '{}' has no chunks", m.files[f].name));
      break;
    }
    std::FILE* empty = std::fopen((fs::path(dir) / m.files[f].name).c_str(), "wb");
    if (empty == nullptr) st = Status::IOError(fmt::format("creating '{}'", m.files[f].name));
    if (empty != nullptr) std::fclose(empty);
  }
  if (!st.ok()) {
    fs::remove_all(dir, ec);
    return st;
  }
  return Status::OK();
}

Status JetStreamLog::DropImagesBefore(uint64_t seq) {
  StatusOr<std::vector<Impl::ImageSubject>> subjects = impl_->ImageSubjects();
  if (!subjects.ok()) return subjects.status();
  for (const Impl::ImageSubject& s : *subjects) {
    if (s.seq >= seq) continue;
    jsOptions o = impl_->RequestOptions();
    o.Stream.Purge.Subject = s.subject.c_str();
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus st = js_PurgeStream(impl_->js, impl_->images_stream.c_str(), &o, &jerr);
    if (st != NATS_OK) {
      return Status::Unavailable(NatsError(fmt::format("dropping image {}", s.seq), st, jerr));
    }
  }
  return Status::OK();
}



}  // namespace streamrec::storage
