#include "engine/online/online_learner.h"

#include <fmt/format.h>

#include <Eigen/Cholesky>

namespace streamrec::engine {

OnlineLearner::OnlineLearner(MFModel* model, const EventTypes* types, const LearnerOptions& options)
    : model_(model), types_(types), options_(options) {}

std::optional<float> OnlineLearner::Apply(const IndexedEvent& x) {
  if (x.user >= model_->num_users()) model_->EnsureUsers(x.user + 1);
  if (x.item >= model_->num_items()) model_->EnsureItems(x.item + 1);
  const std::optional<float> target = types_->Target(x.type, x.value);
  if (!target) return std::nullopt;
  return ApplyExample(x.user, x.item, *target, types_->spec(x.type).weight);
}

float OnlineLearner::ApplyExample(uint32_t u, uint32_t i, float target, float weight) {
  if (u >= user_events_.size()) {
    user_events_.resize(u + 1, 0);
    young_history_.resize(u + 1);
  }
  const uint32_t n = ++user_events_[u];
  if (n == options_.fold_in_max_events + 1 && !young_history_[u].empty()) {
    // Graduation: install what queries have been scoring the user with,
    // then learn this event by SGD like every later one.
    (void)FoldIn(u, model_->user_factors(u), &model_->user_bias(u));
    std::vector<HistoryEntry>().swap(young_history_[u]);
  }
  ++mean_count_;
  model_->global_mean() += (target - model_->global_mean()) / static_cast<float>(mean_count_);
  if (n <= options_.fold_in_max_events) young_history_[u].push_back({i, target, weight});
  return SgdStep(model_, u, i, target, weight, options_.sgd);
}

void OnlineLearner::ForgetUser(uint32_t u) {
  if (u >= user_events_.size()) return;
  user_events_[u] = 0;
  std::vector<HistoryEntry>().swap(young_history_[u]);
}

void OnlineLearner::RemoveFromMean(uint64_t count, double sum) {
  if (count == 0) return;
  if (count >= mean_count_) {
    mean_count_ = 0;
    model_->global_mean() = 0.0f;
    return;
  }
  const double total = double{model_->global_mean()} * static_cast<double>(mean_count_) - sum;
  mean_count_ -= count;
  model_->global_mean() = static_cast<float>(total / static_cast<double>(mean_count_));
}

bool OnlineLearner::FoldIn(uint32_t u, float* p, float* bias) const {
  if (u >= young_history_.size() || young_history_[u].empty()) return false;
  // Solve [p; b] from (AᵀWA + Λ) x = AᵀW y, A rows [q_i, 1],
  // y = r - μ - b_i: the normal equations of a batch ALS user step.
  const int k = model_->rank();
  Eigen::MatrixXf ata = Eigen::MatrixXf::Zero(k + 1, k + 1);
  Eigen::VectorXf aty = Eigen::VectorXf::Zero(k + 1);
  Eigen::VectorXf a(k + 1);
  const MFModel& rows = *model_;  // reads (a non-const item_factors(i) takes the page)
  float wsum = 0.0f;
  for (const HistoryEntry& h : young_history_[u]) {
    a.head(k) = Eigen::Map<const Eigen::VectorXf>(rows.item_factors(h.item), k);
    a[k] = 1.0f;
    ata.selfadjointView<Eigen::Lower>().rankUpdate(a, h.weight);
    aty += (h.weight * (h.target - model_->global_mean() - model_->item_bias(h.item))) * a;
    wsum += h.weight;
  }
  ata.diagonal().head(k).array() += options_.fold_in_regularization * wsum;
  ata(k, k) += options_.fold_in_bias_regularization;
  const Eigen::VectorXf sol = ata.selfadjointView<Eigen::Lower>().ldlt().solve(aty);
  Eigen::Map<Eigen::VectorXf>(p, k) = sol.head(k);
  *bias = sol[k];
  return true;
}

float OnlineLearner::Predict(uint32_t u, uint32_t i) const {
  const int k = model_->rank();
  Eigen::VectorXf p(k);
  float b = 0.0f;
  if (i >= model_->num_items() || !FoldIn(u, p.data(), &b)) return model_->Predict(u, i);
  return model_->global_mean() + b + model_->item_bias(i) +
         p.dot(Eigen::Map<const Eigen::VectorXf>(std::as_const(*model_).item_factors(i), k));
}

void OnlineLearner::MaterializeFoldIns() {
  for (uint32_t u = 0; u < young_history_.size(); ++u) {
    (void)FoldIn(u, model_->user_factors(u), &model_->user_bias(u));
  }
}

Status OnlineLearner::Restore(uint64_t mean_count, std::vector<uint32_t> user_events,
                              std::vector<std::vector<HistoryEntry>> young_history) {
  if (user_events.size() != young_history.size()) {
    return Status::InvalidArgument(fmt::format("{} user event counts but {} histories",
                                               user_events.size(), young_history.size()));
  }
  for (size_t u = 0; u < user_events.size(); ++u) {
    const uint32_t n = user_events[u];
    const size_t want = n <= options_.fold_in_max_events ? n : 0;
    if (young_history[u].size() != want) {
      return Status::InvalidArgument(
          fmt::format("user {} has {} events and a history of {} (fold_in_max_events {})", u, n,
                      young_history[u].size(), options_.fold_in_max_events));
    }
  }
  mean_count_ = mean_count;
  user_events_ = std::move(user_events);
  young_history_ = std::move(young_history);
  return Status::OK();
}

}  // namespace streamrec::engine
