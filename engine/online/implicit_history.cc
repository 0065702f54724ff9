// ImplicitOnlineUpdater's interaction history: each distinct (user, item)
// cell once in its user's row and once in its item's, the index of long
// user rows, and what rebuilds, restores, trims or forgets it. The row
// updates that read it are in implicit_row_update.cc.
#include <fmt/format.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/growth.h"
#include "engine/online/implicit_online.h"

namespace streamrec::engine {
namespace {

constexpr uint32_t kMaxId = uint32_t{1} << 31;

}  // namespace

uint32_t ImplicitOnlineUpdater::FindIn(const PagedRows<UserCell>& rows,
                                       const FlatMap64<uint32_t>& long_rows, uint32_t u,
                                       uint32_t i) {
  if (u >= rows.size()) return UINT32_MAX;
  const std::span<const UserCell> row = rows.Row(u);
  if (row.size() > kShortRow) {
    const uint32_t* at = long_rows.find(Key(u, i));
    return at == nullptr ? UINT32_MAX : *at;
  }
  for (uint32_t at = 0; at < row.size(); ++at) {
    if (row[at].id == i) return at;
  }
  return UINT32_MAX;
}

void ImplicitOnlineUpdater::IndexRow(uint32_t u) {
  const std::span<const UserCell> row = user_cells_.Row(u);
  for (uint32_t at = 0; at < row.size(); ++at) long_rows_.try_emplace(Key(u, row[at].id), at);
}

ImplicitOnlineUpdater::CellPos ImplicitOnlineUpdater::AddToCell(uint32_t u, uint32_t i, float w) {
  // Rows grow by an eighth (engine/core/growth.h): Compact trims them.
  user_cells_.Resize(size_t{u} + 1);
  ResizeGrowing(&item_cells_, size_t{i} + 1);
  const uint32_t at = FindInUser(u, i);
  if (at != UINT32_MAX) {
    const uint32_t in_item = user_cells_.Row(u)[at].in_item;
    item_cells_[i][in_item].strength += w;
    return {at, in_item};
  }
  const CellPos next{static_cast<uint32_t>(user_cells_.Row(u).size()),
                     static_cast<uint32_t>(item_cells_[i].size())};
  user_cells_.Append(u, UserCell{i, next.in_item});
  AppendGrowing(&item_cells_[i], Cell{u, w});
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
  item_cells_.assign(by_user.cols, {});
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
    // Only other users' rows change in the loop (in place): the span stays.
    const std::span<const UserCell> row = user_cells_.Row(u);
    const bool indexed = row.size() > kShortRow;
    for (const UserCell& cell : row) {
      touched.push_back(cell.id);
      auto& list = item_cells_[cell.id];
      const uint32_t at = cell.in_item;
      if (at + 1 != list.size()) {
        // The item's last cell takes the slot: its user's copy must say so.
        list[at] = list.back();
        const uint32_t v = list[at].id;
        user_cells_.MutableRow(v)[FindInUser(v, cell.id)].in_item = at;
      }
      list.pop_back();
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
  const std::span<const Cell> cells = ItemCells(i);
  if (cells.size() > kMaxResolveCells) return;
  const int k = rank_;
  Eigen::Map<Eigen::VectorXf> q(model->item_factors(i), k);
  const Eigen::VectorXf old = q;
  if (cells.empty()) {
    q.setZero();
  } else {
    // (S_u + Σ (c-1) p pᵀ + λ_i I) q = Σ c p, in double: the normal
    // equations of the row, with λ_i as UpdateRow scales it.
    Eigen::MatrixXd a = user_gramian_.cast<double>();
    Eigen::VectorXd b = Eigen::VectorXd::Zero(k);
    for (const Cell& cell : cells) {
      const Eigen::VectorXd p =
          Eigen::Map<const Eigen::VectorXf>(rows.user_factors(cell.id), k).cast<double>();
      const double c = 1.0 + double{options_.alpha} * cell.strength;
      a.selfadjointView<Eigen::Lower>().rankUpdate(p, c - 1.0);
      b += c * p;
    }
    const double lambda =
        options_.regularization_exponent == 0.0f
            ? double{options_.regularization}
            : options_.regularization * std::pow(static_cast<double>(cells.size()),
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
  // The user rows, checked, with their item positions filled in below.
  // Each page is allocated once, at its size, and filled in order.
  PagedRows<UserCell> user_cells;
  user_cells.Assign(state.user_cells.size());
  FlatMap64<uint32_t> long_rows;
  size_t user_total = 0;
  for (uint32_t u = 0; u < state.user_cells.size(); ++u) {
    const auto& row = state.user_cells[u];
    if (u % PagedRows<UserCell>::kPageRows == 0) {
      const size_t last =
          std::min<size_t>(state.user_cells.size(), size_t{u} + PagedRows<UserCell>::kPageRows);
      size_t page = 0;
      for (size_t v = u; v < last; ++v) page += state.user_cells[v].size();
      user_cells.ReservePage(u, page);
    }
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
      user_cells.Append(u, {c.id, UINT32_MAX});
    }
  }
  std::vector<std::vector<Cell>> item_cells(state.item_users.size());
  size_t item_total = 0;
  for (uint32_t i = 0; i < state.item_users.size(); ++i) {
    // Taken out of the state, so that each list is freed once consumed:
    // the lists were decoded side by side, and the freed ones make room
    // for the item rows. A restart of `serve` from a snapshot of 500k
    // users x 5M cells peaked at 413-418 MiB with every list held to the
    // end, 394 MiB so; it holds 376 MiB once open. (The user lists must
    // stay: the item rows take their strengths from them. Moving those
    // strengths beside the new user rows, to free each user list at once,
    // peaked at 397 MiB.)
    const std::vector<uint32_t> users = std::move(state.item_users[i]);
    item_total += users.size();
    item_cells[i].reserve(users.size());
    for (uint32_t at = 0; at < users.size(); ++at) {
      const uint32_t in_user = FindIn(user_cells, long_rows, users[at], i);
      if (in_user == UINT32_MAX || user_cells.Row(users[at])[in_user].in_item != UINT32_MAX) {
        return Status::InvalidArgument(
            fmt::format("item {}: user {} is not in that user's history once", i, users[at]));
      }
      user_cells.MutableRow(users[at])[in_user].in_item = at;
      item_cells[i].push_back({users[at], state.user_cells[users[at]][in_user].strength});
    }
  }
  if (item_total != user_total) {
    return Status::InvalidArgument(
        fmt::format("{} cells by user but {} by item", user_total, item_total));
  }
  user_gramian_ = std::move(state.user_gramian);
  item_gramian_ = std::move(state.item_gramian);
  users_tracked_ = state.users_tracked;
  items_tracked_ = state.items_tracked;
  row_updates_ = state.row_updates;
  user_cells_ = std::move(user_cells);
  item_cells_ = std::move(item_cells);
  long_rows_ = std::move(long_rows);
  return Status::OK();
}

void ImplicitOnlineUpdater::Compact() {
  user_cells_.Compact();
  RepackRows(&item_cells_);
}

size_t ImplicitOnlineUpdater::RowBytes() const {
  size_t bytes = user_cells_.MemoryBytes() + item_cells_.capacity() * sizeof(std::vector<Cell>);
  for (const std::vector<Cell>& row : item_cells_) bytes += row.capacity() * sizeof(Cell);
  return bytes;
}

std::span<const ImplicitOnlineUpdater::UserCell> ImplicitOnlineUpdater::UserCells(
    uint32_t u) const {
  if (u >= user_cells_.size()) return {};
  return user_cells_.Row(u);
}

std::span<const ImplicitOnlineUpdater::Cell> ImplicitOnlineUpdater::ItemCells(uint32_t i) const {
  if (i >= item_cells_.size()) return {};
  return item_cells_[i];
}

}  // namespace streamrec::engine
