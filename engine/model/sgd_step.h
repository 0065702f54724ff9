// One stochastic-gradient step of biased MF on a single (user, item, target).
// Shared by the online learner and the batch SGD trainer so that "learn one
// event" means exactly the same thing in both.
#pragma once

#include <Eigen/Core>

#include "engine/model/mf_model.h"

namespace streamrec::engine {

struct SgdParams {
  float learning_rate = 0.01f;
  float regularization = 0.05f;  // L2 on p_u and q_i
  float bias_learning_rate = 0.01f;
  float bias_regularization = 0.01f;  // L2 on b_u and b_i
};

// Minimises w * (target - r̂)^2 + reg terms with one step on b_u, b_i, p_u,
// q_i (p and q updated from each other's old values). Returns the error
// target - r̂ before the step. u and i must exist in the model.
inline float SgdStep(MFModel* model, uint32_t u, uint32_t i, float target, float weight,
                     const SgdParams& p) {
  const int k = model->rank();
  Eigen::Map<Eigen::VectorXf> pu(model->user_factors(u), k);
  Eigen::Map<Eigen::VectorXf> qi(model->item_factors(i), k);
  float& bu = model->user_bias(u);
  float& bi = model->item_bias(i);
  const float err = target - (model->global_mean() + bu + bi + pu.dot(qi));
  const float we = weight * err;
  bu += p.bias_learning_rate * (we - p.bias_regularization * bu);
  bi += p.bias_learning_rate * (we - p.bias_regularization * bi);
  const float lr = p.learning_rate;
  const float shrink = 1.0f - lr * p.regularization;
  // Evaluate both updates from the old vectors: a fixed-size temporary is
  // avoided by updating q with a copy of the old p taken on the stack.
  constexpr int kMaxStack = 512;
  if (k <= kMaxStack) {
    alignas(64) float old_p[kMaxStack];
    Eigen::Map<Eigen::VectorXf> op(old_p, k);
    op = pu;
    pu = shrink * pu + (lr * we) * qi;
    qi = shrink * qi + (lr * we) * op;
  } else {
    const Eigen::VectorXf op = pu;
    pu = shrink * pu + (lr * we) * qi;
    qi = shrink * qi + (lr * we) * op;
  }
  return err;
}

}  // namespace streamrec::engine
