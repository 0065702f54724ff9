#include "engine/live/lookahead_applier.h"

namespace streamrec::engine {

LookaheadApplier::LookaheadApplier(Recommender* rec)
    : rec_(rec), ahead_(rec->options().objective == Objective::kImplicit) {}

LookaheadApplier::~LookaheadApplier() { Finish(); }

Status LookaheadApplier::Apply(const Event& e) {
  if (!ahead_) return rec_->Apply(e);
  STREAMREC_RETURN_IF_ERROR(rec_->Validate(e));
  at(count_++).e = e;
  if (count_ == kWindow) StepOldest();
  return Status::OK();
}

void LookaheadApplier::Finish() {
  while (count_ > 0) StepOldest();
}

void LookaheadApplier::StepOldest() {
  // The oldest and the kAhead after it indexed, in order (the last of them
  // has had every stage of its id lookups hinted, unless the window never
  // filled).
  for (; indexed_ < count_ && indexed_ <= kAhead; ++indexed_) {
    Waiting& w = at(indexed_);
    w.x = rec_->IndexLeading(w.e);
  }
  // Event n after the oldest: stage n - 1 of its step's reads while it is
  // indexed, then stage kWindow - 1 - n of its id lookups: each event has
  // every stage of both chains issued in turn, farthest first.
  for (size_t n = kWindow - 1; n >= 1; --n) {
    if (n >= count_) continue;
    if (n <= kAhead) {
      rec_->PrefetchLearn(at(n).x, static_cast<int>(n) - 1);
    } else {
      const int stage = static_cast<int>(n - kAhead - 1);
      rec_->users().Prefetch(at(n).e.user, stage);
      rec_->items().Prefetch(at(n).e.item, stage);
    }
  }
  rec_->Step(at(0).x);
  first_ = (first_ + 1) % kWindow;
  --count_;
  --indexed_;
}

}  // namespace streamrec::engine
