// IvfTraining: a retraining of the IVF centroids (ivf_index.h) on a thread
// of its own, so that the thread stepping the model does not stop for it.
//
// The vectors move with every event, so the Recommender retrains its
// index's centroids every few catalogs' worth of events. A k-means and
// the filing of every item took 0.24-0.4 s at 100k items and 7.4 s at 1M
// (`streamrec bench topn`), during which no event became visible. Now the
// work runs on a thread of its own, in two stages, and the model thread
// only copies rows and, at the end, files them:
//   Start    (the event where a training falls due) the model thread copies
//            the item rows (a memcpy into huge pages: a few ms at 100k
//            items); the thread trains the centroids on the copy and files
//            it (IvfIndex::Assign).
//   Refresh  (refresh_at(), an eighth of a catalog's worth of events before
//            the install) the model thread copies the rows again; the
//            thread re-files the new copy from the first one's filing,
//            searching only the rows that may have left their cell
//            (IvfIndex::Reassign, with each row's distance from its first
//            copy: the exact net move).
//   Install  (install_at(), a catalog's worth of events after the start)
//            the model thread files its rows from the second copy's filing
//            the same way (IvfIndex::Refile): only rows moved in the last
//            eighth are searched, so the install costs a pass over the
//            rows, not a k-means nor a search of most of them (a third to
//            two thirds of the rows had moved out of their bound over a
//            whole catalog's worth of events: 60-110 ms at 100k items in
//            one stage).
// Without the refresh (a follower that shares its leader's, which did it)
// the install searches more; without a filing (a training restored from a
// snapshot, or in a replay: centroids only) it searches every row.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/model/ivf_index.h"

namespace streamrec::engine {

class IvfTraining {
 public:
  // What a training measures its probes on (IvfOptions::target_recall):
  // users' vectors (q x dim) for the inner-product probe, and items whose
  // own rows query by cosine, each excluding itself (as similar items do),
  // for the cosine probe. Either may be empty: that probe is not measured.
  struct ProbeSample {
    std::vector<float> users;
    std::vector<uint32_t> items;  // < the rows trained on
  };

  // Starts training on a copy of rows [0, n) of `items` (n x dim,
  // row-major): the centroids (IvfIndex::Train), and unless
  // `centroids_only` where each copied row belongs (IvfIndex::Assign).
  // With a `sample` and options.target_recall set, it then measures the
  // cells a query must read on the copy (MeasureProbe, with `rescore`'s
  // candidates) and keeps them in the trained index
  // (IvfIndex::measured_probe). `install_at`: the caller's note of where
  // the result is to be installed.
  static std::shared_ptr<IvfTraining> Start(RowsView items, uint32_t n, int dim,
                                            const IvfOptions& options, bool centroids_only,
                                            uint64_t install_at, ProbeSample sample = {},
                                            const QuantizedScanOptions& rescore = {});
  // A training that has already finished with `trained` (centroids,
  // nothing filed: a snapshot kept them): installs by filing every row.
  static std::shared_ptr<IvfTraining> Finished(IvfIndex trained, uint64_t install_at);

  IvfTraining(const IvfTraining&) = delete;
  IvfTraining& operator=(const IvfTraining&) = delete;
  // Stops the training thread at its next check and joins it.
  ~IvfTraining();

  uint64_t install_at() const { return install_at_; }
  // The ordinal of the event after which Refresh copies the rows again.
  uint64_t refresh_at() const { return install_at_ - std::min<uint64_t>(install_at_, rows_ / 8); }
  // The rows it trains on (n of Start; the trained items of Finished).
  uint32_t rows() const { return rows_; }
  // Whether a filing of the copied rows comes with the centroids.
  bool files_rows() const { return files_rows_; }
  // The trained index, centroids only (nothing filed). Waits for the
  // training to finish.
  const IvfIndex& Trained() const;
  // The second stage: rows [0, n) (n >= rows()) of `items` copied, and
  // re-filed on the thread. Once only: later calls (the second Left-Right
  // copy's) do nothing; nothing without a filing.
  void Refresh(RowsView items, uint32_t n);
  // The index to install: the trained centroids with rows [0, n) (n >=
  // rows()) of `items` filed: a copied row as the training filed its copy
  // unless it may have left that cell since, the others searched; without
  // a filing (centroids_only, Finished) every row searched
  // (IvfIndex::Refile). Waits for the training to finish.
  IvfIndex Install(RowsView items, uint32_t n) const;
  // Bytes held: the copy, and the result once trained.
  size_t MemoryBytes() const;

 private:
  struct Free {
    void operator()(float* p) const;
  };

  IvfTraining(uint64_t install_at, uint32_t rows, int dim, bool files_rows)
      : install_at_(install_at),
        rows_(rows),
        dim_(static_cast<size_t>(std::max(dim, 0))),
        files_rows_(files_rows) {}
  void Join() const;
  // The probes trained_ keeps (IvfIndex::SetMeasured), measured on `filed`:
  // trained_ with rows [0, n) of `rows`, the copy, filed.
  void Measure(const IvfIndex& filed, const float* rows, uint32_t n, const ProbeSample& sample,
               float target, const QuantizedScanOptions& rescore);
  // Copies rows [0, n) into a new buffer.
  void Copy(RowsView items, uint32_t n);
  // The bytes held once a stage is done (its thread's, or after Join).
  size_t HeldBytes() const;

  const uint64_t install_at_;
  const uint32_t rows_;
  const size_t dim_;
  const bool files_rows_;
  // Written by a stage's thread only, read after Join.
  IvfIndex trained_;
  IvfIndex::Filing filing_;  // of copy_
  // The rows (copied_ x dim_) filing_ files, in huge pages where the
  // system has them (4 KB pages faulted in one by one made the copy
  // several times slower than the memcpy). Freed once trained where there
  // is no filing.
  std::unique_ptr<float, Free> copy_;
  uint32_t copied_ = 0;
  bool refreshed_ = false;  // the caller's thread only
  std::atomic<bool> stop_{false};
  std::atomic<size_t> bytes_{0};  // MemoryBytes
  mutable std::mutex join_mu_;
  mutable std::thread thread_;  // the stage running, until joined
};

}  // namespace streamrec::engine
