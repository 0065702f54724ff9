#include "engine/online_learner.h"

#include <Eigen/Cholesky>

namespace streamrec::engine {

OnlineLearner::OnlineLearner(MFModel* model, const EventTypes* types,
                             const LearnerOptions& options)
    : model_(model), types_(types), options_(options) {}

std::optional<float> OnlineLearner::Apply(const Interaction& x) {
  if (x.user >= model_->num_users()) model_->EnsureUsers(x.user + 1);
  if (x.item >= model_->num_items()) model_->EnsureItems(x.item + 1);
  const std::optional<float> target = types_->Target(x.type, x.value);
  if (!target) return std::nullopt;
  ++mean_count_;
  model_->global_mean() += (*target - model_->global_mean()) / static_cast<float>(mean_count_);
  const float weight = types_->spec(x.type).weight;
  if (x.user >= user_events_.size()) {
    user_events_.resize(x.user + 1, 0);
    young_history_.resize(x.user + 1);
  }
  const uint32_t n = ++user_events_[x.user];
  const float err = SgdStep(model_, x.user, x.item, *target, weight, options_.sgd);
  if (n <= options_.fold_in_max_events) {
    young_history_[x.user].push_back({x.item, *target, weight});
    FoldInUser(x.user);
  } else if (n == options_.fold_in_max_events + 1) {
    std::vector<HistoryEntry>().swap(young_history_[x.user]);
  }
  return err;
}

void OnlineLearner::FoldInUser(uint32_t u) {
  // Solve [p; b] from (AᵀWA + Λ) x = AᵀW y, A rows [q_i, 1],
  // y = r - μ - b_i: the same normal equations as a batch ALS user step.
  const int k = model_->rank();
  Eigen::MatrixXf ata = Eigen::MatrixXf::Zero(k + 1, k + 1);
  Eigen::VectorXf aty = Eigen::VectorXf::Zero(k + 1);
  Eigen::VectorXf a(k + 1);
  float wsum = 0.0f;
  for (const HistoryEntry& h : young_history_[u]) {
    a.head(k) = Eigen::Map<const Eigen::VectorXf>(model_->item_factors(h.item), k);
    a[k] = 1.0f;
    ata.selfadjointView<Eigen::Lower>().rankUpdate(a, h.weight);
    aty += (h.weight * (h.target - model_->global_mean() - model_->item_bias(h.item))) * a;
    wsum += h.weight;
  }
  ata.diagonal().head(k).array() += options_.fold_in_regularization * wsum;
  ata(k, k) += options_.fold_in_bias_regularization;
  const Eigen::VectorXf sol = ata.selfadjointView<Eigen::Lower>().ldlt().solve(aty);
  Eigen::Map<Eigen::VectorXf>(model_->user_factors(u), k) = sol.head(k);
  model_->user_bias(u) = sol[k];
}

}  // namespace streamrec::engine
