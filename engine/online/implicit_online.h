// ImplicitOnlineUpdater: the per-event update of an iALS model for the live
// server, in the manner of eALS (He, Zhang, Kan & Chua, "Fast matrix
// factorization for online recommendation with implicit feedback", SIGIR
// 2016, Algorithm 2).
//
// A new event (u, i, strength w) adds w to the cell's summed strength, so
// its confidence becomes c_ui = 1 + α·w_ui. Then p_u, and after it q_i, take
// `sweeps` passes of element-wise coordinate descent on the iALS objective
// restricted to that row (the other side fixed):
//   x_f ← [Σ_j (c_j − (c_j − 1) r̂ᶠ_j) y_jf − Σ_{g≠f} x_g S_gf] / [Σ_j (c_j − 1) y_jf² + S_ff + λ_r]
// where j runs over the row's observed cells, r̂ᶠ_j = x·y_j − x_f y_jf and S
// is the cached Gramian of the other side (Σ over all its rows of y yᵀ), so
// the unobserved cells cost O(k²) in all, not O(|catalog| k). Each row
// update then patches its own side's Gramian with a rank-2 change.
//
// Cost per event: O(k² + (n_u + n_i) k) with n_u, n_i the row histories, at
// most max_user_cells / max_item_cells (longer rows use a deterministic
// strided subset of their cells, scaled so the sums stay unbiased, the new
// cell always in it, and take a damped step). The updater owns the interaction history it needs
// (each distinct (user, item) cell once, with its summed strength).
//
// Deterministic: the same model, history and events in the same order give
// bit-identical factors.
//
// Thread-safety: not synchronised; the single model writer owns it.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/flat_map.h"
#include "engine/core/paged_rows.h"
#include "engine/core/status.h"
#include "engine/model/implicit_data.h"
#include "engine/model/implicit_objective.h"
#include "engine/model/mf_model.h"

namespace streamrec::engine {

struct ImplicitOnlineOptions {
  // α, λ and ν of the objective: take them from the IalsTrainOptions the
  // model was trained with (FromTraining(ials.objective())), or the online
  // steps pull the batch solution towards a different optimum.
  float alpha = ImplicitObjective{}.alpha;
  float regularization = ImplicitObjective{}.regularization;
  float regularization_exponent = ImplicitObjective{}.regularization_exponent;
  // Coordinate-descent passes over the k entries of each updated row. One is
  // what eALS does online; more get closer to the row's exact solution at
  // proportional cost.
  int sweeps = 1;
  // Also update q_i (false: only the user moves; cheaper, and the item
  // vectors change only at retrain).
  bool update_items = true;
  // Longest row history used in full per update, for users and for items:
  // bounds the cost of heavy users and popular items (a popular item may
  // have millions of users). A longer row uses a deterministic strided
  // subset of its cells (the new one always in it), each standing for
  // several, and takes the matching share of the step, so the subset's
  // noise averages out over events. Measured on ml-100k (a model trained
  // on a random half of the 75/25 seed-42 training data, the other half
  // streamed through Apply, rank 64, a core shared with other jobs), P@10
  // on the test set / events per CPU second:
  //   1024/1024 (all cells): 0.430 / 62k   64/64: 0.417 / 91k
  //   64/32: 0.413 / 106k                  32/32: 0.412 / 124k
  // (batch iALS on all of it: 0.429; no online updates: 0.358).
  uint32_t max_user_cells = 32;
  uint32_t max_item_cells = 32;
  // An item row longer than max_item_cells takes a damped step, its share
  // (max_item_cells - 1) / (n - 1) of the move, and a popular item's share
  // is tiny (0.03 at 1,000 cells) for the full cost of an update. Where the
  // share is below min_item_step, the row instead moves on a matching
  // fraction of its events (share / min_item_step, drawn by a hash of the
  // update count and the item: deterministic), by min_item_step of the
  // move: the same expected movement for a fraction of the cost. The
  // user's row moves at every event whatever its length (the next request
  // must see it). 0: every event moves the item. Measured by prequential
  // HR@10 (`streamrec replay --evaluate`) on a synthetic stream of 1M
  // events over 50k users x 5k items, where most items' rows are long:
  // 0 0.1728, 0.125 0.1725, 0.25 0.1718, 0.5 0.1704; on ml-100k in time
  // order 0.1151 at 0, 0.1149 at 0.125, 0.1152 at 0.25.
  float min_item_step = 0.125f;
  // The Gramians are patched per update (a rank-2 change in float) and
  // recomputed from the model after this many row updates, bounding the
  // rounding drift (measured: ~1e-6 relative after 2000 updates).
  uint64_t gramian_refresh_interval = uint64_t{1} << 20;

  static ImplicitOnlineOptions FromTraining(const ImplicitObjective& trained);
  ImplicitObjective objective() const { return {alpha, regularization, regularization_exponent}; }
};

class ImplicitOnlineUpdater {
 public:
  struct Cell {
    uint32_t id;     // the item (in a user's history) or user (in an item's)
    float strength;  // summed strength w of the cell
  };
  // A cell in its user's history: the item, and where the cell sits in the
  // item's history, which holds its strength (StrengthOf). The strength is
  // held once, on the item's side: a second copy here cost 4 bytes a cell
  // (20 MB at 5M cells), and the user's row update, which reads it through
  // in_item, reads the item's factor row for the cell anyway.
  struct UserCell {
    uint32_t id;       // the item
    uint32_t in_item;  // its position in ItemCells(id)
  };

  // Reads the model's factors into the Gramians. The history starts empty
  // (SetHistory or RecordInteraction fill it). Options are checked by Apply
  // (Validate).
  ImplicitOnlineUpdater(const ImplicitOnlineOptions& options, const MFModel& model);
  ImplicitOnlineUpdater(const ImplicitOnlineUpdater&) = delete;
  ImplicitOnlineUpdater& operator=(const ImplicitOnlineUpdater&) = delete;

  static Status Validate(const ImplicitOnlineOptions& options);

  // One event: grows the model for u / i if needed, adds `strength` to the
  // cell and updates p_u (and q_i). InvalidArgument (nothing changed) for a
  // strength that is not finite and > 0, bad options, or ids >= 2^31.
  Status Apply(MFModel* model, uint32_t u, uint32_t i, float strength);

  // A hint for an event (u, i) the caller will Apply soon: touches the
  // memory its row updates will read, so that the cache misses of several
  // events overlap instead of each stalling its own update. Reads are
  // chained (a row's history header, then its cells, then the rows the
  // cells name), so a caller walking a batch issues stage 2 for the event
  // three ahead, 1 for the one two ahead and 0 for the next
  // (kPrefetchStages). Changes nothing; ids unknown to the updater or the
  // model are skipped.
  static constexpr int kPrefetchStages = 3;
  void Prefetch(const MFModel& model, uint32_t u, uint32_t i, int stage) const;

  // Adds to the history without moving any factor (rebuilding the history
  // of a model restored from a snapshot or trained in batch).
  Status RecordInteraction(uint32_t u, uint32_t i, float strength);
  // Replaces the whole history with `by_user` (users x items, e.g. the
  // BuildImplicitMatrix the model was trained on).
  void SetHistory(const ImplicitMatrix& by_user);

  // Moves p_u (and q_i) as Apply does, without adding to the cell: a step
  // on history already recorded (the events applied while a retrain ran,
  // stepped again on the retrained rows). InvalidArgument if the model
  // lacks the rows or the cell (u, i) is not in the history.
  Status Step(MFModel* model, uint32_t u, uint32_t i);

  // Recomputes both Gramians from the model. Call it after anything else
  // wrote factors (a retrain installed, a snapshot loaded).
  void Resync(const MFModel& model);

  // The Gramians and their bookkeeping: what Resync recomputes and a step
  // reads and patches. A model other than the one the history is kept for
  // (a retrained model catching up with the events the serving one took
  // meanwhile, Recommender::CatchUp) is stepped with Gramians of its own,
  // swapped in for its steps and out after them: the history is the same
  // for both models, the Gramians are not.
  struct Gramians {
    Eigen::MatrixXf user, item;  // k x k
    uint32_t users_tracked = 0, items_tracked = 0;
    uint64_t row_updates = 0;  // since they were computed
  };
  // What Resync(model) would set.
  static Gramians GramiansOf(const MFModel& model);
  // Exchanges this updater's Gramians with *other (no copy).
  void SwapGramians(Gramians* other);

  // The complete state, for snapshots (engine/live/snapshot.cc): the Gramians
  // and their bookkeeping are kept rather than recomputed, because a
  // recomputed Gramian differs in its last bits from a patched one, and a
  // restored updater must continue bit-identically.
  struct State {
    Eigen::MatrixXf user_gramian, item_gramian;  // k x k
    uint32_t users_tracked = 0, items_tracked = 0;
    uint64_t row_updates = 0;
    std::vector<std::vector<Cell>> user_cells;      // per user, in history order
    std::vector<std::vector<uint32_t>> item_users;  // per item: its users, in history order
  };
  uint32_t users_tracked() const { return users_tracked_; }
  uint32_t items_tracked() const { return items_tracked_; }
  uint64_t row_updates() const { return row_updates_; }
  size_t user_rows() const { return user_cells_.size(); }
  size_t item_rows() const { return item_cells_.size(); }
  // Checks `state` against itself and a model of `num_users` x `num_items`
  // rows (Gramians k x k, tracked rows within the model, every cell once in
  // its user's and its item's history, ids known, strengths finite and > 0)
  // and installs it. InvalidArgument, naming the problem, leaves the
  // updater as it was.
  Status Restore(State state, uint32_t num_users, uint32_t num_items);

  // Drops user u's history (and u from its items' histories), zeroes p_u
  // and takes it out of the user Gramian; then re-solves q_i of each item u
  // had (ResolveItem), so that what u's cells pulled them towards goes too.
  // The Gramians are patched in step. Exact: the histories and Gramians are
  // those of a model without u. Approximate: the re-solved q_i is the
  // row's optimum against today's user vectors, not the vector a replay
  // without u would have reached; other rows keep the indirect effect of u
  // (they were stepped against q_i while it held u's pull).
  void ForgetUser(MFModel* model, uint32_t u);

  // q_i <- the exact minimiser of item i's row of the objective against
  // the current user vectors and i's history (an iALS half-step for one
  // row), patching the item Gramian. An item with no cells gets q_i = 0.
  // Items with more than kMaxResolveCells cells are left as they are (one
  // user's share of such a row is below 1/65536, and the solve costs
  // O(n k^2)).
  static constexpr uint32_t kMaxResolveCells = 65536;
  void ResolveItem(MFModel* model, uint32_t i);

  // Bytes held by the history: the (user, item) index of long user rows
  // and the per-row cell lists (both sides).
  size_t IndexBytes() const { return long_rows_.MemoryBytes(); }
  size_t RowBytes() const;
  // Gives every history row exactly the memory it holds (rows grown one
  // event at a time keep up to twice that). Changes no cell.
  void Compact();

  // A user's history has an index entry per cell once it is longer than
  // this; shorter ones are searched (a few cache lines, which the row
  // update reads anyway). A global (user, item) index cost ~27 bytes per
  // cell at 5M cells, more than the rows themselves.
  static constexpr size_t kShortRow = 32;

  // A row's history (unordered).
  std::span<const UserCell> UserCells(uint32_t u) const;
  std::span<const Cell> ItemCells(uint32_t i) const;
  // The summed strength of a cell of UserCells(u).
  float StrengthOf(const UserCell& cell) const {
    return item_cells_[cell.id][cell.in_item].strength;
  }
  float StrengthOf(const Cell& cell) const { return cell.strength; }
  const ImplicitOnlineOptions& options() const { return options_; }
  // Gramians: k x k, Σ p pᵀ over users / Σ q qᵀ over items.
  const Eigen::MatrixXf& user_gramian() const { return user_gramian_; }
  const Eigen::MatrixXf& item_gramian() const { return item_gramian_; }

 private:
  // Position of a cell in its user's and its item's history.
  struct CellPos {
    uint32_t in_user;
    uint32_t in_item;
  };
  static uint64_t Key(uint32_t u, uint32_t i) { return (uint64_t{u} << 32) | i; }
  // Hints every cache line of [p, p + bytes) (Prefetch, and UpdateRow's
  // picked rows).
  static void PrefetchBytes(const void* p, size_t bytes) {
    const char* c = static_cast<const char*>(p);
    for (size_t b = 0; b < bytes; b += 64) __builtin_prefetch(c + b);
  }

  // Where item i sits in user u's history, or UINT32_MAX: in `rows` with
  // `long_rows` (Restore's, being built), or in this updater's.
  static uint32_t FindIn(const PagedRows<UserCell>& rows, const FlatMap64<uint32_t>& long_rows,
                         uint32_t u, uint32_t i);
  uint32_t FindInUser(uint32_t u, uint32_t i) const {
    return FindIn(user_cells_, long_rows_, u, i);
  }
  // InvalidArgument unless the strength is finite and > 0 and both ids fit.
  static Status CheckInteraction(uint32_t u, uint32_t i, float strength);
  // Indexes every cell of user u's history (it has grown past kShortRow).
  void IndexRow(uint32_t u);
  // Adds w to (u, i); returns its positions.
  CellPos AddToCell(uint32_t u, uint32_t i, float w);
  // The row updates of Apply and Step for the existing cell (u, i) at `pos`.
  void UpdateRows(MFModel* model, uint32_t u, uint32_t i, CellPos pos);
  // Adds the model's rows not yet tracked to the Gramians.
  void TrackNewRows(const MFModel& model);
  // Coordinate descent on one row x (size k) against the other side's rows
  // (other(id): its k floats), then patches `own_gramian` with the change
  // of x. `newest`: index of the new cell in `cells`.
  // `step`: the share of the move taken where the row is longer than
  // max_cells (0: the subset's own share, (m - 1) / (n - 1)).
  template <typename C, typename Row>
  void UpdateRow(float* x, std::span<const C> cells, uint32_t newest, uint32_t max_cells,
                 const Row& other, const Eigen::MatrixXf& other_gramian,
                 Eigen::MatrixXf* own_gramian, float step = 0.0f);
  // Whether item i's row, of n cells, moves at the item update counted
  // `updates` (min_item_step), and the share of the move it then takes
  // (0: UpdateRow's own).
  bool ItemMoves(uint32_t i, uint32_t n, uint64_t updates, float* step) const;
  // Which cells of a row of n a row update uses: all when n <= max_cells,
  // else max_cells of them, a strided subset of the others (each standing
  // for `stride` cells, the offset rotating with `updates` so every cell
  // takes its turn) and the newest last.
  struct Picks {
    uint32_t n = 0;
    uint32_t m = 0;  // cells picked
    double stride = 1.0;
    uint32_t offset = 0;
  };
  static Picks PickCells(uint32_t n, uint32_t max_cells, uint64_t updates);
  // The t-th pick's index in the row (newest: the new cell's); `weight`
  // (if non-null): how many cells it stands for.
  static uint32_t PickedIndex(const Picks& p, uint32_t t, uint32_t newest, float* weight);

  ImplicitOnlineOptions options_;
  int rank_;
  Eigen::MatrixXf user_gramian_;  // k x k
  Eigen::MatrixXf item_gramian_;  // k x k
  uint32_t users_tracked_ = 0;    // rows already in user_gramian_
  uint32_t items_tracked_ = 0;
  uint64_t row_updates_ = 0;  // since the last Resync
  // Per user, in history order: flat pages of 16 users (PagedRows; a
  // vector per user cost ~19 MB more RSS at 500k users). Per item, a
  // vector: there are fewer items, with longer rows (an append to a page
  // moves its later rows, and a popular item's row is long).
  PagedRows<UserCell> user_cells_;
  std::vector<std::vector<Cell>> item_cells_;
  // (user, item) -> position in the user's history, for the users whose
  // history is longer than kShortRow only.
  FlatMap64<uint32_t> long_rows_;

  // Scratch of UpdateRow, kept to avoid allocating per event: the cell
  // buffers hold scratch_cells_ cells (the most a row update has used).
  uint32_t scratch_cells_ = 0;
  std::vector<uint32_t> ids_;  // the picked cells' other ids
  std::vector<float> cols_;    // m x k, column-major: their rows y_j
  std::vector<float> dcols_;   // m x k: diag(d) cols
  std::vector<float> a_, d_, e_;
  std::vector<float> zeros_;  // k zeros: the rows GatherColumns pads with
  Eigen::VectorXf g_, col_a_, col_d_, inv_denom_;
  Eigen::VectorXf old_x_;
};

}  // namespace streamrec::engine
