// MFModel: biased matrix factorisation, r̂(u,i) = μ + b_u + b_i + p_u·q_i.
//
// Storage is laid out for scanning: item factors are one contiguous
// row-major block (item i at item_factors() + i * rank()), so a top-N query
// is a single pass over memory. Rows are appended as new users and items are
// seen; a new row starts from a small random vector that depends only on
// (seed, kind, row), so the same events give bit-identical models whatever
// else happened in between.
//
// Thread-safety: not synchronised. One writer mutates it; concurrent readers
// need their own copy (Clone()).
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

#include "engine/core/status.h"

namespace streamrec::engine {

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

inline constexpr int kDefaultRank = 64;
// The largest rank the engine takes (ValidateModelOptions): 4 KB per row,
// far past where more dimensions help.
inline constexpr int kMaxRank = 1024;

struct ModelOptions {
  // Latent dimensions k. More fits finer taste structure but costs 4k bytes
  // per row and O(k) per update and per scored item.
  int rank = kDefaultRank;
  // Std-dev of new factor entries. Small keeps a cold row near zero, so an
  // unseen item scores about its bias and new users do not get noise.
  float init_stddev = 0.1f;
  // Seed of the initial vectors; part of the model's identity.
  uint64_t seed = 42;
};

// InvalidArgument naming the field ("rank must be in [1, 1024], got 0")
// unless rank is in [1, kMaxRank] and init_stddev finite and >= 0.
Status ValidateModelOptions(const ModelOptions& options);

class MFModel {
 public:
  explicit MFModel(const ModelOptions& options);
  MFModel(const MFModel&) = delete;
  MFModel& operator=(const MFModel&) = delete;
  MFModel(MFModel&&) = default;
  MFModel& operator=(MFModel&&) = default;

  // A deep copy, for publishing to readers or forking a retrain.
  MFModel Clone() const;

  const ModelOptions& options() const { return options_; }
  int rank() const { return options_.rank; }
  uint32_t num_users() const { return static_cast<uint32_t>(user_bias_.size()); }
  uint32_t num_items() const { return static_cast<uint32_t>(item_bias_.size()); }

  // Append rows until there are at least n users / items.
  void EnsureUsers(uint32_t n);
  void EnsureItems(uint32_t n);

  // user_factors(u): size rank(). item_factors(): size num_items() * rank().
  float* user_factors(uint32_t u) { return &user_factors_[size_t{u} * rank()]; }
  const float* user_factors(uint32_t u) const { return &user_factors_[size_t{u} * rank()]; }
  float* item_factors(uint32_t i) { return &item_factors_[size_t{i} * rank()]; }
  const float* item_factors(uint32_t i) const { return &item_factors_[size_t{i} * rank()]; }
  const float* item_factors() const { return item_factors_.data(); }
  // All user factors, num_users() * rank(), row-major (valid when empty too).
  const float* user_factors() const { return user_factors_.data(); }

  float& user_bias(uint32_t u) { return user_bias_[u]; }
  float user_bias(uint32_t u) const { return user_bias_[u]; }
  float& item_bias(uint32_t i) { return item_bias_[i]; }
  float item_bias(uint32_t i) const { return item_bias_[i]; }
  const float* item_biases() const { return item_bias_.data(); }
  const float* user_biases() const { return user_bias_.data(); }
  float& global_mean() { return global_mean_; }
  float global_mean() const { return global_mean_; }

  // Eigen views over the factor blocks: users num_users() x rank(),
  // items num_items() x rank(). Invalidated by Ensure*().
  Eigen::Map<RowMatrixXf> UserMatrix();
  Eigen::Map<const RowMatrixXf> UserMatrix() const;
  Eigen::Map<RowMatrixXf> ItemMatrix();
  Eigen::Map<const RowMatrixXf> ItemMatrix() const;

  float Predict(uint32_t u, uint32_t i) const;

  // Resets every row to its initial random vector and zeroes the biases
  // (batch training starts here).
  void Reinitialize();

  // The deterministic initial vector of a row: out size rank().
  void InitialVector(char kind, uint32_t row, float* out) const;

  // Replaces every row and the global mean at once (restoring a snapshot).
  // InvalidArgument, leaving the model unchanged, unless the factor blocks
  // hold exactly rank() floats per bias entry.
  Status SetRows(float global_mean, std::vector<float> user_factors,
                 std::vector<float> item_factors, std::vector<float> user_bias,
                 std::vector<float> item_bias);

 private:
  ModelOptions options_;
  float global_mean_ = 0.0f;
  std::vector<float> user_factors_;  // num_users() * rank()
  std::vector<float> item_factors_;  // num_items() * rank()
  std::vector<float> user_bias_;
  std::vector<float> item_bias_;
};

}  // namespace streamrec::engine
