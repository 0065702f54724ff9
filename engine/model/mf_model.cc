#include "engine/model/mf_model.h"

#include <fmt/format.h>

#include <cassert>
#include <cmath>
#include <limits>

#include "engine/core/random.h"

namespace streamrec::engine {

Status ValidateModelOptions(const ModelOptions& o) {
  if (o.rank < 1 || o.rank > kMaxRank) {
    return Status::InvalidArgument(
        fmt::format("rank must be in [1, {}], got {}", kMaxRank, o.rank));
  }
  if (!std::isfinite(o.init_stddev) || o.init_stddev < 0) {
    return Status::InvalidArgument(
        fmt::format("init_stddev must be finite and >= 0, got {}", o.init_stddev));
  }
  return Status::OK();
}

MFModel::MFModel(const ModelOptions& options) : options_(options) { assert(options_.rank > 0); }

MFModel MFModel::Clone() const {
  MFModel m(options_);
  m.global_mean_ = global_mean_;
  m.user_factors_ = user_factors_;
  m.item_factors_ = item_factors_;
  m.user_bias_ = user_bias_;
  m.item_bias_ = item_bias_;
  return m;
}

void MFModel::InitialVector(char kind, uint32_t row, float* out) const {
  // Hash (seed, kind, row) into the generator's start: seeding with a plain
  // row * increment would make row r+1's draws row r's shifted by one.
  SplitMix64 mix(options_.seed ^ (uint64_t{static_cast<unsigned char>(kind)} << 56));
  const uint64_t base = mix.Next();
  SplitMix64 start(base ^ (uint64_t{row} * 0xD6E8FEB86659FD93ull));
  SplitMix64 rng(start.Next());
  for (int d = 0; d < rank(); ++d) out[d] = options_.init_stddev * rng.NextGaussian();
}

void MFModel::EnsureUsers(uint32_t n) {
  const uint32_t old = num_users();
  if (n <= old) return;
  user_factors_.resize(size_t{n} * rank());
  user_bias_.resize(n, 0.0f);
  for (uint32_t u = old; u < n; ++u) InitialVector('u', u, user_factors(u));
}

void MFModel::EnsureItems(uint32_t n) {
  const uint32_t old = num_items();
  if (n <= old) return;
  item_factors_.resize(size_t{n} * rank());
  item_bias_.resize(n, 0.0f);
  for (uint32_t i = old; i < n; ++i) InitialVector('i', i, item_factors(i));
}

Eigen::Map<RowMatrixXf> MFModel::UserMatrix() {
  return {user_factors_.data(), num_users(), rank()};
}
Eigen::Map<const RowMatrixXf> MFModel::UserMatrix() const {
  return {user_factors_.data(), num_users(), rank()};
}
Eigen::Map<RowMatrixXf> MFModel::ItemMatrix() {
  return {item_factors_.data(), num_items(), rank()};
}
Eigen::Map<const RowMatrixXf> MFModel::ItemMatrix() const {
  return {item_factors_.data(), num_items(), rank()};
}

float MFModel::Predict(uint32_t u, uint32_t i) const {
  float dot = 0.0f;
  if (u < num_users() && i < num_items()) {
    Eigen::Map<const Eigen::VectorXf> p(user_factors(u), rank());
    Eigen::Map<const Eigen::VectorXf> q(item_factors(i), rank());
    dot = p.dot(q);
  }
  const float bu = u < num_users() ? user_bias_[u] : 0.0f;
  const float bi = i < num_items() ? item_bias_[i] : 0.0f;
  return global_mean_ + bu + bi + dot;
}

void MFModel::Reinitialize() {
  for (uint32_t u = 0; u < num_users(); ++u) InitialVector('u', u, user_factors(u));
  for (uint32_t i = 0; i < num_items(); ++i) InitialVector('i', i, item_factors(i));
  std::fill(user_bias_.begin(), user_bias_.end(), 0.0f);
  std::fill(item_bias_.begin(), item_bias_.end(), 0.0f);
  global_mean_ = 0.0f;
}

Status MFModel::SetRows(float global_mean, std::vector<float> user_factors,
                        std::vector<float> item_factors, std::vector<float> user_bias,
                        std::vector<float> item_bias) {
  constexpr size_t kMaxRows = std::numeric_limits<uint32_t>::max();
  const size_t k = static_cast<size_t>(rank());
  if (user_bias.size() > kMaxRows || item_bias.size() > kMaxRows ||
      user_factors.size() != user_bias.size() * k || item_factors.size() != item_bias.size() * k) {
    return Status::InvalidArgument(fmt::format(
        "rows do not fit rank {}: {} user factors for {} users, {} item factors for {} items", k,
        user_factors.size(), user_bias.size(), item_factors.size(), item_bias.size()));
  }
  global_mean_ = global_mean;
  user_factors_ = std::move(user_factors);
  item_factors_ = std::move(item_factors);
  user_bias_ = std::move(user_bias);
  item_bias_ = std::move(item_bias);
  return Status::OK();
}

}  // namespace streamrec::engine
