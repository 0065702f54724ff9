#include "engine/model/ivf_training.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>
#include <utility>
#include <vector>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "engine/core/thread_name.h"

namespace streamrec::engine {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// `floats` floats, aligned to and rounded up to huge pages, which the
// kernel is asked to back with them (MADV_HUGEPAGE: transparent huge pages
// in "madvise" mode, the usual default). Null if out of memory.
float* AllocateRows(size_t floats) {
  const size_t bytes = (floats * sizeof(float) + kHugePage - 1) / kHugePage * kHugePage;
  if (bytes == 0) return nullptr;
  void* p = std::aligned_alloc(kHugePage, bytes);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (p != nullptr) (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return static_cast<float*>(p);
}

// How far (L2) each of rows [0, n) of `now` is from its row in `then`
// (both n x dim): the moves IvfIndex::Reassign and Refile take.
std::vector<float> Moves(RowsView now, const float* then, uint32_t n, size_t dim) {
  std::vector<float> moved(n);
  for (uint32_t i = 0; i < n; ++i) {
    moved[i] = IvfIndex::Distance(now.row(i, static_cast<int>(dim)), then + i * dim,
                                  static_cast<int>(dim));
  }
  return moved;
}

// Its own name: a thread takes its creator's (the model thread's) else,
// and `perf` and bench scale's CPU by thread counted the trainings' k-means
// as the model thread's work (and lost it from the sum once they exited).
constexpr std::string_view kThreadName = "sr-ivf";

}  // namespace

void IvfTraining::Free::operator()(float* p) const { std::free(p); }

void IvfTraining::Copy(RowsView items, uint32_t n) {
  const size_t floats = size_t{n} * dim_;
  copy_.reset(floats > 0 ? AllocateRows(floats) : nullptr);
  if (floats > 0 && copy_ == nullptr) throw std::bad_alloc();
  if (floats > 0) items.CopyTo(0, n, static_cast<int>(dim_), copy_.get());
  copied_ = n;
}

std::shared_ptr<IvfTraining> IvfTraining::Start(RowsView items, uint32_t n, int dim,
                                                const IvfOptions& options, bool centroids_only,
                                                uint64_t install_at, ProbeSample sample,
                                                const QuantizedScanOptions& rescore) {
  std::shared_ptr<IvfTraining> t(new IvfTraining(install_at, n, dim, !centroids_only));
  t->Copy(items, n);
  t->bytes_.store(size_t{n} * t->dim_ * sizeof(float), std::memory_order_relaxed);
  IvfTraining* self = t.get();  // the thread ends before the object (~IvfTraining)
  t->thread_ = std::thread([self, n, dim, options, sample = std::move(sample), rescore] {
    NameThisThread(kThreadName);
    const float* rows = self->copy_.get();
    self->trained_.Train(rows, n, dim, options, &self->stop_);
    const bool measure = (!sample.users.empty() || !sample.items.empty()) &&
                         options.target_recall > 0.0f && self->trained_.lists() > 0 &&
                         !self->stop_.load();
    if (self->files_rows_ || measure) {
      self->filing_ = self->trained_.Assign(rows, n, &self->stop_);
    }
    if (measure && !self->stop_.load() && self->filing_.cell.size() == n) {
      // The copy filed as the training filed it (no row moved since: none
      // is searched again), then the probes measured on it. A replay's
      // training (centroids only) measures too, so that it keeps the
      // probes a live copy would have.
      IvfIndex filed = self->trained_;
      filed.Refile(rows, n, self->filing_, std::vector<float>(n, 0.0f));
      self->Measure(filed, rows, n, sample, options.target_recall, rescore);
    }
    if (!self->files_rows_) {
      self->filing_ = IvfIndex::Filing{};
      self->copy_.reset();
      self->copied_ = 0;
    }
    self->bytes_.store(self->HeldBytes(), std::memory_order_relaxed);
  });
  return t;
}

void IvfTraining::Measure(const IvfIndex& filed, const float* rows, uint32_t n,
                          const ProbeSample& sample, float target,
                          const QuantizedScanOptions& rescore) {
  const int dim = static_cast<int>(dim_);
  float recall = -1.0f;
  // Recommendations: users' vectors by inner product.
  std::vector<ScanQuery> q(sample.users.size() / dim_);
  for (size_t j = 0; j < q.size(); ++j) q[j].vector = sample.users.data() + j * dim_;
  const uint32_t probe =
      MeasureProbe(filed, rows, n, dim, q, ScanOptions{}, target, rescore, &recall, &stop_);
  trained_.SetMeasured(/*cosine=*/false, probe, recall);
  // Similar items: each item's own row, unit length, by cosine, without
  // itself (zero rows, which match nothing, are left out).
  std::vector<float> unit;
  unit.reserve(sample.items.size() * dim_);
  std::vector<uint32_t> self_ids;
  for (const uint32_t i : sample.items) {
    if (i >= n) continue;
    const float* row = rows + size_t{i} * dim_;
    double sq = 0.0;
    for (size_t f = 0; f < dim_; ++f) sq += double{row[f]} * row[f];
    if (!(sq > 0.0) || !std::isfinite(sq)) continue;
    const auto inv = static_cast<float>(1.0 / std::sqrt(sq));
    for (size_t f = 0; f < dim_; ++f) unit.push_back(row[f] * inv);
    self_ids.push_back(i);
  }
  q.assign(self_ids.size(), ScanQuery{});
  for (size_t j = 0; j < q.size(); ++j) {
    q[j].vector = unit.data() + j * dim_;
    q[j].exclude_a = std::span(&self_ids[j], 1);
  }
  ScanOptions cosine;
  cosine.cosine = true;
  const uint32_t cosine_probe =
      MeasureProbe(filed, rows, n, dim, q, cosine, target, rescore, &recall, &stop_);
  trained_.SetMeasured(/*cosine=*/true, cosine_probe, recall);
}

std::shared_ptr<IvfTraining> IvfTraining::Finished(IvfIndex trained, uint64_t install_at) {
  std::shared_ptr<IvfTraining> t(
      new IvfTraining(install_at, trained.trained_items(), trained.dim(), false));
  t->trained_ = std::move(trained);
  t->bytes_.store(t->HeldBytes(), std::memory_order_relaxed);
  return t;
}

size_t IvfTraining::HeldBytes() const {
  return size_t{copied_} * dim_ * sizeof(float) + trained_.MemoryBytes() +
         (filing_.cell.capacity() + filing_.margin.capacity()) * sizeof(uint32_t);
}

IvfTraining::~IvfTraining() {
  stop_.store(true, std::memory_order_relaxed);
  Join();
}

void IvfTraining::Join() const {
  std::lock_guard<std::mutex> lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

const IvfIndex& IvfTraining::Trained() const {
  Join();
  return trained_;
}

void IvfTraining::Refresh(RowsView items, uint32_t n) {
  if (refreshed_ || !files_rows_ || n < rows_) return;
  refreshed_ = true;
  Join();
  if (filing_.cell.size() != copied_) return;  // stopped
  // The first copy and its filing go to the thread, the new copy stays.
  std::unique_ptr<float, Free> first = std::move(copy_);
  const uint32_t first_rows = copied_;
  Copy(items, n);
  bytes_.store(HeldBytes() + size_t{first_rows} * dim_ * sizeof(float), std::memory_order_relaxed);
  std::lock_guard<std::mutex> lock(join_mu_);
  thread_ = std::thread([this, first = std::move(first), first_rows, n] {
    NameThisThread(kThreadName);
    const float* rows = copy_.get();
    const std::vector<float> moved = Moves(rows, first.get(), first_rows, dim_);
    filing_ = trained_.Reassign(rows, n, filing_, moved, nullptr, &stop_);
    bytes_.store(HeldBytes(), std::memory_order_relaxed);
  });
}

IvfIndex IvfTraining::Install(RowsView items, uint32_t n) const {
  Join();
  IvfIndex index = trained_;
  if (files_rows_ && copy_ != nullptr && n >= copied_ && filing_.cell.size() == copied_) {
    // How far each row is from its copy: what the copy's bound on its
    // distance to the other centroids is short by now.
    index.Refile(items, n, filing_, Moves(items, copy_.get(), copied_, dim_));
  } else {
    index.Refile(items, n);
  }
  return index;
}

size_t IvfTraining::MemoryBytes() const { return bytes_.load(std::memory_order_relaxed); }

}  // namespace streamrec::engine
