#include "engine/live/step_thread.h"

#include <cassert>
#include <utility>

#include "engine/core/thread_name.h"

namespace streamrec::engine {

StepThread::StepThread() {
  if (std::thread::hardware_concurrency() > 1) {
    filling_.reserve(kBatch);
    thread_ = std::thread([this] { Loop(); });
  }
}

StepThread::~StepThread() {
  assert(rec_ == nullptr);
  if (!split()) return;
  {
    MutexLock lock(&mu_);
    closing_ = true;
    changed_.SignalAll();
  }
  thread_.join();
}

void StepThread::Begin(Recommender* rec) {
  assert(rec_ == nullptr);
  rec_ = rec;
  splitting_ = split() && rec->options().objective == Objective::kImplicit;
}

Status StepThread::Apply(const Event& e) {
  if (!splitting_) return rec_->Apply(e);
  STREAMREC_RETURN_IF_ERROR(rec_->Validate(e));
  filling_.push_back(rec_->IndexLeading(e));
  if (filling_.size() == kBatch) Hand();
  return Status::OK();
}

void StepThread::Hand() {
  std::vector<IndexedEvent> next;
  MutexLock lock(&mu_);
  if (!spare_.empty()) {
    next = std::move(spare_.back());
    spare_.pop_back();
  }
  queue_.push_back({rec_, std::exchange(filling_, std::move(next))});
  ++unfinished_;
  changed_.SignalAll();
}

void StepThread::Finish() {
  if (rec_ == nullptr) return;
  if (splitting_) {
    if (!filling_.empty()) Hand();
    MutexLock lock(&mu_);
    while (unfinished_ > 0) changed_.Wait(&mu_);
  }
  filling_.reserve(kBatch);
  rec_ = nullptr;
  splitting_ = false;
}

void StepThread::Loop() {
  NameThisThread("sr-step");
  MutexLock lock(&mu_);
  for (;;) {
    while (queue_.empty() && !closing_) changed_.Wait(&mu_);
    if (queue_.empty()) return;  // closing, and every step done
    Batch batch = std::move(queue_.front());
    queue_.pop_front();
    lock.Unlock();
    // Each step hints the memory of the kLearnStages after it, one stage
    // of its chain of reads each (Recommender::PrefetchLearn), as
    // LookaheadApplier does.
    const std::vector<IndexedEvent>& xs = batch.events;
    for (size_t n = 0; n < xs.size(); ++n) {
      for (size_t ahead = Recommender::kLearnStages; ahead >= 1; --ahead) {
        if (n + ahead < xs.size()) {
          batch.rec->PrefetchLearn(xs[n + ahead], static_cast<int>(ahead) - 1);
        }
      }
      batch.rec->Step(xs[n]);
    }
    batch.events.clear();
    lock.Lock();
    spare_.push_back(std::move(batch.events));
    --unfinished_;
    changed_.SignalAll();
  }
}

}  // namespace streamrec::engine
