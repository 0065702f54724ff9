// ImplicitOnlineUpdater's interaction history: each distinct (user, item)
// cell once in its user's row and once in its item's, the index of long
// user rows, and what rebuilds, restores, trims or forgets it. The row
// updates that read it are in implicit_online.cc.
#include <fmt/format.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "engine/core/growth.h"
#include "engine/online/implicit_online.h"

namespace streamrec::engine {
namespace {

constexpr uint32_t kMaxId = uint32_t{1} << 31;

// Where item i is in a short row, or UINT32_MAX. The item's row update
// searches a user row for each of up to 32 picked users (Strength), one
// cell at a time: ~10% of a replay's model thread, the cells in cache.
// Eight cells a step where AVX2 is available (the ids are the even 32-bit
// lanes of the cells).
uint32_t FindInRow(std::span<const ImplicitOnlineUpdater::Cell> row, uint32_t i) {
  static_assert(sizeof(ImplicitOnlineUpdater::Cell) == 8);
  size_t at = 0;
#if defined(__AVX2__)
  const __m256i want = _mm256_set1_epi32(static_cast<int>(i));
  for (; at + 8 <= row.size(); at += 8) {
    const auto* p = reinterpret_cast<const __m256i*>(row.data() + at);
    const auto lo = static_cast<uint32_t>(
        _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_loadu_si256(p), want))));
    const auto hi = static_cast<uint32_t>(_mm256_movemask_ps(
        _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_loadu_si256(p + 1), want))));
    const uint32_t ids = (lo | hi << 8) & 0x5555u;  // the even lanes: ids, not strengths
    if (ids != 0) return static_cast<uint32_t>(at) + std::countr_zero(ids) / 2;
  }
#endif
  for (; at < row.size(); ++at) {
    if (row[at].id == i) return static_cast<uint32_t>(at);
  }
  return UINT32_MAX;
}

}  // namespace

uint32_t ImplicitOnlineUpdater::FindIn(const PagedRows<Cell>& rows,
                                       const FlatMap64<uint32_t>& long_rows, uint32_t u,
                                       uint32_t i) {
  if (u >= rows.size()) return UINT32_MAX;
  const std::span<const Cell> row = rows.Row(u);
  if (row.size() > kShortRow) {
    const uint32_t* at = long_rows.find(Key(u, i));
    return at == nullptr ? UINT32_MAX : *at;
  }
  return FindInRow(row, i);
}

float ImplicitOnlineUpdater::Strength(uint32_t u, uint32_t i) const {
  const uint32_t at = FindInUser(u, i);
  return at == UINT32_MAX ? 0.0f : user_cells_.Row(u)[at].strength;
}

void ImplicitOnlineUpdater::IndexRow(uint32_t u) {
  const std::span<const Cell> row = user_cells_.Row(u);
  for (uint32_t at = 0; at < row.size(); ++at) long_rows_.try_emplace(Key(u, row[at].id), at);
}

ImplicitOnlineUpdater::CellPos ImplicitOnlineUpdater::AddToCell(uint32_t u, uint32_t i, float w) {
  // Rows grow by an eighth (engine/core/growth.h): Compact trims them.
  user_cells_.Resize(size_t{u} + 1);
  ResizeGrowing(&item_users_, size_t{i} + 1);
  const uint32_t at = FindInUser(u, i);
  if (at != UINT32_MAX) {
    user_cells_.MutableRow(u)[at].strength += w;
    return {at, kUnknownPos};
  }
  const CellPos next{static_cast<uint32_t>(user_cells_.Row(u).size()),
                     static_cast<uint32_t>(item_users_[i].size())};
  user_cells_.Append(u, Cell{i, w});
  AppendGrowing(&item_users_[i], u);
  const size_t length = size_t{next.in_user} + 1;
  if (length == kShortRow + 1) {
    IndexRow(u);
  } else if (length > kShortRow + 1) {
    long_rows_.try_emplace(Key(u, i), next.in_user);
  }
  return next;
}

Status ImplicitOnlineUpdater::CheckInteraction(uint32_t u, uint32_t i, float strength) {
  if (!(strength > 0.0f) || !std::isfinite(strength)) {
    return Status::InvalidArgument(fmt::format("strength {} is not finite and > 0", strength));
  }
  if (u >= kMaxId || i >= kMaxId) return Status::InvalidArgument("user or item index too large");
  return Status::OK();
}

Status ImplicitOnlineUpdater::RecordInteraction(uint32_t u, uint32_t i, float strength) {
  STREAMREC_RETURN_IF_ERROR(CheckInteraction(u, i, strength));
  AddToCell(u, i, strength);
  return Status::OK();
}

void ImplicitOnlineUpdater::SetHistory(const ImplicitMatrix& by_user) {
  user_cells_.Assign(by_user.rows);
  item_users_.assign(by_user.cols, {});
  long_rows_.clear();
  for (uint32_t u = 0; u < by_user.rows; ++u) {
    for (size_t e = by_user.offsets[u]; e < by_user.offsets[u + 1]; ++e) {
      AddToCell(u, by_user.indices[e], by_user.strength[e]);
    }
  }
}

void ImplicitOnlineUpdater::ForgetUser(MFModel* model, uint32_t u) {
  std::vector<uint32_t> touched;
  if (u < user_cells_.size()) {
    const std::span<const Cell> row = user_cells_.Row(u);
    const bool indexed = row.size() > kShortRow;
    for (const Cell& cell : row) {
      touched.push_back(cell.id);
      // A search of the item's row (each user once in it): forgetting is
      // rare, and a position kept per cell cost 4 bytes a cell.
      std::vector<uint32_t>& list = item_users_[cell.id];
      const auto at = std::find(list.begin(), list.end(), u);
      if (at != list.end()) {
        *at = list.back();  // the item's last user takes the slot
        list.pop_back();
      }
      if (indexed) long_rows_.erase(Key(u, cell.id));
    }
    user_cells_.ClearRow(u);
  }
  if (u < model->num_users()) {
    float* p = model->user_factors(u);
    if (u < users_tracked_) {
      const Eigen::VectorXf old = Eigen::Map<const Eigen::VectorXf>(p, rank_);
      user_gramian_.noalias() -= old * old.transpose();
    }
    std::fill(p, p + rank_, 0.0f);
  }
  if (!options_.update_items) return;  // item vectors change only at retrain
  std::sort(touched.begin(), touched.end());
  for (uint32_t i : touched) ResolveItem(model, i);
}

void ImplicitOnlineUpdater::ResolveItem(MFModel* model, uint32_t i) {
  if (i >= model->num_items()) return;
  TrackNewRows(*model);
  const MFModel& rows = *model;  // reads (MFModel::user_factors)
  const std::span<const uint32_t> users = ItemUsers(i);
  if (users.size() > kMaxResolveCells) return;
  const int k = rank_;
  Eigen::Map<Eigen::VectorXf> q(model->item_factors(i), k);
  const Eigen::VectorXf old = q;
  if (users.empty()) {
    q.setZero();
  } else {
    // (S_u + Σ (c-1) p pᵀ + λ_i I) q = Σ c p, in double: the normal
    // equations of the row, with λ_i as UpdateRow scales it.
    Eigen::MatrixXd a = user_gramian_.cast<double>();
    Eigen::VectorXd b = Eigen::VectorXd::Zero(k);
    for (const uint32_t v : users) {
      const Eigen::VectorXd p =
          Eigen::Map<const Eigen::VectorXf>(rows.user_factors(v), k).cast<double>();
      const double c = 1.0 + double{options_.alpha} * Strength(v, i);
      a.selfadjointView<Eigen::Lower>().rankUpdate(p, c - 1.0);
      b += c * p;
    }
    const double lambda =
        options_.regularization_exponent == 0.0f
            ? double{options_.regularization}
            : options_.regularization * std::pow(static_cast<double>(users.size()),
                                                 double{options_.regularization_exponent});
    a.diagonal().array() += lambda;
    q = a.selfadjointView<Eigen::Lower>().ldlt().solve(b).cast<float>();
    if (!q.allFinite()) q = old;  // a singular system: keep the row rather than break it
  }
  if (i < items_tracked_) {
    for (int c = 0; c < k; ++c) item_gramian_.col(c) += q[c] * q - old[c] * old;
  }
}

Status ImplicitOnlineUpdater::Restore(State state, uint32_t num_users, uint32_t num_items) {
  const auto k = static_cast<Eigen::Index>(rank_);
  for (const Eigen::MatrixXf* g : {&state.user_gramian, &state.item_gramian}) {
    if (g->rows() != k || g->cols() != k) return Status::InvalidArgument("Gramian is not k x k");
    if (!g->allFinite()) return Status::InvalidArgument("Gramian is not finite");
  }
  if (state.users_tracked > num_users || state.items_tracked > num_items) {
    return Status::InvalidArgument("more rows tracked than the model has");
  }
  if (state.user_cells.size() > num_users || state.item_users.size() > num_items) {
    return Status::InvalidArgument("history rows beyond the model's");
  }
  // The user rows, checked, each list freed once paged. Each page is
  // allocated once, at its size, and filled in order.
  PagedRows<Cell> user_cells;
  user_cells.Assign(state.user_cells.size());
  FlatMap64<uint32_t> long_rows;
  size_t user_total = 0;
  for (uint32_t u = 0; u < state.user_cells.size(); ++u) {
    if (u % PagedRows<Cell>::kPageRows == 0) {
      const size_t last =
          std::min<size_t>(state.user_cells.size(), size_t{u} + PagedRows<Cell>::kPageRows);
      size_t page = 0;
      for (size_t v = u; v < last; ++v) page += state.user_cells[v].size();
      user_cells.ReservePage(u, page);
    }
    const std::vector<Cell> row = std::move(state.user_cells[u]);
    user_total += row.size();
    for (uint32_t at = 0; at < row.size(); ++at) {
      const Cell& c = row[at];
      if (c.id >= state.item_users.size()) {
        return Status::InvalidArgument(fmt::format("user {}: item {} has no history", u, c.id));
      }
      if (!(c.strength > 0.0f) || !std::isfinite(c.strength)) {
        return Status::InvalidArgument(fmt::format("user {}: a strength is not finite and > 0", u));
      }
      const bool twice = row.size() > kShortRow
                             ? !long_rows.try_emplace(Key(u, c.id), at).second
                             : std::any_of(row.begin(), row.begin() + at,
                                           [&](const Cell& b) { return b.id == c.id; });
      if (twice) return Status::InvalidArgument(fmt::format("user {}: item {} twice", u, c.id));
      user_cells.Append(u, c);
    }
  }
  // Each item's users, matched to their cells once: a matched cell's
  // strength is negated (every strength is > 0, checked above) until all
  // are matched. Equal counts then make the match one to one.
  size_t item_total = 0;
  for (uint32_t i = 0; i < state.item_users.size(); ++i) {
    for (const uint32_t v : state.item_users[i]) {
      const uint32_t at = FindIn(user_cells, long_rows, v, i);
      if (at == UINT32_MAX || user_cells.Row(v)[at].strength < 0.0f) {
        return Status::InvalidArgument(
            fmt::format("item {}: user {} is not in that user's history once", i, v));
      }
      user_cells.MutableRow(v)[at].strength = -user_cells.Row(v)[at].strength;
    }
    item_total += state.item_users[i].size();
  }
  if (item_total != user_total) {
    return Status::InvalidArgument(
        fmt::format("{} cells by user but {} by item", user_total, item_total));
  }
  for (uint32_t u = 0; u < user_cells.size(); ++u) {
    for (Cell& c : user_cells.MutableRow(u)) c.strength = -c.strength;
  }
  user_gramian_ = std::move(state.user_gramian);
  item_gramian_ = std::move(state.item_gramian);
  users_tracked_ = state.users_tracked;
  items_tracked_ = state.items_tracked;
  row_updates_ = state.row_updates;
  user_cells_ = std::move(user_cells);
  item_users_ = std::move(state.item_users);
  long_rows_ = std::move(long_rows);
  return Status::OK();
}

void ImplicitOnlineUpdater::Compact() {
  user_cells_.Compact();
  RepackRows(&item_users_);
}

size_t ImplicitOnlineUpdater::RowBytes() const {
  size_t bytes = user_cells_.MemoryBytes() + item_users_.capacity() * sizeof(std::vector<uint32_t>);
  for (const std::vector<uint32_t>& row : item_users_) bytes += row.capacity() * sizeof(uint32_t);
  return bytes;
}

std::span<const ImplicitOnlineUpdater::Cell> ImplicitOnlineUpdater::UserCells(uint32_t u) const {
  if (u >= user_cells_.size()) return {};
  return user_cells_.Row(u);
}

std::span<const uint32_t> ImplicitOnlineUpdater::ItemUsers(uint32_t i) const {
  if (i >= item_users_.size()) return {};
  return item_users_[i];
}

}  // namespace streamrec::engine
