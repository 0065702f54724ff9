// MFModel: biased matrix factorisation, r̂(u,i) = μ + b_u + b_i + p_u·q_i.
//
// Factors are kept in pages of 16 rows (4 KB at k = 64), shared
// copy-on-write between copies of a model (Clone, ShareUsers,
// ShareWritten*Pages):
// the two Left-Right copies of the live model hold every row once (500k
// users x k = 64 are 128 MB, 100k items 25.6 MB), and a write through
// user_factors(u) or item_factors(i) first copies the page if another
// model holds it too. A top-N scan reads the item rows page by page
// (item_rows(), a RowsView); whole-matrix work copies them out
// (ItemRows()) or walks the pages (ForEachItemBlock). Rows are appended
// as new users and items are seen; a new row starts from a small random
// vector that depends only on (seed, kind, row), so the same events give
// bit-identical models whatever else happened in between.
//
// Thread-safety: not synchronised. One writer mutates it; concurrent readers
// need their own copy (Clone()). A model may be read while another that
// shares its pages is written: writes never go to a shared page, and page
// reference counts change only in the writer's calls (Clone, ShareUsers,
// ShareWritten*Pages, assignment) and in a copy's destruction.
#pragma once

#include <Eigen/Core>
#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/core/cow_pages.h"
#include "engine/core/page_pool.h"
#include "engine/core/status.h"
#include "engine/model/rows_view.h"

namespace streamrec::engine {

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

inline constexpr int kDefaultRank = 64;
// The largest rank the engine takes (ValidateModelOptions): 4 KB per row,
// far past where more dimensions help.
inline constexpr int kMaxRank = 1024;

struct ModelOptions {
  // Latent dimensions k. More fits finer taste structure but costs 4k bytes
  // per row and O(k) per update and per scored item.
  int rank = kDefaultRank;
  // Std-dev of new factor entries. Small keeps a cold row near zero, so an
  // unseen item scores about its bias and new users do not get noise.
  float init_stddev = 0.1f;
  // Rows past the first this many users / items start smaller: row r at
  // init_stddev x sqrt(N / (r + 1)); 0 starts every row at init_stddev.
  // The online implicit step moves a row only with the events on it, so a
  // row with one or two events keeps most of its start, and n starts add
  // n x init_stddev^2 to every direction of their side's Gramian. At 100k
  // items 0.1 is the best start; at 1M items (all at 0.1) the long tail
  // won ~4% of each top 10 at random and put the model below the popular
  // list. Shrinking the later rows' starts keeps their sum to a logarithm
  // of the row count past N. Rows are numbered in order of first sight, so
  // the tail is what shrinks. Measured (docs/SCALE.md, rounds 24 and 26).
  uint32_t init_full_scale_users = 500000;
  uint32_t init_full_scale_items = 50000;
  // Seed of the initial vectors; part of the model's identity.
  uint64_t seed = 42;
};

// InvalidArgument naming the field ("rank must be in [1, 1024], got 0")
// unless rank is in [1, kMaxRank] and init_stddev finite and >= 0.
Status ValidateModelOptions(const ModelOptions& options);

class MFModel {
 public:
  // Users per page of user factors: 4 KB at k = 64, so the copy a write
  // to a shared page makes (once per page and run of changes) costs about
  // a tenth of an implicit step.
  static constexpr uint32_t kUserPageRows = 16;
  // Items per page: as many (both sides draw pages from one PagePool, and
  // a RowsView reads either). A run's step copies each item page it first
  // writes; the follower copies the rows it follows into its own pages and
  // takes the leader's at the run's end (ShareWrittenItemPages).
  static constexpr uint32_t kItemPageRows = RowsView::kPageRows;
  static_assert(kItemPageRows == kUserPageRows);

  explicit MFModel(const ModelOptions& options);
  MFModel(const MFModel&) = delete;
  MFModel& operator=(const MFModel&) = delete;
  MFModel(MFModel&&) = default;
  MFModel& operator=(MFModel&&) = default;

  // A copy, for publishing to readers or forking a retrain. Pages are
  // shared until either model writes them.
  MFModel Clone() const;

  const ModelOptions& options() const { return options_; }
  int rank() const { return options_.rank; }
  uint32_t num_users() const { return static_cast<uint32_t>(user_bias_.size()); }
  uint32_t num_items() const { return static_cast<uint32_t>(item_bias_.size()); }

  // Append rows until there are at least n users / items.
  void EnsureUsers(uint32_t n);
  void EnsureItems(uint32_t n);

  // user_factors(u), item_factors(i): size rank(). The non-const ones are
  // for writing: they make the row's page this model's own first (a copy
  // if it is shared). Read through a const model.
  float* user_factors(uint32_t u) {
    return OwnPage(&user_pages_, u / kUserPageRows) + size_t{u % kUserPageRows} * rank();
  }
  const float* user_factors(uint32_t u) const {
    return user_pages_[u / kUserPageRows].get() + size_t{u % kUserPageRows} * rank();
  }
  float* item_factors(uint32_t i) {
    return OwnPage(&item_pages_, i / kItemPageRows) + size_t{i % kItemPageRows} * rank();
  }
  const float* item_factors(uint32_t i) const {
    return item_pages_[i / kItemPageRows].get() + size_t{i % kItemPageRows} * rank();
  }
  // Every item row, to read (scans, the int8 mirror, the IVF index).
  // Invalidated by EnsureItems() and by any write through item_factors(i).
  RowsView item_rows() const { return RowsView::Paged(item_pages_.data()); }
  // The user rows [first, first + count) of one page, contiguous: calls
  // fn(first, count, rows) for each page in order (for whole-matrix work
  // such as a Gramian or a checksum).
  template <typename Fn>
  void ForEachUserBlock(Fn&& fn) const {
    ForEachBlock(user_pages_, num_users(), fn);
  }
  // The same for item rows.
  template <typename Fn>
  void ForEachItemBlock(Fn&& fn) const {
    ForEachBlock(item_pages_, num_items(), fn);
  }
  // All user (item) factors as one num_users() (num_items()) x rank()
  // matrix, a copy, and back (batch training works on the copy).
  RowMatrixXf UserRows() const;
  void SetUserRows(const RowMatrixXf& rows);
  RowMatrixXf ItemRows() const;
  void SetItemRows(const RowMatrixXf& rows);
  // Grows this model to n users (n <= other.num_users()) by sharing
  // `other`'s pages and copying its biases: the pages that hold the new
  // users become other's whole, rows before num_users() in the first of
  // them included. The follower of a Left-Right pair takes the rows its
  // leader's step moved this way (Recommender::ApplyFollowing), as it
  // takes user u's page with ShareUserPage (u < both num_users()).
  void ShareUsers(const MFModel& other, uint32_t n);
  void ShareUserPage(const MFModel& other, uint32_t u);
  // Shares every user page of `other`, which has as many users (a model
  // decoded from other's snapshot, equal bit for bit).
  void ShareAllUsers(const MFModel& other);
  // The same for item pages. A follower copies the item rows its leader's
  // step moved (Recommender::ApplyFollowing: its IVF index must see each
  // row's move, and a shared page would move its neighbours unseen), then
  // takes the leader's pages here.
  void ShareWrittenItemPages(const MFModel& other);
  // Makes every page, user and item, this model's own (copies the shared
  // ones): after it, threads may write distinct rows at once.
  void OwnAllPages();
  // Takes `other`'s page in place of each page this model wrote since the
  // last call (through user_factors(u), or new) and holds alone: for a
  // model that has just applied what `other` applied, so the pages are
  // equal bit for bit and are then held once (Recommender::FinishFollowing).
  void ShareWrittenUserPages(const MFModel& other);
  // User pages this model holds that no other model shares, and in all.
  size_t OwnUserPages() const;
  size_t UserPages() const { return user_pages_.size(); }
  // Bytes of the user page table (the pages are UserPages() x
  // kUserPageRows x rank() floats).
  size_t UserPageTableBytes() const { return user_pages_.TableBytes(); }
  // The same for item pages.
  size_t OwnItemPages() const { return item_pages_.OwnPages(); }
  size_t ItemPages() const { return item_pages_.size(); }
  size_t ItemPageTableBytes() const { return item_pages_.TableBytes(); }
  // Bytes of freed pages kept for the next copies (PagePool; shared with
  // the models Clone made).
  size_t PagePoolBytes() const { return page_pool_->FreeBytes(); }

  float& user_bias(uint32_t u) { return user_bias_[u]; }
  float user_bias(uint32_t u) const { return user_bias_[u]; }
  float& item_bias(uint32_t i) { return item_bias_[i]; }
  float item_bias(uint32_t i) const { return item_bias_[i]; }
  const float* item_biases() const { return item_bias_.data(); }
  const float* user_biases() const { return user_bias_.data(); }
  float& global_mean() { return global_mean_; }
  float global_mean() const { return global_mean_; }

  float Predict(uint32_t u, uint32_t i) const;

  // Resets every row to its initial random vector and zeroes the biases
  // (batch training starts here).
  void Reinitialize();

  // The deterministic initial vector of a row: out size rank().
  void InitialVector(char kind, uint32_t row, float* out) const;
  // The std-dev InitialVector draws that row's entries with ('u' or 'i').
  float InitialStddev(char kind, uint32_t row) const;

  // Replaces every row and the global mean at once (restoring a snapshot).
  // InvalidArgument, leaving the model unchanged, unless the factor blocks
  // hold exactly rank() floats per bias entry.
  Status SetRows(float global_mean, std::vector<float> user_factors,
                 std::vector<float> item_factors, std::vector<float> user_bias,
                 std::vector<float> item_bias);

 private:
  // Page p, copied first if another model shares it; noted as written.
  float* OwnPage(CowPages<float[]>* pages, uint32_t p);
  // Pages for n rows (new ones zeroed, owned).
  void ResizePages(CowPages<float[]>* pages, uint32_t n);
  // Writes `n` rows of k floats, row-major, into the pages.
  void CopyRowsIn(const float* rows, uint32_t n, CowPages<float[]>* pages);
  RowMatrixXf CopyRowsOut(const CowPages<float[]>& pages, uint32_t n) const;
  // fn(first, count, rows) for each page of the n rows in `pages`, in order.
  template <typename Fn>
  static void ForEachBlock(const CowPages<float[]>& pages, uint32_t n, Fn& fn) {
    for (uint32_t first = 0; first < n; first += kUserPageRows) {
      fn(first, std::min(kUserPageRows, n - first),
         static_cast<const float*>(pages[first / kUserPageRows].get()));
    }
  }

  ModelOptions options_;
  float global_mean_ = 0.0f;
  // ceil(num_users() / kUserPageRows) pages of kUserPageRows * rank()
  // floats; rows past num_users() in the last one are unused (zero, or
  // another model's rows after ShareUsers). A page is a bare float array:
  // reading a row is one dependent load, not two (the learners gather
  // dozens of random rows per event).
  CowPages<float[]> user_pages_;
  // Where every page, user or item, comes from and goes back to: the two
  // Left-Right copies trade pages every run (page_pool.h). At most
  // kPagePoolBytes of freed pages keep their memory there. It must hold a
  // run's worth: the first copy takes a page for each it writes, and the
  // second frees as many at the run's end, which the next run takes
  // again. At 500k users x 100k items, `bench scale`'s HTTP ingest (4 x
  // 1000-event batches) trades ~22 MB of pages a run; with 16 MB here the
  // rest were given back (a madvise each, with a TLB shootdown on the
  // other core) and faulted in again, zeroed, by the next run: ~10% of
  // the model thread, 16.1-16.7 against 12.0-15.3 us per event.
  static constexpr size_t kPagePoolBytes = size_t{64} << 20;
  std::shared_ptr<PagePool> page_pool_;
  // ceil(num_items() / kItemPageRows) pages, as user_pages_.
  CowPages<float[]> item_pages_;
  std::vector<float> user_bias_;
  std::vector<float> item_bias_;
};

}  // namespace streamrec::engine
