#include "engine/train/bpmf_trainer.h"

#include <fmt/format.h>

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <thread>

#include "engine/core/random.h"

namespace streamrec::engine {
namespace {

using MatrixXd = Eigen::MatrixXd;
using VectorXd = Eigen::VectorXd;

// Gamma(shape, 1) by Marsaglia & Tsang (2000); shape >= 1 here.
double SampleGamma(SplitMix64* rng, double shape) {
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = rng->NextGaussian();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = rng->NextDouble();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

// Wishart(scale, dof) by the Bartlett decomposition.
MatrixXd SampleWishart(SplitMix64* rng, const MatrixXd& scale, double dof) {
  const int n = static_cast<int>(scale.rows());
  const MatrixXd l = scale.llt().matrixL();
  MatrixXd a = MatrixXd::Zero(n, n);
  for (int i = 0; i < n; ++i) {
    a(i, i) = std::sqrt(2.0 * SampleGamma(rng, (dof - i) / 2.0));
    for (int j = 0; j < i; ++j) a(i, j) = rng->NextGaussian();
  }
  const MatrixXd la = l * a;
  return la * la.transpose();
}

struct Hyper {
  VectorXd mu;
  MatrixXd lambda;
};

// Draws (μ, Λ) of one side's prior given its current rows (n x k).
Hyper SampleHyper(SplitMix64* rng, const Eigen::Map<RowMatrixXf>& rows, double beta0) {
  const int k = static_cast<int>(rows.cols());
  const double n = static_cast<double>(rows.rows());
  const MatrixXd x = rows.cast<double>();
  const VectorXd mean = x.colwise().mean();
  const MatrixXd centered = x.rowwise() - mean.transpose();
  const MatrixXd s = centered.transpose() * centered;  // N * covariance
  const double beta = beta0 + n, nu = k + n;
  const VectorXd mu0 = (n * mean) / beta;  // μ0 = 0
  MatrixXd w_inv = MatrixXd::Identity(k, k) + s + (beta0 * n / beta) * mean * mean.transpose();
  MatrixXd w = w_inv.inverse();
  w = 0.5 * (w + w.transpose());
  Hyper h;
  h.lambda = SampleWishart(rng, w, nu);
  const MatrixXd cov_chol = (beta * h.lambda).llt().matrixL();
  // μ ~ N(mu0, (βΛ)^-1): mu0 + L^-T z with L Lᵀ = βΛ.
  VectorXd z(k);
  for (int d = 0; d < k; ++d) z[d] = rng->NextGaussian();
  h.mu = mu0 + cov_chol.transpose().triangularView<Eigen::Upper>().solve(z);
  return h;
}

struct Csr {
  std::vector<size_t> offsets;
  std::vector<uint32_t> other;
  std::vector<float> value;  // target - μ
  std::vector<float> weight;
};

Csr Group(std::span<const TrainingExample> data, uint32_t n_rows, bool by_user, float mean) {
  Csr g;
  g.offsets.assign(n_rows + 1, 0);
  for (const auto& x : data) ++g.offsets[(by_user ? x.user : x.item) + 1];
  std::partial_sum(g.offsets.begin(), g.offsets.end(), g.offsets.begin());
  g.other.resize(data.size());
  g.value.resize(data.size());
  g.weight.resize(data.size());
  std::vector<size_t> fill(g.offsets.begin(), g.offsets.end() - 1);
  for (const auto& x : data) {
    const size_t at = fill[by_user ? x.user : x.item]++;
    g.other[at] = by_user ? x.item : x.user;
    g.value[at] = x.target - mean;
    g.weight[at] = x.weight;
  }
  return g;
}

// Resamples every row of one side given the other side and the prior.
void SampleSide(const Csr& g, const Hyper& h, const Eigen::Map<RowMatrixXf>& other,
                Eigen::Map<RowMatrixXf>* rows, const BpmfTrainOptions& o, uint64_t stream) {
  const int k = static_cast<int>(rows->cols());
  const auto n_rows = static_cast<uint32_t>(rows->rows());
  const VectorXd prior_lin = h.lambda * h.mu;
  auto work = [&](uint32_t begin, uint32_t end) {
    MatrixXd prec(k, k);
    VectorXd lin(k), z(k), q(k);
    for (uint32_t r = begin; r < end; ++r) {
      prec = h.lambda;
      lin = prior_lin;
      for (size_t e = g.offsets[r]; e < g.offsets[r + 1]; ++e) {
        q = other.row(g.other[e]).transpose().cast<double>();
        const double a = o.observation_precision * g.weight[e];
        prec.selfadjointView<Eigen::Lower>().rankUpdate(q, a);
        lin += (a * g.value[e]) * q;
      }
      const Eigen::LLT<MatrixXd, Eigen::Lower> llt(prec.selfadjointView<Eigen::Lower>());
      const VectorXd mean = llt.solve(lin);
      SplitMix64 rng(stream ^ (uint64_t{r} * 0xD1B54A32D192ED03ull));
      for (int d = 0; d < k; ++d) z[d] = rng.NextGaussian();
      // x = mean + L^-T z has covariance (L Lᵀ)^-1 = prec^-1.
      const VectorXd x = mean + llt.matrixU().solve(z);
      rows->row(r) = x.transpose().cast<float>();
    }
  };
  const int threads = std::max(1, std::min(o.threads, static_cast<int>(n_rows / 64) + 1));
  std::vector<std::thread> pool;
  const uint32_t chunk = (n_rows + threads - 1) / threads;
  for (int t = 1; t < threads; ++t) {
    pool.emplace_back(work, std::min(n_rows, t * chunk), std::min(n_rows, (t + 1) * chunk));
  }
  work(0, std::min(n_rows, chunk));
  for (auto& th : pool) th.join();
}

}  // namespace

Status TrainBpmf(std::span<const TrainingExample> data, const BpmfTrainOptions& o, MFModel* model,
                 const EpochCallback& on_sweep) {
  if (o.sweeps < 1 || o.burn_in < 0 || o.burn_in >= o.sweeps) {
    return Status::InvalidArgument("bpmf: need sweeps >= 1 and 0 <= burn_in < sweeps");
  }
  if (!(o.observation_precision > 0) || !(o.beta0 > 0)) {
    return Status::InvalidArgument("bpmf: observation precision and beta0 must be positive");
  }
  double sum = 0.0, wsum = 0.0;
  for (const auto& x : data) {
    if (x.user >= model->num_users() || x.item >= model->num_items()) {
      return Status::InvalidArgument("bpmf: example beyond the model's users/items");
    }
    if (!std::isfinite(x.target) || !(x.weight > 0)) {
      return Status::InvalidArgument("bpmf: non-finite target or non-positive weight");
    }
    sum += double{x.weight} * x.target;
    wsum += x.weight;
  }
  model->Reinitialize();
  model->global_mean() = wsum > 0 ? static_cast<float>(sum / wsum) : 0.0f;
  const Csr by_user = Group(data, model->num_users(), true, model->global_mean());
  const Csr by_item = Group(data, model->num_items(), false, model->global_mean());
  // The rows as one block each (the model keeps them in pages, MFModel),
  // written back before the model is read.
  RowMatrixXf user_block = model->UserRows();
  Eigen::Map<RowMatrixXf> users(user_block.data(), user_block.rows(), user_block.cols());
  RowMatrixXf item_block = model->ItemRows();
  Eigen::Map<RowMatrixXf> items(item_block.data(), item_block.rows(), item_block.cols());
  RowMatrixXf user_sum = RowMatrixXf::Zero(users.rows(), users.cols());
  RowMatrixXf item_sum = RowMatrixXf::Zero(items.rows(), items.cols());
  SplitMix64 hyper_rng(o.seed);
  int kept = 0;
  std::vector<double> probe_sum(o.probe_predictions ? o.probe.size() : 0, 0.0);
  for (int sweep = 1; sweep <= o.sweeps; ++sweep) {
    const uint64_t base = o.seed * 0x9E3779B97F4A7C15ull + uint64_t(sweep) * 4;
    const Hyper hi = SampleHyper(&hyper_rng, items, o.beta0);
    SampleSide(by_item, hi, users, &items, o, base + 1);
    const Hyper hu = SampleHyper(&hyper_rng, users, o.beta0);
    SampleSide(by_user, hu, items, &users, o, base + 2);
    if (sweep > o.burn_in) {
      user_sum += users;
      item_sum += items;
      ++kept;
      for (size_t n = 0; n < probe_sum.size(); ++n) {
        const auto& x = o.probe[n];
        if (x.user < users.rows() && x.item < items.rows()) {
          probe_sum[n] += users.row(x.user).dot(items.row(x.item));
        }
      }
    }
    if (on_sweep) {
      double rmse = 0.0;
      if (kept > 0) {
        // Report the running posterior mean's fit (what is kept in the end).
        double se = 0.0, ws = 0.0;
        for (const auto& x : data) {
          const float p = model->global_mean() +
                          user_sum.row(x.user).dot(item_sum.row(x.item)) / float(kept * kept);
          se += double{x.weight} * (x.target - p) * (x.target - p);
          ws += x.weight;
        }
        rmse = std::sqrt(se / ws);
      } else {
        model->SetUserRows(user_block);
        model->SetItemRows(item_block);
        rmse = TrainingRmse(data, *model);
      }
      if (!on_sweep(sweep, rmse)) break;
    }
  }
  if (o.probe_predictions) {
    o.probe_predictions->resize(probe_sum.size());
    for (size_t n = 0; n < probe_sum.size(); ++n) {
      (*o.probe_predictions)[n] =
          model->global_mean() + static_cast<float>(probe_sum[n] / std::max(kept, 1));
    }
  }
  if (kept > 0) {
    users = user_sum / static_cast<float>(kept);
    items = item_sum / static_cast<float>(kept);
  }
  model->SetUserRows(user_block);
  model->SetItemRows(item_block);
  return Status::OK();
}

}  // namespace streamrec::engine
