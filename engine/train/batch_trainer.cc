#include "engine/train/batch_trainer.h"

#include <fmt/format.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <thread>

#include "engine/core/random.h"

namespace streamrec::engine {
namespace {

Status CheckData(std::span<const TrainingExample> data, const MFModel& model) {
  for (size_t n = 0; n < data.size(); ++n) {
    const TrainingExample& x = data[n];
    if (x.user >= model.num_users() || x.item >= model.num_items()) {
      return Status::InvalidArgument(
          fmt::format("example {} names user {} / item {} beyond the model ({} x {})", n, x.user,
                      x.item, model.num_users(), model.num_items()));
    }
    if (!std::isfinite(x.target) || !(x.weight > 0.0f)) {
      return Status::InvalidArgument(
          fmt::format("example {} has a non-finite target or "
                      "non-positive weight",
                      n));
    }
  }
  return Status::OK();
}

float WeightedMean(std::span<const TrainingExample> data) {
  double sum = 0.0, wsum = 0.0;
  for (const auto& x : data) {
    sum += double{x.weight} * x.target;
    wsum += x.weight;
  }
  return wsum > 0.0 ? static_cast<float>(sum / wsum) : 0.0f;
}

// Example indices grouped by row (CSR): rows[r] .. rows[r+1] in `index`.
struct Grouping {
  std::vector<size_t> offsets;
  std::vector<uint32_t> index;
};

Grouping GroupBy(std::span<const TrainingExample> data, uint32_t n_rows, bool by_user) {
  Grouping g;
  g.offsets.assign(n_rows + 1, 0);
  for (const auto& x : data) ++g.offsets[(by_user ? x.user : x.item) + 1];
  std::partial_sum(g.offsets.begin(), g.offsets.end(), g.offsets.begin());
  g.index.resize(data.size());
  std::vector<size_t> fill(g.offsets.begin(), g.offsets.end() - 1);
  for (size_t n = 0; n < data.size(); ++n) {
    const auto& x = data[n];
    g.index[fill[by_user ? x.user : x.item]++] = static_cast<uint32_t>(n);
  }
  return g;
}

// Solves every row of one side with the other side fixed: x = [p; b] from
// (AᵀWA + Λ) x = AᵀW y, A rows = [q_j, 1], y = r - μ - b_j.
void SolveSide(std::span<const TrainingExample> data, const Grouping& g, bool users,
               const AlsTrainOptions& o, MFModel* model) {
  const int k = model->rank();
  const uint32_t n_rows = users ? model->num_users() : model->num_items();
  // The threads write rows: no page may be shared (MFModel) when they
  // start. They read through a const view.
  model->OwnAllPages();
  const MFModel& rows = *model;
  auto solve_range = [&](uint32_t begin, uint32_t end) {
    Eigen::MatrixXf ata(k + 1, k + 1);
    Eigen::VectorXf aty(k + 1);
    Eigen::VectorXf a(k + 1);
    for (uint32_t r = begin; r < end; ++r) {
      const size_t lo = g.offsets[r], hi = g.offsets[r + 1];
      if (lo == hi) continue;  // no data: keep the row as it is
      ata.setZero();
      aty.setZero();
      double wsum = 0.0;
      for (size_t e = lo; e < hi; ++e) {
        const TrainingExample& x = data[g.index[e]];
        const uint32_t other = users ? x.item : x.user;
        const float* v = users ? rows.item_factors(other) : rows.user_factors(other);
        const float other_bias = users ? model->item_bias(other) : model->user_bias(other);
        a.head(k) = Eigen::Map<const Eigen::VectorXf>(v, k);
        a[k] = 1.0f;
        const float y = x.target - model->global_mean() - other_bias;
        ata.selfadjointView<Eigen::Lower>().rankUpdate(a, x.weight);
        aty += (x.weight * y) * a;
        wsum += x.weight;
      }
      ata.diagonal().head(k).array() += static_cast<float>(o.regularization * wsum);
      ata(k, k) += o.bias_regularization;
      const Eigen::VectorXf sol = ata.selfadjointView<Eigen::Lower>().ldlt().solve(aty);
      float* dst = users ? model->user_factors(r) : model->item_factors(r);
      Eigen::Map<Eigen::VectorXf>(dst, k) = sol.head(k);
      (users ? model->user_bias(r) : model->item_bias(r)) = sol[k];
    }
  };
  const int threads = std::max(1, std::min<int>(o.threads, static_cast<int>(n_rows / 64) + 1));
  if (threads == 1) {
    solve_range(0, n_rows);
    return;
  }
  std::vector<std::thread> workers;
  const uint32_t chunk = (n_rows + threads - 1) / threads;
  for (int t = 0; t < threads; ++t) {
    const uint32_t b = std::min(n_rows, t * chunk), e = std::min(n_rows, b + chunk);
    workers.emplace_back(solve_range, b, e);
  }
  for (auto& w : workers) w.join();
}

}  // namespace

double TrainingRmse(std::span<const TrainingExample> data, const MFModel& model) {
  double se = 0.0, wsum = 0.0;
  for (const auto& x : data) {
    const double e = x.target - model.Predict(x.user, x.item);
    se += x.weight * e * e;
    wsum += x.weight;
  }
  return wsum > 0.0 ? std::sqrt(se / wsum) : 0.0;
}

Status TrainSgd(std::span<const TrainingExample> data, const SgdTrainOptions& options,
                MFModel* model, const EpochCallback& on_epoch) {
  STREAMREC_RETURN_IF_ERROR(CheckData(data, *model));
  if (options.epochs < 0) return Status::InvalidArgument("epochs must be >= 0");
  const SgdParams& sp = options.params;
  // Negated comparisons so that NaN fails them too.
  if (!(sp.learning_rate > 0) || !(sp.bias_learning_rate >= 0) || !(sp.regularization >= 0) ||
      !(sp.bias_regularization >= 0) || !std::isfinite(sp.learning_rate) ||
      !std::isfinite(sp.bias_learning_rate)) {
    return Status::InvalidArgument(
        "SGD needs finite learning rates > 0 (bias: >= 0) and regularization >= 0");
  }
  if (!(options.decay > 0 && options.decay <= 1)) {
    return Status::InvalidArgument("SGD decay must be in (0, 1]");
  }
  model->global_mean() = WeightedMean(data);
  std::vector<uint32_t> order(data.size());
  std::iota(order.begin(), order.end(), 0u);
  SplitMix64 rng(options.seed);
  SgdParams p = options.params;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    // Fisher-Yates with our own generator: std::shuffle's algorithm is
    // unspecified, which would break bit-identical retrains across libcs.
    for (size_t n = order.size(); n > 1; --n) std::swap(order[n - 1], order[rng.Uniform(n)]);
    double se = 0.0, wsum = 0.0;
    for (uint32_t n : order) {
      const TrainingExample& x = data[n];
      const float err = SgdStep(model, x.user, x.item, x.target, x.weight, p);
      se += double{x.weight} * err * err;
      wsum += x.weight;
    }
    p.learning_rate *= options.decay;
    p.bias_learning_rate *= options.decay;
    if (on_epoch && !on_epoch(epoch, wsum > 0 ? std::sqrt(se / wsum) : 0.0)) break;
  }
  return Status::OK();
}

Status TrainAls(std::span<const TrainingExample> data, const AlsTrainOptions& options,
                MFModel* model, const EpochCallback& on_epoch) {
  STREAMREC_RETURN_IF_ERROR(CheckData(data, *model));
  if (options.iterations < 0) return Status::InvalidArgument("iterations must be >= 0");
  // Written as !(x >= 0) so that NaN is refused too.
  if (!(options.regularization >= 0) || !(options.bias_regularization >= 0)) {
    return Status::InvalidArgument("regularization must be >= 0");
  }
  model->global_mean() = WeightedMean(data);
  const Grouping by_user = GroupBy(data, model->num_users(), true);
  const Grouping by_item = GroupBy(data, model->num_items(), false);
  for (int it = 1; it <= options.iterations; ++it) {
    SolveSide(data, by_user, true, options, model);
    SolveSide(data, by_item, false, options, model);
    if (on_epoch && !on_epoch(it, TrainingRmse(data, *model))) break;
  }
  return Status::OK();
}

}  // namespace streamrec::engine
