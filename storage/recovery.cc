#include "storage/recovery.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "engine/core/id_text.h"
#include "engine/core/thread_name.h"
#include "engine/live/snapshot.h"
#include "storage/snapshot_pipe.h"

namespace streamrec::storage {

namespace {

// ApplyStored's body: `apply` takes the engine event.
template <typename Fn>
Status ApplyResolved(const StoredEvent& e, const engine::EventTypes& types, Fn&& apply) {
  const auto type = types.Find(e.type);
  if (!type) {
    return Status::FailedPrecondition(
        fmt::format("event {} has type '{}', which the configuration does not define (known: {})",
                    e.seq, e.type, types.Names()));
  }
  Status st = apply(engine::Event{e.user, e.item, *type, e.value, e.ts_ms});
  if (!st.ok()) {
    return Status(st.code(), fmt::format("event {}: {}", e.seq, st.message()));
  }
  return Status::OK();
}

}  // namespace

Status ApplyStored(const StoredEvent& e, engine::Recommender* rec,
                   const engine::Recommender* leader) {
  return ApplyResolved(e, rec->types(), [&](const engine::Event& event) {
    return leader ? rec->ApplyFollowing(event, *leader) : rec->Apply(event);
  });
}

Status ApplyStored(const StoredEvent& e, engine::ReplayPipeline* pipeline) {
  return ApplyResolved(e, pipeline->recommender().types(),
                       [&](const engine::Event& event) { return pipeline->Apply(event); });
}

Status ApplyStored(const StoredEvent& e, engine::LookaheadApplier* applier) {
  return ApplyResolved(e, applier->recommender().types(),
                       [&](const engine::Event& event) { return applier->Apply(event); });
}

Status ApplyStored(const StoredEvent& e, engine::StepThread* steps) {
  return ApplyResolved(e, steps->recommender().types(),
                       [&](const engine::Event& event) { return steps->Apply(event); });
}

bool ForgetStored(std::string_view user, std::span<const StoredEvent> events,
                  engine::Recommender* rec, const engine::Recommender* leader) {
  std::vector<engine::Event> mine;
  mine.reserve(events.size());
  for (const StoredEvent& e : events) {
    // A type no longer defined was never applied under this configuration.
    if (const auto type = rec->types().Find(e.type)) {
      mine.push_back({e.user, e.item, *type, e.value, e.ts_ms});
    }
  }
  return leader ? rec->ForgetUserFollowing(user, mine, *leader) : rec->ForgetUser(user, mine);
}

Status ValidateEvents(const engine::Recommender& rec, std::span<const StoredEvent> batch) {
  for (size_t n = 0; n < batch.size(); ++n) {
    const StoredEvent& e = batch[n];
    // Stored, then echoed by `log dump` and in conflict messages: the text
    // rule of every id (a NUL or an invalid byte would break that JSON).
    if (Status st = engine::CheckIdText("event_id", e.event_id); !st.ok()) {
      return Status(st.code(), fmt::format("event {}: {}", n, st.message()));
    }
    const auto type = rec.types().Find(e.type);
    if (!type) {
      return Status::InvalidArgument(
          fmt::format("event {}: unknown type '{}' (known: {})", n, e.type, rec.types().Names()));
    }
    Status st = rec.Validate({e.user, e.item, *type, e.value, e.ts_ms});
    if (!st.ok()) return Status(st.code(), fmt::format("event {}: {}", n, st.message()));
  }
  return Status::OK();
}

uint64_t ConfigFingerprint(const engine::Recommender& rec) {
  const engine::RecommenderOptions& o = rec.options();
  // Floats in hex ({:a}) so that any change of any bit shows.
  std::string text = fmt::format(
      "model {} {} {:a}; learner {:a} {:a} {:a} {:a} {} {:a} {:a}; popularity {:a}; "
      "cold {}; idlen {}; types",
      o.model.rank, o.model.seed, o.model.init_stddev, o.learner.sgd.learning_rate,
      o.learner.sgd.regularization, o.learner.sgd.bias_learning_rate,
      o.learner.sgd.bias_regularization, o.learner.fold_in_max_events,
      o.learner.fold_in_regularization, o.learner.fold_in_bias_regularization,
      o.popularity.half_life_ms, o.cold_start_min_items, o.max_id_length);
  // Only under the implicit objective, so a rating model's fingerprint is
  // what it was before objectives existed (its snapshots stay usable).
  if (o.objective == engine::Objective::kImplicit) {
    const engine::ImplicitOnlineOptions& i = o.implicit;
    text += fmt::format(" implicit {:a} {:a} {:a} {} {} {} {} {} {:a} {:a}", i.alpha,
                        i.regularization, i.regularization_exponent, i.sweeps, i.update_items,
                        i.max_user_cells, i.max_item_cells, i.gramian_refresh_interval,
                        o.signal.target_exponent, o.signal.target_scale);
    // Appended only where set, so that snapshots from before it existed
    // (every item moving at every event) keep matching a setting of 0.
    if (i.min_item_step > 0.0f) text += fmt::format(" item_step {:a}", i.min_item_step);
  }
  if (o.objective == engine::Objective::kBpr) {
    const engine::BprOnlineOptions& b = o.bpr;
    text += fmt::format(" bpr {:a} {:a} {:a} {} {} {:a} {:a}", b.learning_rate, b.regularization,
                        b.bias_regularization, b.negatives, b.seed, o.signal.target_exponent,
                        o.signal.target_scale);
  }
  for (size_t t = 0; t < rec.types().size(); ++t) {
    const engine::EventTypeSpec& s = rec.types().spec(static_cast<engine::EventTypeId>(t));
    text += fmt::format(" {}:{:a}:{}:{:a}:{:a}:{:a}", s.name, s.weight, s.explicit_rating,
                        s.implied_rating.value_or(-1.0f), s.min_value, s.max_value);
  }
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

namespace {

// The stored header (ConfigFingerprint, 8 bytes) at the start of `stored`
// against rec's settings.
Status CheckFingerprint(std::string_view stored, const engine::Recommender& rec) {
  if (stored.size() < 8) return Status::Corruption("snapshot shorter than its header");
  uint64_t fingerprint = 0;
  STREAMREC_RETURN_IF_ERROR(DecodeSeqKey(stored.substr(0, 8), &fingerprint));
  if (fingerprint != ConfigFingerprint(rec)) {
    return Status::FailedPrecondition(
        "written under other model/learner/event-type settings than the current ones");
  }
  return Status::OK();
}

// A source whose first piece has been looked at (for the fingerprint)
// before the decoder reads it from the start.
class Peeked final : public engine::SnapshotSource {
 public:
  Peeked(engine::SnapshotSource* source, std::string_view first) : source_(source), first_(first) {}
  uint64_t size() const override { return source_->size(); }
  StatusOr<std::optional<std::string_view>> Next() override {
    if (first_) {
      const std::string_view first = *first_;
      first_.reset();
      return std::optional<std::string_view>(first);
    }
    return source_->Next();
  }

 private:
  engine::SnapshotSource* source_;
  std::optional<std::string_view> first_;
};

}  // namespace

Status LoadSnapshot(std::string stored, engine::Recommender* rec) {
  STREAMREC_RETURN_IF_ERROR(CheckFingerprint(stored, *rec));
  return engine::DecodeSnapshot(std::move(stored), 8, rec);
}

Status LoadSnapshot(engine::SnapshotSource* stored, engine::Recommender* rec) {
  StatusOr<std::optional<std::string_view>> first = stored->Next();
  STREAMREC_RETURN_IF_ERROR(first.status());
  // Pieces are chunks of 4 MB (or a whole snapshot stored before chunks):
  // the header lies within the first.
  STREAMREC_RETURN_IF_ERROR(CheckFingerprint(first->value_or(std::string_view()), *rec));
  Peeked source(stored, **first);
  return engine::DecodeSnapshot(&source, 8, rec);
}

StatusOr<RecoveryResult> Recover(const EventLog& log, engine::Recommender* rec, uint64_t up_to) {
  const auto t0 = std::chrono::steady_clock::now();
  RecoveryResult r;
  // Newest first; one that cannot be read or decoded is skipped (with the
  // reason) for the one before it, and with none left the whole log is
  // replayed: the log is the truth, snapshots only shorten the replay.
  std::string listing;
  const std::vector<uint64_t> seqs = log.SnapshotSeqs(&listing);
  std::vector<std::string> skipped;
  if (!listing.empty()) skipped.push_back(listing);
  for (auto it = seqs.rbegin(); it != seqs.rend(); ++it) {
    if (*it > up_to) continue;
    // Read a chunk at a time, each section decoded as it is complete.
    StatusOr<std::unique_ptr<engine::SnapshotSource>> stored = log.OpenSnapshot(*it);
    Status st = stored.ok() ? LoadSnapshot(stored->get(), rec) : stored.status();
    if (st.ok()) {
      r.snapshot_seq = *it;
      r.last_seq = *it;
      break;
    }
    // LoadSnapshot leaves rec untouched on failure.
    skipped.push_back(fmt::format("snapshot at seq {}: {}", *it, st.ToString()));
  }
  r.snapshot_skipped = fmt::format("{}", fmt::join(skipped, "; "));
  // The whole log into a fresh recommender, or a tail after the snapshot at
  // least as long as the catalog: the top-N index (the snapshot's decode
  // built one) is filed once at the end, and the events run through a
  // ReplayPipeline (the model's steps on a second thread). Either is
  // bit-identical to applying the events one by one with the index kept
  // up (recovery_test.cc). A shorter tail is kept up event by event: the
  // final filing reads every item, and costs more than such a tail's
  // upkeep (~0.2 s at 100k items; a crash 20 s into ingest left a tail of
  // 618k events at 100k items, applied at ~100k events/s one by one).
  const uint64_t last = std::min(up_to, log.next_seq() > 0 ? log.next_seq() - 1 : 0);
  const uint64_t tail = last > r.snapshot_seq ? last - r.snapshot_seq : 0;
  const bool replay =
      r.snapshot_seq == 0 || tail >= std::max<uint64_t>(rec->model().num_items(), 1);
  std::optional<engine::ReplayPipeline> pipeline;
  if (replay) {
    rec->BeginReplay();
    pipeline.emplace(rec);
  }
  Status apply_status;
  Status scan = log.Scan(r.snapshot_seq + 1, up_to, [&](const StoredEvent& e) {
    apply_status = pipeline ? ApplyStored(e, &*pipeline) : ApplyStored(e, rec);
    if (!apply_status.ok()) return false;
    ++r.replayed;
    r.last_seq = e.seq;
    return true;
  });
  if (pipeline) pipeline->Finish();
  if (replay) rec->EndReplay();
  STREAMREC_RETURN_IF_ERROR(scan);
  STREAMREC_RETURN_IF_ERROR(apply_status);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::string EncodeStoredSnapshot(const engine::Recommender& rec) {
  return engine::EncodeSnapshot(rec, SeqKey(ConfigFingerprint(rec)));  // 8 bytes big-endian
}

Status EncodeStoredSnapshot(const engine::Recommender& rec, SnapshotPipe* pipe) {
  Status st = engine::EncodeSnapshot(rec, SeqKey(ConfigFingerprint(rec)),
                                     EventLog::kSnapshotChunkBytes, pipe);
  pipe->Close(st);
  return st;
}

Status WriteSnapshot(EventLog* log, const engine::Recommender& rec, uint64_t seq,
                     uint64_t deletes_applied, double* encode_seconds) {
  SnapshotPipe pipe(kSnapshotPipePieces);
  Status stored;
  std::thread writer([&] {
    engine::NameThisThread("sr-snapshot");
    stored = log->PutSnapshot(seq, &pipe, deletes_applied);
  });
  const auto started = std::chrono::steady_clock::now();
  // An encode's error reaches the writer through the pipe, and is its answer.
  (void)EncodeStoredSnapshot(rec, &pipe);
  if (encode_seconds != nullptr) {
    *encode_seconds = std::chrono::duration<double>(pipe.closed_at() - started).count();
  }
  writer.join();
  return stored;
}

}  // namespace streamrec::storage
