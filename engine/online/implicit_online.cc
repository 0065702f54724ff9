// ImplicitOnlineUpdater: its options, Gramians, the hints a batch gives
// (Prefetch) and the per-event entry points (Apply, Step). The row updates
// they run are in implicit_row_update.cc; the history in
// implicit_history.cc.
#include "engine/online/implicit_online.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace streamrec::engine {
namespace {

// The item rows' Gramian, a block of 1024 rows at a time (gathered from
// the pages: one GEMM per block, not per page).
Eigen::MatrixXf ItemGramian(const MFModel& model) {
  constexpr uint32_t kBlock = 1024;
  const RowsView rows = model.item_rows();
  Eigen::MatrixXf g = Eigen::MatrixXf::Zero(model.rank(), model.rank());
  std::vector<float> gathered;
  for (uint32_t first = 0; first < model.num_items(); first += kBlock) {
    const uint32_t count = std::min(kBlock, model.num_items() - first);
    Eigen::Map<const RowMatrixXf> m(rows.Block(first, count, model.rank(), &gathered), count,
                                    model.rank());
    g.noalias() += m.transpose() * m;
  }
  return g;
}

// The users' Gramian, page by page (MFModel::ForEachUserBlock).
Eigen::MatrixXf UserGramian(const MFModel& model) {
  Eigen::MatrixXf g = Eigen::MatrixXf::Zero(model.rank(), model.rank());
  model.ForEachUserBlock([&](uint32_t, uint32_t count, const float* rows) {
    Eigen::Map<const RowMatrixXf> m(rows, count, model.rank());
    g.noalias() += m.transpose() * m;
  });
  return g;
}

}  // namespace

ImplicitOnlineOptions ImplicitOnlineOptions::FromTraining(const ImplicitObjective& t) {
  ImplicitOnlineOptions o;
  o.alpha = t.alpha;
  o.regularization = t.regularization;
  o.regularization_exponent = t.regularization_exponent;
  return o;
}

ImplicitOnlineUpdater::ImplicitOnlineUpdater(const ImplicitOnlineOptions& options,
                                             const MFModel& model)
    : options_(options), rank_(model.rank()) {
  Resync(model);
}

Status ImplicitOnlineUpdater::Validate(const ImplicitOnlineOptions& o) {
  STREAMREC_RETURN_IF_ERROR(o.objective().Validate());
  if (o.sweeps < 1 || o.sweeps > 100) {
    return Status::InvalidArgument("implicit online sweeps must be in [1, 100]");
  }
  if (o.max_user_cells < 2 || o.max_item_cells < 2) {
    return Status::InvalidArgument("max_user_cells and max_item_cells must be >= 2");
  }
  if (!(o.min_item_step >= 0.0f && o.min_item_step <= 1.0f)) {
    return Status::InvalidArgument("min_item_step must be in [0, 1]");
  }
  if (o.gramian_refresh_interval < 1) {
    return Status::InvalidArgument("gramian_refresh_interval must be >= 1");
  }
  return Status::OK();
}

void ImplicitOnlineUpdater::Resync(const MFModel& model) {
  Gramians fresh = GramiansOf(model);
  SwapGramians(&fresh);
}

ImplicitOnlineUpdater::Gramians ImplicitOnlineUpdater::GramiansOf(const MFModel& model) {
  return {UserGramian(model), ItemGramian(model), model.num_users(), model.num_items(), 0};
}

void ImplicitOnlineUpdater::SwapGramians(Gramians* other) {
  user_gramian_.swap(other->user);
  item_gramian_.swap(other->item);
  std::swap(users_tracked_, other->users_tracked);
  std::swap(items_tracked_, other->items_tracked);
  std::swap(row_updates_, other->row_updates);
}

void ImplicitOnlineUpdater::TrackNewRows(const MFModel& model) {
  const int k = rank_;
  for (; users_tracked_ < model.num_users(); ++users_tracked_) {
    const Eigen::Map<const Eigen::VectorXf> y(model.user_factors(users_tracked_), k);
    user_gramian_.noalias() += y * y.transpose();
  }
  for (; items_tracked_ < model.num_items(); ++items_tracked_) {
    const Eigen::Map<const Eigen::VectorXf> y(model.item_factors(items_tracked_), k);
    item_gramian_.noalias() += y * y.transpose();
  }
}

void ImplicitOnlineUpdater::Prefetch(const MFModel& model, uint32_t u, uint32_t i,
                                     int stage) const {
  const bool user_known = u < user_cells_.size();
  const bool item_known = i < item_cells_.size();
  const size_t row_bytes = sizeof(float) * static_cast<size_t>(rank_);
  // Row updates before the event's: it is stage + 1 events ahead.
  const uint64_t per_event = options_.update_items ? 2 : 1;
  const uint64_t updates = row_updates_ + per_event * static_cast<uint64_t>(stage + 1);
  // The picks of a row of n cells as its update will take them (PickCells),
  // taking the event's cell to be a new one (the row then has n + 1 cells,
  // the newest not yet there to read).
  const auto for_picks = [&](uint32_t n, uint32_t max_cells, uint64_t rotation, const auto& fn) {
    const Picks p = PickCells(n + 1, max_cells, rotation);
    for (uint32_t t = 0; t < p.m; ++t) {
      const uint32_t idx = PickedIndex(p, t, n, nullptr);
      if (idx < n) fn(idx);
    }
  };
  // Whether the event's item row moves (ItemMoves), its cell taken to be new.
  const auto item_moves_at = [&](uint32_t item, uint64_t rotation) {
    float step;
    return ItemMoves(item, static_cast<uint32_t>(item_cells_[item].size()) + 1, rotation, &step);
  };
  if (stage >= 2) {
    if (user_known) user_cells_.PrefetchHeader(u);
    if (item_known) __builtin_prefetch(&item_cells_[i]);
    if (i < model.num_items()) PrefetchBytes(model.item_factors(i), row_bytes);
    return;
  }
  if (stage == 1) {
    if (user_known && !user_cells_.Row(u).empty()) {
      const std::span<const UserCell> row = user_cells_.Row(u);
      for_picks(static_cast<uint32_t>(row.size()), options_.max_user_cells, updates,
                [&](uint32_t idx) { __builtin_prefetch(&row[idx]); });
    }
    if (item_known && !item_cells_[i].empty() && item_moves_at(i, updates + 1)) {
      const auto& row = item_cells_[i];
      for_picks(static_cast<uint32_t>(row.size()), options_.max_item_cells, updates + 1,
                [&](uint32_t idx) { __builtin_prefetch(&row[idx]); });
    }
    if (u < model.num_users()) PrefetchBytes(model.user_factors(u), row_bytes);
    return;
  }
  if (user_known && !user_cells_.Row(u).empty()) {
    const std::span<const UserCell> row = user_cells_.Row(u);
    for_picks(static_cast<uint32_t>(row.size()), options_.max_user_cells, updates,
              [&](uint32_t idx) {
                const UserCell& cell = row[idx];
                if (cell.id < model.num_items()) {
                  PrefetchBytes(model.item_factors(cell.id), row_bytes);
                }
                // The cell's strength, in its item's history (StrengthOf).
                if (cell.id < item_cells_.size() && cell.in_item < item_cells_[cell.id].size()) {
                  __builtin_prefetch(&item_cells_[cell.id][cell.in_item]);
                }
              });
  }
  if (options_.update_items && item_known && !item_cells_[i].empty() &&
      item_moves_at(i, updates + 1)) {
    const auto& row = item_cells_[i];
    for_picks(static_cast<uint32_t>(row.size()), options_.max_item_cells, updates + 1,
              [&](uint32_t idx) {
                if (row[idx].id < model.num_users()) {
                  PrefetchBytes(model.user_factors(row[idx].id), row_bytes);
                }
              });
  }
}

Status ImplicitOnlineUpdater::Apply(MFModel* model, uint32_t u, uint32_t i, float strength) {
  STREAMREC_RETURN_IF_ERROR(Validate(options_));
  if (model->rank() != rank_) {
    return Status::InvalidArgument(
        fmt::format("model rank {} differs from the updater's {}", model->rank(), rank_));
  }
  STREAMREC_RETURN_IF_ERROR(CheckInteraction(u, i, strength));
  const CellPos pos = AddToCell(u, i, strength);
  model->EnsureUsers(u + 1);
  model->EnsureItems(i + 1);
  UpdateRows(model, u, i, pos);
  return Status::OK();
}

Status ImplicitOnlineUpdater::Step(MFModel* model, uint32_t u, uint32_t i) {
  STREAMREC_RETURN_IF_ERROR(Validate(options_));
  if (model->rank() != rank_) {
    return Status::InvalidArgument(
        fmt::format("model rank {} differs from the updater's {}", model->rank(), rank_));
  }
  if (u >= model->num_users() || i >= model->num_items()) {
    return Status::InvalidArgument(fmt::format("no model rows for user {} / item {}", u, i));
  }
  const uint32_t in_user = FindInUser(u, i);
  if (in_user == UINT32_MAX) {
    return Status::InvalidArgument(fmt::format("user {} has no history with item {}", u, i));
  }
  UpdateRows(model, u, i, {in_user, user_cells_.Row(u)[in_user].in_item});
  return Status::OK();
}

}  // namespace streamrec::engine
