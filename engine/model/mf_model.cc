#include "engine/model/mf_model.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "engine/core/random.h"

namespace streamrec::engine {

Status ValidateModelOptions(const ModelOptions& o) {
  if (o.rank < 1 || o.rank > kMaxRank) {
    return Status::InvalidArgument(
        fmt::format("rank must be in [1, {}], got {}", kMaxRank, o.rank));
  }
  if (!std::isfinite(o.init_stddev) || o.init_stddev < 0) {
    return Status::InvalidArgument(
        fmt::format("init_stddev must be finite and >= 0, got {}", o.init_stddev));
  }
  return Status::OK();
}

namespace {

// Bytes of one page (kUserPageRows = kItemPageRows rows of `rank` floats).
size_t PageBytes(int rank) {
  return size_t{MFModel::kUserPageRows} * std::max(rank, 1) * sizeof(float);
}

}  // namespace

MFModel::MFModel(const ModelOptions& options)
    : options_(options),
      page_pool_(std::make_shared<PagePool>(PageBytes(options.rank),
                                            kPagePoolBytes / PageBytes(options.rank))) {
  assert(options_.rank > 0);
}

MFModel MFModel::Clone() const {
  MFModel m(options_);
  m.global_mean_ = global_mean_;
  m.user_pages_.ShareAll(user_pages_);  // shared until written (OwnPage)
  m.page_pool_ = page_pool_;
  m.item_pages_.ShareAll(item_pages_);
  m.user_bias_ = user_bias_;
  m.item_bias_ = item_bias_;
  return m;
}

void MFModel::InitialVector(char kind, uint32_t row, float* out) const {
  // Hash (seed, kind, row) into the generator's start: seeding with a plain
  // row * increment would make row r+1's draws row r's shifted by one.
  SplitMix64 mix(options_.seed ^ (uint64_t{static_cast<unsigned char>(kind)} << 56));
  const uint64_t base = mix.Next();
  SplitMix64 start(base ^ (uint64_t{row} * 0xD6E8FEB86659FD93ull));
  SplitMix64 rng(start.Next());
  const float stddev = InitialStddev(kind, row);
  for (int d = 0; d < rank(); ++d) out[d] = stddev * rng.NextGaussian();
}

float MFModel::InitialStddev(char kind, uint32_t row) const {
  const uint32_t full =
      kind == 'u' ? options_.init_full_scale_users : options_.init_full_scale_items;
  if (full == 0 || row < full) return options_.init_stddev;
  const double share = static_cast<double>(full) / (static_cast<double>(row) + 1.0);
  return static_cast<float>(options_.init_stddev * std::sqrt(share));
}

float* MFModel::OwnPage(CowPages<float[]>* pages, uint32_t p) {
  const size_t floats = size_t{kUserPageRows} * rank();
  return pages
      ->Own(p,
            [this, floats](const std::shared_ptr<float[]>& page) {
              std::shared_ptr<float[]> copy = PoolPage(page_pool_);
              std::copy_n(page.get(), floats, copy.get());
              return copy;
            })
      .get();
}

void MFModel::ShareWrittenUserPages(const MFModel& other) {
  assert(rank() == other.rank());
  user_pages_.ShareWritten(other.user_pages_);
}

void MFModel::ResizePages(CowPages<float[]>* pages, uint32_t n) {
  const size_t count = (size_t{n} + kUserPageRows - 1) / kUserPageRows;
  const size_t floats = size_t{kUserPageRows} * rank();
  if (count < pages->size()) pages->Resize(count);
  while (pages->size() < count) {
    std::shared_ptr<float[]> page = PoolPage(page_pool_);
    std::fill_n(page.get(), floats, 0.0f);
    pages->PushBack(std::move(page));
  }
}

void MFModel::EnsureUsers(uint32_t n) {
  const uint32_t old = num_users();
  if (n <= old) return;
  ResizePages(&user_pages_, n);
  user_bias_.resize(n, 0.0f);
  for (uint32_t u = old; u < n; ++u) InitialVector('u', u, user_factors(u));
}

void MFModel::ShareUsers(const MFModel& other, uint32_t n) {
  assert(n <= other.num_users() && rank() == other.rank());
  const uint32_t old = num_users();
  if (n <= old) return;
  // Every slot from old's page on is assigned below: no page is made.
  user_pages_.Resize((size_t{n} + kUserPageRows - 1) / kUserPageRows);
  user_bias_.resize(n, 0.0f);
  std::copy(other.user_bias_.begin() + old, other.user_bias_.begin() + n, user_bias_.begin() + old);
  for (size_t p = old / kUserPageRows; p < user_pages_.size(); ++p) {
    user_pages_.Share(p, other.user_pages_);
  }
}

void MFModel::ShareUserPage(const MFModel& other, uint32_t u) {
  assert(u < num_users() && u < other.num_users());
  user_pages_.Share(u / kUserPageRows, other.user_pages_);
}

void MFModel::ShareAllUsers(const MFModel& other) {
  assert(num_users() == other.num_users() && rank() == other.rank());
  user_pages_.ShareAll(other.user_pages_);
}

void MFModel::OwnAllPages() {
  for (uint32_t p = 0; p < user_pages_.size(); ++p) (void)OwnPage(&user_pages_, p);
  for (uint32_t p = 0; p < item_pages_.size(); ++p) (void)OwnPage(&item_pages_, p);
}

size_t MFModel::OwnUserPages() const { return user_pages_.OwnPages(); }

void MFModel::ShareWrittenItemPages(const MFModel& other) {
  assert(rank() == other.rank());
  item_pages_.ShareWritten(other.item_pages_);
}

RowMatrixXf MFModel::CopyRowsOut(const CowPages<float[]>& pages, uint32_t n) const {
  RowMatrixXf rows(n, rank());
  RowsView::Paged(pages.data()).CopyTo(0, n, rank(), rows.data());
  return rows;
}

RowMatrixXf MFModel::UserRows() const { return CopyRowsOut(user_pages_, num_users()); }
RowMatrixXf MFModel::ItemRows() const { return CopyRowsOut(item_pages_, num_items()); }

void MFModel::SetUserRows(const RowMatrixXf& rows) {
  assert(rows.rows() == num_users() && rows.cols() == rank());
  CopyRowsIn(rows.data(), num_users(), &user_pages_);
}

void MFModel::SetItemRows(const RowMatrixXf& rows) {
  assert(rows.rows() == num_items() && rows.cols() == rank());
  CopyRowsIn(rows.data(), num_items(), &item_pages_);
}

void MFModel::CopyRowsIn(const float* rows, uint32_t n, CowPages<float[]>* pages) {
  for (uint32_t first = 0; first < n; first += kUserPageRows) {
    const uint32_t count = std::min(kUserPageRows, n - first);
    std::copy_n(rows + size_t{first} * rank(), size_t{count} * rank(),
                OwnPage(pages, first / kUserPageRows));
  }
}

void MFModel::EnsureItems(uint32_t n) {
  const uint32_t old = num_items();
  if (n <= old) return;
  ResizePages(&item_pages_, n);
  item_bias_.resize(n, 0.0f);
  for (uint32_t i = old; i < n; ++i) InitialVector('i', i, item_factors(i));
}

float MFModel::Predict(uint32_t u, uint32_t i) const {
  float dot = 0.0f;
  if (u < num_users() && i < num_items()) {
    Eigen::Map<const Eigen::VectorXf> p(user_factors(u), rank());
    Eigen::Map<const Eigen::VectorXf> q(item_factors(i), rank());
    dot = p.dot(q);
  }
  const float bu = u < num_users() ? user_bias_[u] : 0.0f;
  const float bi = i < num_items() ? item_bias_[i] : 0.0f;
  return global_mean_ + bu + bi + dot;
}

void MFModel::Reinitialize() {
  for (uint32_t u = 0; u < num_users(); ++u) InitialVector('u', u, user_factors(u));
  for (uint32_t i = 0; i < num_items(); ++i) InitialVector('i', i, item_factors(i));
  std::fill(user_bias_.begin(), user_bias_.end(), 0.0f);
  std::fill(item_bias_.begin(), item_bias_.end(), 0.0f);
  global_mean_ = 0.0f;
}

Status MFModel::SetRows(float global_mean, std::vector<float> user_factors,
                        std::vector<float> item_factors, std::vector<float> user_bias,
                        std::vector<float> item_bias) {
  constexpr size_t kMaxRows = std::numeric_limits<uint32_t>::max();
  const size_t k = static_cast<size_t>(rank());
  if (user_bias.size() > kMaxRows || item_bias.size() > kMaxRows ||
      user_factors.size() != user_bias.size() * k || item_factors.size() != item_bias.size() * k) {
    return Status::InvalidArgument(fmt::format(
        "rows do not fit rank {}: {} user factors for {} users, {} item factors for {} items", k,
        user_factors.size(), user_bias.size(), item_factors.size(), item_bias.size()));
  }
  global_mean_ = global_mean;
  user_bias_ = std::move(user_bias);
  user_pages_.Clear();
  ResizePages(&user_pages_, num_users());
  CopyRowsIn(user_factors.data(), num_users(), &user_pages_);
  item_bias_ = std::move(item_bias);
  item_pages_.Clear();
  ResizePages(&item_pages_, num_items());
  CopyRowsIn(item_factors.data(), num_items(), &item_pages_);
  return Status::OK();
}

}  // namespace streamrec::engine
