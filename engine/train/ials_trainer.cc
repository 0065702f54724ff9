#include "engine/train/ials_trainer.h"

#include <fmt/format.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <thread>
#include <vector>

namespace streamrec::engine {
namespace {

using ColMatrixXf = Eigen::MatrixXf;

// Scratch of one solving thread, reused across its rows.
struct RowWorkspace {
  ColMatrixXf gathered;  // n x k: sqrt(α w_j) y_j per row
  ColMatrixXf a;         // k x k system
  Eigen::VectorXf b;     // k
  Eigen::LLT<ColMatrixXf> llt;
};

void SolveRow(const ColMatrixXf& gramian, const float* other, int k, std::span<const uint32_t> ids,
              std::span<const float> strengths, float alpha, float lambda, float* out,
              RowWorkspace* ws) {
  const auto n = static_cast<Eigen::Index>(ids.size());
  ws->gathered.resize(n, k);
  ws->b.setZero(k);
  for (Eigen::Index j = 0; j < n; ++j) {
    Eigen::Map<const Eigen::RowVectorXf> y(other + size_t{ids[j]} * k, k);
    const float aw = alpha * strengths[j];
    ws->gathered.row(j) = std::sqrt(aw) * y;
    ws->b += (1.0f + aw) * y.transpose();
  }
  ws->a = gramian;
  ws->a.diagonal().array() += lambda;
  // Yᵀ(C_u − I)Y as one GEMM over the gathered rows: much faster than n
  // rank-1 updates, and the same arithmetic for the same inputs.
  ws->a.selfadjointView<Eigen::Lower>().rankUpdate(ws->gathered.transpose());
  ws->llt.compute(ws->a);
  Eigen::Map<Eigen::VectorXf>(out, k) = ws->llt.solve(ws->b);
}

float RowLambda(const IalsTrainOptions& o, size_t n) { return o.objective().RowLambda(n); }

// Solves every row of `rows` (rows x cols) against `other` (fixed), writing
// dst (rows x k). Rows with no observed cells become zero, which is their
// exact solution.
void SolveSide(const ImplicitMatrix& m, const float* other, uint32_t n_other, int k,
               const IalsTrainOptions& o, float* dst) {
  Eigen::Map<const RowMatrixXf> y(other, n_other, k);
  const ColMatrixXf gramian = y.transpose() * y;
  auto work = [&](uint32_t begin, uint32_t end) {
    RowWorkspace ws;
    for (uint32_t r = begin; r < end; ++r) {
      const size_t lo = m.offsets[r], hi = m.offsets[r + 1];
      float* x = dst + size_t{r} * k;
      if (lo == hi) {
        std::fill(x, x + k, 0.0f);
        continue;
      }
      SolveRow(gramian, other, k, std::span(m.indices).subspan(lo, hi - lo),
               std::span(m.strength).subspan(lo, hi - lo), o.alpha, RowLambda(o, hi - lo), x, &ws);
    }
  };
  const int threads = std::max(1, std::min<int>(o.threads, static_cast<int>(m.rows / 64) + 1));
  if (threads == 1) {
    work(0, m.rows);
    return;
  }
  std::vector<std::thread> workers;
  const uint32_t chunk = (m.rows + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    const uint32_t b = std::min(m.rows, t * chunk), e = std::min(m.rows, b + chunk);
    workers.emplace_back(work, b, e);
  }
  for (auto& w : workers) w.join();
}

double RegularizationTerm(const ImplicitMatrix& m, const IalsTrainOptions& o, const float* rows,
                          int k) {
  double sum = 0.0;
  for (uint32_t r = 0; r < m.rows; ++r) {
    const double sq = Eigen::Map<const Eigen::VectorXf>(rows + size_t{r} * k, k).squaredNorm();
    sum += RowLambda(o, m.RowSize(r)) * sq;
  }
  return sum;
}

}  // namespace

Status ValidateIalsOptions(const IalsTrainOptions& o) {
  if (o.iterations < 0) return Status::InvalidArgument("iALS iterations must be >= 0");
  STREAMREC_RETURN_IF_ERROR(o.objective().Validate());
  if (!(o.signal.target_scale > 0.0f) || !std::isfinite(o.signal.target_exponent)) {
    return Status::InvalidArgument("iALS target scale must be > 0 and its exponent finite");
  }
  if (o.threads < 1) return Status::InvalidArgument("iALS threads must be >= 1");
  return Status::OK();
}

void SolveImplicitRow(const Eigen::MatrixXf& gramian, const float* other, int k,
                      std::span<const uint32_t> ids, std::span<const float> strengths, float alpha,
                      float lambda, float* out) {
  RowWorkspace ws;
  SolveRow(gramian, other, k, ids, strengths, alpha, lambda, out, &ws);
}

double IalsObjective(const ImplicitMatrix& by_user, const IalsTrainOptions& o,
                     const MFModel& model) {
  return IalsObjective(by_user, o, model.UserRows(), model.ItemRows());
}

double IalsObjective(const ImplicitMatrix& by_user, const IalsTrainOptions& o, const RowMatrixXf& x,
                     const RowMatrixXf& y) {
  const auto k = static_cast<int>(x.cols());
  // Σ over every cell of (x·y)² = trace(XᵀX YᵀY); the observed cells then
  // swap their (x·y)² for c (1 − x·y)².
  const Eigen::MatrixXd gx = (x.transpose() * x).cast<double>();
  const Eigen::MatrixXd gy = (y.transpose() * y).cast<double>();
  double loss = gx.cwiseProduct(gy).sum();
  for (uint32_t u = 0; u < by_user.rows; ++u) {
    Eigen::Map<const Eigen::VectorXf> xu(x.data() + size_t{u} * k, k);
    for (size_t e = by_user.offsets[u]; e < by_user.offsets[u + 1]; ++e) {
      const double s =
          xu.dot(Eigen::Map<const Eigen::VectorXf>(y.data() + size_t{by_user.indices[e]} * k, k));
      const double c = 1.0 + double{o.alpha} * by_user.strength[e];
      loss += c * (1.0 - s) * (1.0 - s) - s * s;
    }
  }
  loss += RegularizationTerm(by_user, o, x.data(), k);
  // Item row sizes: count per column.
  std::vector<size_t> item_count(by_user.cols, 0);
  for (uint32_t i : by_user.indices) ++item_count[i];
  for (uint32_t i = 0; i < by_user.cols; ++i) {
    const double sq = Eigen::Map<const Eigen::VectorXf>(y.data() + size_t{i} * k, k).squaredNorm();
    loss += RowLambda(o, item_count[i]) * sq;
  }
  return by_user.nnz() > 0 ? loss / static_cast<double>(by_user.nnz()) : 0.0;
}

Status TrainIals(std::span<const TrainingExample> data, const IalsTrainOptions& options,
                 MFModel* model, const EpochCallback& on_iteration) {
  STREAMREC_RETURN_IF_ERROR(ValidateIalsOptions(options));
  StatusOr<ImplicitMatrix> by_user =
      BuildImplicitMatrix(data, model->num_users(), model->num_items(), options.signal);
  if (!by_user.ok()) return by_user.status();
  if (model->num_users() == 0 || model->num_items() == 0) return Status::OK();
  const ImplicitMatrix by_item = Transpose(*by_user);
  // Scores are x·y alone: no bias or mean may leak into a ranking.
  model->global_mean() = 0.0f;
  std::fill_n(&model->user_bias(0), model->num_users(), 0.0f);
  std::fill_n(&model->item_bias(0), model->num_items(), 0.0f);
  const int k = model->rank();
  // The rows as one block each for the solves (the model keeps them in
  // pages, MFModel), written back before the model is read.
  RowMatrixXf users = model->UserRows();
  RowMatrixXf items = model->ItemRows();
  for (int it = 1; it <= options.iterations; ++it) {
    SolveSide(*by_user, items.data(), model->num_items(), k, options, users.data());
    SolveSide(by_item, users.data(), model->num_users(), k, options, items.data());
    // Measured on the blocks: no copy of the rows (128 MB of users at 500k
    // x rank 64) held beside them while it sums.
    if (on_iteration && !on_iteration(it, IalsObjective(*by_user, options, users, items))) break;
  }
  model->SetUserRows(users);
  model->SetItemRows(items);
  return Status::OK();
}

}  // namespace streamrec::engine
