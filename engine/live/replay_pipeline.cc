#include "engine/live/replay_pipeline.h"

#include <utility>

#include "engine/core/thread_name.h"

namespace streamrec::engine {

ReplayPipeline::ReplayPipeline(Recommender* rec) : rec_(rec) {
  if (rec_->index_deferred_ && rec_->options().objective != Objective::kBpr &&
      std::thread::hardware_concurrency() > 1) {
    filling_.reserve(kBatch);
    thread_ = std::thread([this] { ModelLoop(); });
  }
}

ReplayPipeline::~ReplayPipeline() { Finish(); }

Status ReplayPipeline::Apply(const Event& e) {
  if (!split()) return rec_->Apply(e);
  STREAMREC_RETURN_IF_ERROR(rec_->Validate(e));
  const IndexedEvent x = rec_->Index(e);
  filling_.push_back({x, rec_->events_applied()});
  // Recommender::Apply steps the model between these two; Count reads no
  // factor while the index is deferred (the constructor checked).
  rec_->Count(x);
  if (filling_.size() == kBatch) {
    std::vector<Step> next;
    {
      MutexLock lock(&mu_);
      if (!spare_.empty()) {
        next = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    next.reserve(kBatch);
    Hand(std::exchange(filling_, std::move(next)));
  }
  return Status::OK();
}

void ReplayPipeline::Hand(std::vector<Step> batch) {
  MutexLock lock(&mu_);
  while (queue_.size() >= kMaxQueued) changed_.Wait(&mu_);
  queue_.push_back(std::move(batch));
  changed_.SignalAll();
}

void ReplayPipeline::Finish() {
  if (!split()) return;
  if (!filling_.empty()) Hand(std::exchange(filling_, {}));
  {
    MutexLock lock(&mu_);
    closing_ = true;
    changed_.SignalAll();
  }
  thread_.join();
}

void ReplayPipeline::ModelLoop() {
  NameThisThread("sr-replay");
  MutexLock lock(&mu_);
  for (;;) {
    while (queue_.empty() && !closing_) changed_.Wait(&mu_);
    if (queue_.empty()) return;  // closing, and every step done
    std::vector<Step> batch = std::move(queue_.front());
    queue_.pop_front();
    changed_.SignalAll();  // room for the front
    lock.Unlock();
    // Each step hints the memory of the kLearnStages after it, one stage
    // of its chain of reads each (Recommender::PrefetchLearn).
    for (size_t n = 0; n < batch.size(); ++n) {
      for (size_t ahead = Recommender::kLearnStages; ahead >= 1; --ahead) {
        if (n + ahead < batch.size()) {
          rec_->PrefetchLearn(batch[n + ahead].x, static_cast<int>(ahead) - 1);
        }
      }
      rec_->Learn(batch[n].x, batch[n].ordinal);
    }
    batch.clear();
    lock.Lock();
    spare_.push_back(std::move(batch));
  }
}

}  // namespace streamrec::engine
