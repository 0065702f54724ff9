#include "engine/online_learner.h"

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
  return SgdStep(model_, x.user, x.item, *target, types_->spec(x.type).weight, options_.sgd);
}

}  // namespace streamrec::engine
