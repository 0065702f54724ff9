// IvfIndex: an inverted-file index over the item factors for top-N when
// even the int8 scan of every item is too slow (a million items: ~6 ms a
// query on two cores, `streamrec bench topn`).
//
// k-means splits the items into `lists` cells around centroids; each cell
// keeps its members' int8 codes (QuantizedItems, contiguous, so a probed
// cell is one sequential read) and their item ids. A query ranks the
// cells by <q, centroid> and runs the int8 first pass over the best
// `probe` of them only; the candidates are re-scored exactly in float as
// in QuantizedTopNScan. Recall@10 against the exact scan is below 1 by
// design and measured (ivf_index_test.cc, `streamrec bench topn`).
//
// Kept current: the model moves an item's vector with every event on it,
// and Update(i) re-codes the row and moves it to its nearest centroid if
// that changed (one small GEMV over the centroids). Most updates skip the
// GEMV: each row keeps a lower bound on its distance to every centroid but
// its own (the second-nearest distance when it was filed, less how far it
// has moved since, as the caller reports it), and while the row is nearer
// its own centroid than that, no other can be nearer (the triangle
// inequality, as in Hamerly's k-means). The centroids stay as
// trained until the next training: a Build when the Recommender installs
// a model, and a retraining off its model thread (IvfTraining, then
// Refile) when the catalog has doubled since and every
// TopNOptions::ivf_retrain_factor x trained_items() events (the vectors
// move away from cells drawn around them); a restore keeps them.
//
// Filters are honoured exactly as by the other scans (allowed mask,
// per-query exclusions, item bias); a query whose probed cells hold fewer
// than n eligible items probes further cells, best first, until it has n
// or has read them all, so a narrow category filter still fills its page.
//
// Thread-safety: const methods from any number of threads; Build and
// Update from one writer with no concurrent reader (the Recommender's
// Left-Right discipline).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "engine/core/status.h"
#include "engine/model/quantized_items.h"
#include "engine/model/topn.h"

namespace streamrec::engine {

struct IvfOptions {
  // Cells; 0: ~sqrt(items) (at least 16).
  uint32_t lists = 0;
  // Cells read per query; 0: the probe the last training measured (see
  // target_recall), else lists / 16 (at least 8). More reads more and
  // raises recall.
  uint32_t probe = 0;
  // Where probe is 0, each retraining (IvfTraining) measures recall@10
  // against the exact scan, over a sample of users (recommendations) and
  // one of items (similar items) apart, and picks for each the fewest
  // cells, from lists / 16 up to all, whose recall reaches this
  // (MeasureProbe). A young model's vectors are mostly their
  // random start, which cells cannot sort: there it reads every cell (the
  // int8 pass over all items) rather than miss. 0: no measuring.
  float target_recall = 0.97f;
  // k-means: iterations, and training points per cell (a sample).
  int kmeans_iterations = 8;
  uint32_t kmeans_points_per_list = 64;
  uint64_t seed = 20261201;
};

class IvfIndex {
 public:
  explicit IvfIndex(int dim = 0) : dim_(dim) {}

  int dim() const { return dim_; }
  // Items indexed: rows [0, size()) of the matrix given to Build/Update.
  uint32_t size() const { return static_cast<uint32_t>(list_of_.size()); }
  uint32_t lists() const { return static_cast<uint32_t>(cells_.size()); }
  // Items there were when the centroids were trained.
  uint32_t trained_items() const { return trained_items_; }
  // The cell item i (< size()) is in.
  uint32_t ListOf(uint32_t i) const { return list_of_[i]; }
  // Item i's row as its cell's int8 codes give it back (out size dim):
  // tests check the index against the model with it.
  void Decode(uint32_t i, float* out) const { cells_[list_of_[i]].codes.Decode(row_of_[i], out); }
  // The items filed in cell c (< lists()).
  std::span<const uint32_t> ListItems(uint32_t c) const { return cells_[c].ids; }
  // The longest row (L2 norm) filed in cell c, as its rows are now; 0 for
  // an empty cell. Queries read the cells that hold the longest rows too
  // (IvfTopNScan).
  float MaxNorm(uint32_t c) const { return cells_[c].MaxNorm(); }
  // The items of cell c's Cell::kTops longest rows (fewer if it holds
  // fewer), longest first, ties by lower id: those a query scores for a
  // cell it does not read (IvfTopNScan).
  std::vector<uint32_t> LongestItems(uint32_t c) const {
    const Cell& cell = cells_[c];
    std::vector<uint32_t> out;
    for (uint32_t k = 0; k < cell.n_tops; ++k) out.push_back(cell.ids[cell.tops[k]]);
    return out;
  }
  size_t MemoryBytes() const;
  // Updates that ran the GEMV over every centroid (the rest were settled
  // by a bound), since Build.
  uint64_t full_searches() const { return full_searches_; }
  // The cells a query reads where IvfOptions::probe is 0, as the training
  // of these centroids measured them (MeasureProbe), and the recall@10 it
  // measured there: for inner-product queries (recommendations; `cosine`
  // false) and for cosine ones (similar items). 0 and -1 where it did not
  // measure (the first Build, target_recall 0): then DefaultProbe. A
  // snapshot keeps them.
  uint32_t measured_probe(bool cosine) const { return measured_[cosine].probe; }
  float measured_recall(bool cosine) const { return measured_[cosine].recall; }
  void SetMeasured(bool cosine, uint32_t probe, float recall) {
    measured_[cosine] = {probe, recall};
  }

  // Trains centroids on rows [0, n) of `items` (n x dim, row-major) and
  // files every row: deterministic for the same rows and options. n = 0
  // leaves the index empty.
  void Build(RowsView items, uint32_t n, int dim, const IvfOptions& options);
  // Build's k-means alone: the centroids of rows [0, n), with nothing filed
  // (size() 0; Refile files them). A replay trains at the event where the
  // live index would have been built, and files once at its end. Once
  // `stop` (optional) is set it returns early, its state unspecified (an
  // abandoned training, ivf_training.h).
  void Train(RowsView items, uint32_t n, int dim, const IvfOptions& options,
             const std::atomic<bool>* stop = nullptr);
  // Files rows [0, n) of `items` afresh under the centroids it has.
  void Refile(RowsView items, uint32_t n) { FileAll(items, n); }

  // Where rows [0, n) belong under the centroids: each row's nearest cell
  // and its distance to the next nearest (kUnknownMove with one cell), as
  // Build files them. Const: a background training computes it on a copy
  // of the rows (ivf_training.h). Once `stop` is set it returns early with
  // the rest unspecified.
  struct Filing {
    std::vector<uint32_t> cell;
    std::vector<float> margin;
  };
  Filing Assign(RowsView items, uint32_t n, const std::atomic<bool>* stop = nullptr) const;
  // Refile(items, n) from a Filing of rows [0, m) made under these
  // centroids from earlier values of the rows, and each row's distance
  // (L2) from its earlier value, or any bound above it (moved.size() == m;
  // kUnknownMove where not known): a row that provably stays in its cell
  // (Update's test) is not searched again, the others and rows [m, n) are. The cells are those
  // Refile(items, n) gives, up to rounding at a near tie.
  void Refile(RowsView items, uint32_t n, const Filing& earlier, std::span<const float> moved);
  // That Refile's filing, without filing: const, for a background thread
  // on a copy of the rows (the index must have centroids: Train, Build or
  // FromCentroids). *searched (optional): the rows searched. Once `stop`
  // is set it returns early with the rest unspecified.
  Filing Reassign(RowsView items, uint32_t n, const Filing& earlier,
                  std::span<const float> moved, uint64_t* searched = nullptr,
                  const std::atomic<bool>* stop = nullptr) const;

  // The trained state a snapshot keeps (engine/live/snapshot.cc): the
  // centroids (lists x dim, row-major), the items there were when they were
  // trained, and the options that trained them. The cells are not kept:
  // every row belongs to its nearest centroid, which Refile finds again.
  const std::vector<float>& centroids() const { return centroids_; }
  const IvfOptions& trained_with() const { return trained_with_; }
  // Whether `options` train as the ones this index was trained with (the
  // k-means options; `probe` is a query's, not the training's).
  bool TrainedWith(const IvfOptions& options) const {
    const IvfOptions& t = trained_with_;
    return t.lists == options.lists && t.kmeans_iterations == options.kmeans_iterations &&
           t.kmeans_points_per_list == options.kmeans_points_per_list && t.seed == options.seed;
  }
  // Whether every centroid is finite (a k-means over rows so large that
  // its sums overflow is not: FromCentroids refuses such centroids).
  bool CentroidsFinite() const { return AllFinite(centroids_); }
  // The centroids `Build(.., n = trained_items, .., options)` would have
  // made: lists x dim floats, lists as Build picks it for trained_items and
  // options.lists, all finite. Nothing filed (Refile). InvalidArgument,
  // naming the problem, otherwise.
  static StatusOr<IvfIndex> FromCentroids(int dim, uint32_t trained_items,
                                          const IvfOptions& options, std::vector<float> centroids);
  // The cells Build picks for n items under `options`.
  static uint32_t ListsFor(uint32_t n, const IvfOptions& options);

  // `trained`'s centroids, as if trained when it was, with rows [0, n) of
  // `items` filed under them: what a Left-Right follower does instead of
  // training its own when the leader trained (its own k-means would see
  // the rows at another moment and give other cells).
  void Adopt(const IvfIndex& trained, RowsView items, uint32_t n);

  // Row i (< size()) changed a little: re-codes it in its cell without
  // looking for a nearer centroid. Cheaper than Update (no GEMV); the item
  // is re-filed at its next Update (which then runs the GEMV: how far the
  // row moved here is not known) or training.
  void Recode(uint32_t i, RowsView items) {
    cells_[list_of_[i]].SetRow(row_of_[i], items.row(i, dim_), dim_);
    margin_[i] = -kUnknownMove;
  }

  // Row i of `items` changed, or is new (i == size(): appended; rows must
  // be added in order): re-codes it and re-files it under its nearest
  // centroid. `moved`: at most how far (L2) the row moved since the index
  // last saw it (Update, Build, Adopt), or kUnknownMove; a bound too
  // small may leave the row in a cell that is no longer the nearest. The
  // index must have been built (lists() > 0).
  static constexpr float kUnknownMove = std::numeric_limits<float>::infinity();
  void Update(uint32_t i, RowsView items, float moved = kUnknownMove);
  // |a - b| over `dim` floats: the metric of the cells and of `moved`.
  static float Distance(const float* a, const float* b, int dim);

 private:
  friend void IvfTopNScan(const IvfIndex&, RowsView, uint32_t, int, std::span<const ScanQuery>,
                          size_t, const ScanOptions&, const IvfOptions&,
                          const QuantizedScanOptions&, std::vector<std::vector<ScoredItem>>*);

  struct Cell {
    QuantizedItems codes;
    std::vector<uint32_t> ids;  // codes row r is item ids[r]
    std::vector<float> norms;   // |row| of item ids[r] (Norm)
    // The rows of its kTops longest rows, longest first (ties: the lower
    // item id): a function of the (id, norm) pairs filed, not of their
    // order, so a restored or adopted index holds the same. IvfTopNScan
    // reads the cells with the longest rows and scores these rows of
    // others.
    static constexpr uint32_t kTops = 4;
    std::array<uint32_t, kTops> tops{};
    uint32_t n_tops = 0;

    // Item `id` (row `row`) as the next row, r = ids.size() (codes must
    // hold r + 1 rows); returns r.
    uint32_t Append(uint32_t id, const float* row, int dim);
    // Row r's codes and norm from `row` (keeping `tops` exact).
    void SetRow(uint32_t r, const float* row, int dim);
    // The largest of norms (0 if none).
    float MaxNorm() const { return n_tops > 0 ? norms[tops[0]] : 0.0f; }
    // Row a before row b in `tops`' order.
    bool Longer(uint32_t a, uint32_t b) const {
      return norms[a] > norms[b] || (norms[a] == norms[b] && ids[a] < ids[b]);
    }
    // Row r is new or has not got shorter: into `tops` if it belongs.
    void OfferTop(uint32_t r);
    // `tops` from every row.
    void RescanTops();
  };
  // |row|, summed in a fixed order (0 for a NaN).
  static float Norm(const float* row, int dim);

  // Files rows [0, n) of `items` afresh under the centroids (and derives
  // safe_sq_radius_ from them).
  void FileAll(RowsView items, uint32_t n);
  // safe_sq_radius_ from the centroids.
  void SetSafeRadii();
  // The cells, rows [0, n) filed as `f` says (f holds at least n rows).
  void Fill(RowsView items, uint32_t n, const Filing& f);
  // Whether `row`, filed in cell `own`, has no nearer centroid: it is
  // within the cell's safe radius, or nearer its centroid than `bound`, a
  // lower bound on its distance to every other (with a margin for
  // rounding; a NaN bound fails).
  bool StaysIn(uint32_t own, const float* row, float bound) const;
  const float* row_at(RowsView items, uint32_t i) const { return items.row(i, dim_); }
  static bool AllFinite(const std::vector<float>& v);
  // Installs `centroids` (lists x dim_) with their norms. The norms are
  // summed in a fixed order, in double, so the same centroids give the same
  // bits wherever they lie in memory (Eigen's reductions start at an
  // aligned address, so their order depends on it): a restored index must
  // assign rows as the one that trained.
  void SetCentroids(std::vector<float> centroids);
  // The centroid nearest (L2) to `row`; *second: the row's distance to
  // the next nearest (infinity with one cell).
  uint32_t Nearest(const float* row, float* second) const;
  // Appends item i (row `row`) to cell c.
  void File(uint32_t c, uint32_t i, const float* row);
  // Takes item i out of its cell (the cell's last row takes its place).
  void Unfile(uint32_t i, RowsView items);

  int dim_ = 0;
  uint32_t trained_items_ = 0;
  IvfOptions trained_with_;
  std::vector<float> centroids_;      // lists x dim, row-major
  std::vector<float> half_sq_norms_;  // |c|^2 / 2 per cell (L2 assignment)
  std::vector<float> inv_norms_;      // 1 / |c| per cell (cosine ranking; 0 for a zero centroid)
  // Per cell, (half the distance to the nearest other centroid)^2: a row
  // within that of its own centroid has no nearer one (the triangle
  // inequality), so Update skips the GEMV over all centroids.
  std::vector<float> safe_sq_radius_;
  std::vector<Cell> cells_;
  std::vector<uint32_t> list_of_;  // item -> cell
  std::vector<uint32_t> row_of_;   // item -> row in its cell
  // Item -> a lower bound on its distance to every centroid but its own
  // (Update); -infinity where none is known (Recoded).
  std::vector<float> margin_;
  uint64_t full_searches_ = 0;
  struct Measured {
    uint32_t probe = 0;
    float recall = -1.0f;
  };
  std::array<Measured, 2> measured_{};  // [cosine]
};

// TopNScan's contract (topn.h) answered through `index` (which must hold
// rows [0, n_items) of `items`) and re-scored exactly from `items`: the
// same eligible items, exact scores and tie order for those it returns; an
// item is missed when its cell was not probed or its approximate score
// fell outside the candidates (recall measured). `ivf.probe` cells are
// read (0: QueryProbe), best centroid score first, except that for
// inner-product queries every third is the unread cell holding the longest
// row (MaxNorm: long rows top inner-product lists from any cell); `rescore`
// says how many candidates are re-scored, as for QuantizedTopNScan.
void IvfTopNScan(const IvfIndex& index, RowsView items, uint32_t n_items, int dim,
                 std::span<const ScanQuery> queries, size_t n, const ScanOptions& options,
                 const IvfOptions& ivf, const QuantizedScanOptions& rescore,
                 std::vector<std::vector<ScoredItem>>* results);

// The cells a query reads by default for an index of `lists` cells.
uint32_t DefaultProbe(uint32_t lists);
// The cells IvfTopNScan reads per query for `index` under `ivf`: ivf.probe,
// else the probe measured for the queries' kind (cosine or not; where
// target_recall is set), else DefaultProbe; at most lists().
uint32_t QueryProbe(const IvfIndex& index, const IvfOptions& ivf, bool cosine);

// The fewest cells IvfTopNScan must read for `index` (rows [0, n) of
// `items` filed) to find, over `queries` under `options` (inner product
// over users' vectors, or cosine over items' own), at least `target` of the
// exact scan's top 10: DefaultProbe(lists), doubled until it reaches the
// target or every cell (the int8 pass), then the gap halved to 1/16.
// *recall: the recall measured there; 0 and -1 without queries.
// Deterministic for the same inputs. Once `stop` (optional) is set it
// returns early, its result unspecified (an abandoned training).
uint32_t MeasureProbe(const IvfIndex& index, RowsView items, uint32_t n, int dim,
                      std::span<const ScanQuery> queries, const ScanOptions& options, float target,
                      const QuantizedScanOptions& rescore, float* recall,
                      const std::atomic<bool>* stop = nullptr);

}  // namespace streamrec::engine
