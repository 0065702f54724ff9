#include "engine/train/bpr_trainer.h"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/core/random.h"

namespace streamrec::engine {
namespace {

// Draws positive cells (u, i) with probability proportional to strength.
class PositiveSampler {
 public:
  explicit PositiveSampler(const ImplicitMatrix& m) : m_(m) {
    row_of_.resize(m.nnz());
    for (uint32_t u = 0; u < m.rows; ++u) {
      std::fill(row_of_.begin() + static_cast<std::ptrdiff_t>(m.offsets[u]),
                row_of_.begin() + static_cast<std::ptrdiff_t>(m.offsets[u + 1]), u);
    }
    uniform_ = std::all_of(m.strength.begin(), m.strength.end(),
                           [&](float s) { return s == m.strength.front(); });
    if (!uniform_) {
      cumulative_.resize(m.nnz());
      double sum = 0.0;
      for (size_t e = 0; e < m.nnz(); ++e) cumulative_[e] = sum += m.strength[e];
    }
  }
  // The index of a cell in m's arrays.
  size_t Draw(SplitMix64* rng) const {
    if (uniform_) return rng->Uniform(m_.nnz());
    const double target = rng->NextDouble() * cumulative_.back();
    const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), target);
    return std::min<size_t>(static_cast<size_t>(it - cumulative_.begin()), m_.nnz() - 1);
  }
  uint32_t row(size_t cell) const { return row_of_[cell]; }

 private:
  const ImplicitMatrix& m_;
  std::vector<uint32_t> row_of_;
  std::vector<double> cumulative_;
  bool uniform_ = true;
};

}  // namespace

Status ValidateBprOptions(const BprTrainOptions& o) {
  if (o.epochs < 0) return Status::InvalidArgument("BPR epochs must be >= 0");
  // Negated comparisons so that NaN is refused too.
  if (!(o.learning_rate > 0.0f) || !std::isfinite(o.learning_rate)) {
    return Status::InvalidArgument("BPR learning rate must be finite and > 0");
  }
  if (!(o.regularization >= 0.0f) || !(o.bias_regularization >= 0.0f) ||
      !std::isfinite(o.regularization) || !std::isfinite(o.bias_regularization)) {
    return Status::InvalidArgument("BPR regularization must be finite and >= 0");
  }
  if (!(o.decay > 0.0f && o.decay <= 1.0f)) {
    return Status::InvalidArgument("BPR decay must be in (0, 1]");
  }
  if (!(o.signal.target_scale > 0.0f) || !std::isfinite(o.signal.target_exponent)) {
    return Status::InvalidArgument("BPR target scale must be > 0 and its exponent finite");
  }
  return Status::OK();
}

Status TrainBpr(std::span<const TrainingExample> data, const BprTrainOptions& options,
                MFModel* model, const EpochCallback& on_epoch) {
  STREAMREC_RETURN_IF_ERROR(ValidateBprOptions(options));
  if (model->rank() > 1024) return Status::InvalidArgument("BPR supports rank <= 1024");
  StatusOr<ImplicitMatrix> m =
      BuildImplicitMatrix(data, model->num_users(), model->num_items(), options.signal);
  if (!m.ok()) return m.status();
  model->global_mean() = 0.0f;
  for (uint32_t u = 0; u < model->num_users(); ++u) model->user_bias(u) = 0.0f;
  if (m->nnz() == 0) return Status::OK();
  const uint32_t n_items = model->num_items();
  const PositiveSampler positives(*m);
  SplitMix64 rng(options.seed);
  float lr = options.learning_rate;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    double loss = 0.0;
    size_t steps = 0;
    for (size_t s = 0; s < m->nnz(); ++s) {
      const size_t cell = positives.Draw(&rng);
      const uint32_t u = positives.row(cell);
      const size_t lo = m->offsets[u], hi = m->offsets[u + 1];
      if (hi - lo >= n_items) continue;  // the user has every item: no negative
      const auto first = m->indices.begin() + static_cast<std::ptrdiff_t>(lo);
      const auto last = m->indices.begin() + static_cast<std::ptrdiff_t>(hi);
      uint32_t j;
      do {
        j = static_cast<uint32_t>(rng.Uniform(n_items));
      } while (std::binary_search(first, last, j));
      loss += BprStep(model, u, m->indices[cell], j, lr, options.regularization,
                      options.bias_regularization);
      ++steps;
    }
    lr *= options.decay;
    if (on_epoch && !on_epoch(epoch, steps > 0 ? loss / static_cast<double>(steps) : 0.0)) break;
  }
  return Status::OK();
}

}  // namespace streamrec::engine
