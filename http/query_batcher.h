// QueryBatcher: recommendation requests that arrive together share one scan
// of the item block. Server threads queue requests and return at once;
// each of `threads` workers takes everything queued (up to max_batch) when
// it becomes free, answers it with Recommender::RecommendForUsers inside
// one LiveStore::Read, and calls each request's callback.
//
// Why: a query alone reads the whole item block (25.6 MB at 100k items,
// k = 64; 6.4 MB in int8) for ten results, so concurrent queries are bound
// by memory bandwidth, not arithmetic; answered together, they read it once
// (`streamrec bench topn`: 2.5 ms alone, 0.27 ms each in batches of 64,
// exact). There is no timer: a worker never waits for a batch to fill, so a
// lone request is answered as soon as a worker is free, and under load the
// added wait is at most the batch ahead of it (the batches grow with the
// load instead).
//
// Read-your-writes holds: every request is answered from a Read() that
// starts after it was queued, so after any acknowledgement it followed.
//
// Below QueryBatcherOptions::min_items items a request is answered on the
// calling thread, as with no workers.
//
// Thread-safety: Recommend() from any thread. The destructor answers
// everything queued, then joins the workers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "engine/core/mutex.h"
#include "engine/core/thread_annotations.h"
#include "engine/live/recommender.h"
#include "storage/live_store.h"

namespace streamrec::http {

struct QueryBatcherOptions {
  // Worker threads; each scans with one core. 0: no batching (callers
  // answer on their own thread).
  int threads = 2;
  // Most requests one scan answers.
  size_t max_batch = 32;
  // Catalogs smaller than this are answered on the caller's thread: their
  // scan is cheap (~0.04 ms at 1,700 items), and handing a request to a
  // worker and back costs more than sharing it saves (ml-100k under wrk,
  // one run: 25k req/s inline, 21k batched, though runs vary by ~20%;
  // 100k items: 1.3k inline, 4k batched).
  uint32_t min_items = 20000;
};

class QueryBatcher {
 public:
  // Called on a worker with the answer and the log sequence number the
  // model had applied (the response's "seq").
  using Done = std::function<void(engine::Recommendations, uint64_t seq)>;

  // `store` must outlive the batcher.
  QueryBatcher(const storage::LiveStore* store, const QueryBatcherOptions& options);
  ~QueryBatcher();
  QueryBatcher(const QueryBatcher&) = delete;
  QueryBatcher& operator=(const QueryBatcher&) = delete;

  void Recommend(std::string user, engine::RecommendRequest request, Done done);

  // Batches answered and requests in them, since start (for metrics).
  uint64_t batches() const;
  uint64_t requests() const;

 private:
  struct Pending {
    std::string user;
    engine::RecommendRequest request;
    Done done;
  };
  void Work();
  void Answer(std::vector<Pending>* batch) const;

  const storage::LiveStore* store_;
  const QueryBatcherOptions options_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<Pending> queue_ GUARDED_BY(mu_);
  bool stop_ GUARDED_BY(mu_) = false;
  uint64_t batches_ GUARDED_BY(mu_) = 0;
  uint64_t requests_ GUARDED_BY(mu_) = 0;
  std::vector<std::thread> workers_;
};

}  // namespace streamrec::http
