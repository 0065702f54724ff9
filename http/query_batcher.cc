#include "http/query_batcher.h"

#include <algorithm>
#include <utility>

#include "engine/core/thread_name.h"

namespace streamrec::http {

QueryBatcher::QueryBatcher(const storage::LiveStore* store, const QueryBatcherOptions& options)
    : store_(store), options_(options) {
  workers_.reserve(std::max(options_.threads, 0));
  for (int t = 0; t < options_.threads; ++t) workers_.emplace_back([this] { Work(); });
}

QueryBatcher::~QueryBatcher() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  for (std::thread& t : workers_) t.join();
}

void QueryBatcher::Recommend(std::string user, engine::RecommendRequest request, Done done) {
  Pending p{std::move(user), std::move(request), std::move(done)};
  const bool small = options_.min_items > 0 && store_->Read([this](const storage::Replica& r) {
    return r.rec->model().num_items() < options_.min_items;
  });
  if (workers_.empty() || small) {  // batching off, or not worth it: answer here
    std::vector<Pending> one;
    one.push_back(std::move(p));
    Answer(&one);
    return;
  }
  {
    MutexLock lock(&mu_);
    queue_.push_back(std::move(p));
  }
  cv_.Signal();
}

uint64_t QueryBatcher::batches() const {
  MutexLock lock(&mu_);
  return batches_;
}

uint64_t QueryBatcher::requests() const {
  MutexLock lock(&mu_);
  return requests_;
}

void QueryBatcher::Work() {
  engine::NameThisThread("sr-query");
  std::vector<Pending> batch;
  for (;;) {
    {
      MutexLock lock(&mu_);
      while (!stop_ && queue_.empty()) cv_.Wait(&mu_);
      if (queue_.empty()) return;  // stopping, and everything answered
      const size_t take = std::min(queue_.size(), std::max<size_t>(options_.max_batch, 1));
      for (size_t j = 0; j < take; ++j) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ++batches_;
      requests_ += take;
    }
    Answer(&batch);
    batch.clear();
  }
}

void QueryBatcher::Answer(std::vector<Pending>* batch) const {
  std::vector<engine::UserQuery> queries;
  queries.reserve(batch->size());
  for (const Pending& p : *batch) queries.push_back({p.user, &p.request});
  std::vector<engine::Recommendations> answers;
  uint64_t seq = 0;
  store_->Read([&](const storage::Replica& r) {
    answers = r.rec->RecommendForUsers(queries);
    seq = r.applied_seq;
  });
  for (size_t j = 0; j < batch->size(); ++j) (*batch)[j].done(std::move(answers[j]), seq);
}

}  // namespace streamrec::http
