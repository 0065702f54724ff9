// LiveStore in cluster mode (LiveStoreOptions::cluster): the publish thread
// (which takes the log thread's place: writes go to the replicated stream,
// not straight into the local log), its waiters, and the images and trims;
// the stream thread (which reads the stream in order and feeds the local
// log and the model thread, for this replica's writes and every other's
// alike) is in live_store_cluster_stream.cc. docs/DESIGN.md section 10.
//
//   IngestAsync ─► publish thread: one record per wake-up (every batch
//     queued meanwhile) ─► ReplicatedLog::Append ─► stream ─► stream thread
//     (on every replica): EventLog::AppendBatches with the message's seq
//     (dedup and conflicts decided here, the same on every replica) ─►
//     model thread: applies, publishes, answers the waiting caller.
// Retrain and install records: live_store_cluster_retrain.cc.
#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <random>
#include <utility>

#include "engine/core/thread_name.h"
#include "storage/live_store_impl.h"
#include "storage/replica_image.h"

namespace streamrec::storage {
namespace {

// Room for a record's header and counts within the stream's message limit.
constexpr size_t kRecordOverhead = 256;

// 64-bit mixing of 8-byte words (the finalizer of MurmurHash3): a
// fingerprint for comparing replicas, not a defence against forgery.
struct Hasher {
  uint64_t h = 0x9e3779b97f4a7c15ull;
  void Word(uint64_t w) {
    w *= 0xff51afd7ed558ccdull;
    w ^= w >> 33;
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
  }
  void Bytes(const void* data, size_t n) {
    Pieces(n, [&](const auto& piece) { piece(data, n); });
  }
  // As Bytes over the concatenation of the pieces (`total` bytes in all)
  // that for_each(piece) passes to piece(data, n), in order.
  template <typename ForEach>
  void Pieces(size_t total, ForEach&& for_each) {
    Word(total);
    unsigned char buf[8];
    size_t fill = 0;
    for_each([&](const void* data, size_t n) {
      const auto* p = static_cast<const unsigned char*>(data);
      for (; fill > 0 && fill < 8 && n > 0; --n) buf[fill++] = *p++;
      if (fill == 8) {
        uint64_t w = 0;
        std::memcpy(&w, buf, 8);
        Word(w);
        fill = 0;
      }
      if (fill > 0) return;  // the piece ended inside a word
      for (; n >= 8; n -= 8, p += 8) {
        uint64_t w = 0;
        std::memcpy(&w, p, 8);
        Word(w);
      }
      for (; n > 0; --n) buf[fill++] = *p++;
    });
    uint64_t tail = 0;
    std::memcpy(&tail, buf, fill);
    Word(tail);
  }
};

}  // namespace

uint64_t ModelChecksum(const engine::Recommender& rec) {
  Hasher h;
  const engine::MFModel& m = rec.model();
  const size_t k = static_cast<size_t>(m.rank());
  h.Word(static_cast<uint64_t>(k));
  h.Word(std::bit_cast<uint32_t>(m.global_mean()));
  h.Pieces(size_t{m.num_users()} * k * sizeof(float), [&](const auto& piece) {
    m.ForEachUserBlock([&](uint32_t, uint32_t count, const float* rows) {
      piece(rows, size_t{count} * k * sizeof(float));
    });
  });
  h.Bytes(m.user_biases(), size_t{m.num_users()} * sizeof(float));
  h.Pieces(size_t{m.num_items()} * k * sizeof(float), [&](const auto& piece) {
    m.ForEachItemBlock([&](uint32_t, uint32_t count, const float* rows) {
      piece(rows, size_t{count} * k * sizeof(float));
    });
  });
  h.Bytes(m.item_biases(), size_t{m.num_items()} * sizeof(float));
  for (uint32_t u = 0; u < rec.users().size(); ++u)
    h.Bytes(rec.users().Name(u).data(), rec.users().Name(u).size());
  for (uint32_t i = 0; i < rec.items().size(); ++i)
    h.Bytes(rec.items().Name(i).data(), rec.items().Name(i).size());
  h.Word(rec.events_applied());
  return h.h;
}

// ---- publish thread -------------------------------------------------------

void LiveStore::Impl::PublishLoop() {
  engine::NameThisThread("sr-publish");
  const size_t limit = stream->max_message_bytes();
  for (;;) {
    bool done = false;
    std::deque<LogJob> jobs = log_queue.Take(kIdleWake, &done);
    if (done) return;
    StreamRecord record;
    RecordWaiter waiter;
    size_t bytes = kRecordOverhead;
    auto flush = [&] {
      if (waiter.ingest.empty()) return;
      PublishRecord(std::move(record), std::move(waiter));
      record = StreamRecord();
      waiter = RecordWaiter();
      bytes = kRecordOverhead;
    };
    for (LogJob& job : jobs) {
      if (auto* a = std::get_if<AppendJob>(&job)) {
        const uint64_t n = a->events.size();
        size_t size = 16;
        for (const StoredEvent& e : a->events) size += EncodedEventSize(e);
        if (size + kRecordOverhead > limit) {
          pending_events.fetch_sub(n);
          a->done(Status::InvalidArgument(fmt::format(
              "the batch takes {} bytes in the cluster's stream, over its message limit of {} "
              "bytes: send it in smaller batches",
              size, limit)));
          continue;
        }
        IdAdmission::Ticket ticket;
        if (admission) {
          Status st;
          MutexLock lock(&admission_mu);
          replicas->Read([&](const Replica& r) {
            admission->Prune(r.applied_seq);
            st = admission->Admit(a->events, *r.rec, IdAdmission::Clock::now(), &ticket);
          });
          if (!st.ok()) {
            pending_events.fetch_sub(n);
            a->done(std::move(st));
            continue;
          }
        }
        if (bytes + size > limit) flush();
        record.kind = RecordKind::kEvents;
        record.batches.push_back(std::move(a->events));
        waiter.ingest.push_back(std::move(a->done));
        waiter.batch_events.push_back(n);
        if (admission) waiter.tickets.push_back(std::move(ticket));
        bytes += size;
        continue;
      }
      flush();  // the appends before it go first
      StreamRecord r;
      RecordWaiter w;
      std::visit(Overloaded{
                     [&](ForgetJob& j) {
                       r.kind = RecordKind::kForgetUser;
                       r.id = std::move(j.user);
                       w.forget = std::move(j.done);
                     },
                     [&](PutItemJob& j) {
                       r.kind = RecordKind::kPutItem;
                       r.id = std::move(j.item);
                       r.meta = std::move(j.meta);
                       w.done = std::move(j.done);
                     },
                     [&](DeleteItemJob& j) {
                       r.kind = RecordKind::kDeleteItem;
                       r.id = std::move(j.item);
                       w.done = std::move(j.done);
                     },
                     [&](RetrainJob& j) {
                       r.kind = RecordKind::kRetrain;
                       w.done = std::move(j.done);
                     },
                     [](AppendJob&) {},  // handled above
                 },
                 job);
      PublishRecord(std::move(r), std::move(w));
    }
    flush();
  }
}

void LiveStore::Impl::PublishRecord(StreamRecord record, RecordWaiter waiter) {
  if (behind_trim.load()) {
    FailWaiter(&waiter, BehindTrimError());
    return;
  }
  record.origin = fmt::format("{}-{}", record_prefix, next_record.fetch_add(1) + 1);
  record.config = config_fingerprint;
  std::string data;
  EncodeRecord(record, &data);
  {
    // Registered first: the stream thread may take the record in before
    // Append returns.
    MutexLock lock(&waiters_mu);
    waiters.emplace(record.origin, std::move(waiter));
  }
  StatusOr<uint64_t> seq = stream->Append(record.origin, data);
  if (seq.ok()) {
    {
      MutexLock lock(&waiters_mu);
      // Still here unless taken in already: from now on its answer waits
      // only so long for this replica's stream thread.
      if (auto it = waiters.find(record.origin);
          it != waiters.end() && !it->second.ingest.empty()) {
        it->second.take_in_deadline =
            std::chrono::steady_clock::now() + options.cluster_take_in_wait;
        it->second.stream_seq = *seq;
      }
    }
    records_published.fetch_add(1);
    uint64_t prev = last_published.load();
    while (prev < *seq && !last_published.compare_exchange_weak(prev, *seq)) {
    }
    return;
  }
  publish_failures.fetch_add(1);
  NoteStreamError(seq.status());
  std::optional<RecordWaiter> mine = TakeWaiter(record.origin);
  if (!mine) return;  // taken in meanwhile (stored after all) and answered
  // The stream may still have stored it (an answer lost in an election):
  // a retry with the same event_ids is then a duplicate, not a double.
  FailWaiter(&*mine, seq.status());
}

void LiveStore::Impl::FailWaiter(RecordWaiter* w, const Status& st) {
  for (size_t k = 0; k < w->ingest.size(); ++k) {
    if (admission && k < w->tickets.size()) {
      MutexLock lock(&admission_mu);
      admission->Rollback(w->tickets[k]);
    }
    pending_events.fetch_sub(w->batch_events[k]);
    w->ingest[k](st);
  }
  if (w->forget) w->forget(st);
  if (w->done) w->done(st);
}

void LiveStore::Impl::MarkTaken(uint64_t seq) {
  model_queue.Push(ApplyOp{{}, {}, [](StatusOr<AppendResult>) {}, seq, false});
}

std::optional<RecordWaiter> LiveStore::Impl::TakeWaiter(const std::string& origin) {
  MutexLock lock(&waiters_mu);
  auto it = waiters.find(origin);
  if (it == waiters.end()) return std::nullopt;
  RecordWaiter w = std::move(it->second);
  waiters.erase(it);
  return w;
}

void LiveStore::Impl::AnswerLateRecords() {
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::pair<LiveStore::IngestCallback, uint64_t>> late;
  {
    MutexLock lock(&waiters_mu);
    for (auto& [origin, w] : waiters) {
      if (now < w.take_in_deadline) continue;
      w.take_in_deadline = std::chrono::steady_clock::time_point::max();  // answered once
      for (LiveStore::IngestCallback& cb : w.ingest) {
        late.emplace_back(std::exchange(cb, [](StatusOr<AppendResult>) {}), w.stream_seq);
      }
    }
  }
  const double wait = std::chrono::duration<double>(options.cluster_take_in_wait).count();
  for (auto& [cb, seq] : late) {
    cb(Status::Unavailable(fmt::format(
        "the batch is stored in the cluster's stream (message {}) but this replica has not "
        "applied it within {:g} s (its stream reader is catching up, as after a NATS node "
        "died); it will be applied: retry with the same event_ids, which makes the retry a "
        "duplicate, not a double",
        seq, wait)));
  }
}

void LiveStore::Impl::NoteStreamError(const Status& s) {
  MutexLock lock(&status_mu);
  stream_error = s.ToString();
}

Status LiveStore::Impl::BehindTrimError() {
  return Status::Unavailable(
      "this replica fell behind the cluster's stream, which was trimmed past its position (a "
      "user DELETE stores an image and trims the stream): restart it to load the image, or "
      "send this to another replica");
}

void LiveStore::Impl::StopBehindTrim() {
  if (behind_trim.exchange(true)) return;
  // Nothing this replica published can be taken in here any more.
  std::unordered_map<std::string, RecordWaiter> orphans;
  {
    MutexLock lock(&waiters_mu);
    orphans.swap(waiters);
  }
  for (auto& [origin, w] : orphans) FailWaiter(&w, BehindTrimError());
}

// ---- images and trims ----------------------------------------------------

void LiveStore::Impl::AnswerForget(RecordWaiter* w, StatusOr<uint64_t> removed, uint64_t seq,
                                   uint64_t previous_forget) {
  if (!w->forget) return;
  LiveStore::CountCallback done = std::move(w->forget);
  ImageJob job{seq, removed, nullptr, false};
  if (!removed.ok()) {
    if (removed.status().code() != StatusCode::kNotFound || previous_forget == 0) {
      done(removed.status());
      return;
    }
    // An unknown user: nothing of theirs is here or in the stream, unless
    // this is the retry of a DELETE whose trim never happened (the replica
    // that took it died first). Then the earlier forget is trimmed first.
    job.forget_seq = previous_forget;
    job.if_untrimmed = true;
  }
  job.done = std::move(done);
  if (!image_queue.Push(std::move(job))) {
    job.done(Status::FailedPrecondition("the store is shutting down"));
  }
}

void LiveStore::Impl::ImageLoop() {
  engine::NameThisThread("sr-image");
  uint64_t pending = 0;  // a forget of ours not yet trimmed (its DELETE was answered 503)
  // A forget record still in the stream that no job asked for (its
  // replica died before trimming), and since when this one has seen it.
  uint64_t watched = 0;
  auto watched_since = std::chrono::steady_clock::now();
  auto last_check = watched_since;
  for (;;) {
    bool done = false;
    std::deque<ImageJob> jobs = image_queue.Take(kIdleWake, &done);
    if (done) return;
    const auto now = std::chrono::steady_clock::now();
    if (jobs.empty() && now - last_check < kTrimRetry) continue;
    last_check = now;
    // Where the stream starts: a forget record at or after it is untrimmed.
    StatusOr<StreamPosition> pos = stream->Position();
    const uint64_t first = pos.ok() ? pos->first_seq : 0;
    auto untrimmed = [&](uint64_t seq) { return !pos.ok() || (first != 0 && seq >= first); };
    uint64_t through = untrimmed(pending) ? pending : 0;
    for (const ImageJob& j : jobs) {
      if (!j.if_untrimmed || untrimmed(j.forget_seq)) through = std::max(through, j.forget_seq);
    }
    if (jobs.empty() && through == 0 && pos.ok()) {
      const uint64_t last_forget = log->cluster_state().last_forget;
      if (last_forget == 0 || !untrimmed(last_forget)) {
        watched = 0;
      } else if (watched != last_forget) {
        watched = last_forget;
        watched_since = now;
      } else if (now - watched_since >= kTrimTakeover) {
        through = last_forget;  // take over the trim
      }
    }
    // Several DELETEs queued meanwhile share one image and one trim.
    const Status st = through == 0 ? Status::OK() : ImageAndTrim(through);
    pending = st.ok() ? 0 : through;
    if (st.ok()) watched = 0;
    for (ImageJob& j : jobs) {
      if (st.ok()) {
        j.done(j.removed);
      } else {
        j.done(Status::Unavailable(fmt::format(
            "the user is forgotten on every replica, but their events could not yet be taken "
            "out of the cluster's stream (this replica keeps trying): {}",
            st.message())));
      }
    }
  }
}

Status LiveStore::Impl::ImageAndTrim(uint64_t through) {
  const auto start = std::chrono::steady_clock::now();
  StatusOr<StreamImage> image = PublishImage(log.get(), dir, stream);
  Status st = image.status();
  // The image holds the log as of some P >= through (the forget is in
  // it): older images, which may hold the user, go; then the messages.
  if (st.ok()) st = stream->DropImagesBefore(image->seq);
  // Running replicas get the messages up to the forget first (bounded: a
  // replica that is far behind, or a dead one's consumer not yet expired,
  // does not hold the DELETE up; the first must then restart from the
  // image).
  Status readers = st.ok() ? stream->WaitForReaders(through, kTrimWaitForReaders) : Status::OK();
  if (st.ok()) st = stream->Trim(through);
  MutexLock lock(&status_mu);
  if (!readers.ok()) images.last_error = readers.ToString();
  if (!st.ok()) {
    images.pending_trim = through;
    images.last_error = st.ToString();
    return st;
  }
  ++images.stored;
  images.last_seq = image->seq;
  images.last_bytes = image->bytes;
  images.last_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  images.trimmed_through = through;
  images.pending_trim = 0;
  if (readers.ok()) images.last_error.clear();
  return st;
}

}  // namespace streamrec::storage
