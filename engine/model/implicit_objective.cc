#include "engine/model/implicit_objective.h"

#include <cmath>

namespace streamrec::engine {

Status ImplicitObjective::Validate() const {
  // Negated comparisons so that NaN is refused too.
  if (!(alpha >= 0.0f) || !std::isfinite(alpha)) {
    return Status::InvalidArgument("iALS alpha must be finite and >= 0");
  }
  if (!(regularization > 0.0f) || !std::isfinite(regularization)) {
    return Status::InvalidArgument("iALS regularization must be finite and > 0");
  }
  if (!(regularization_exponent >= 0.0f && regularization_exponent <= 2.0f)) {
    return Status::InvalidArgument("iALS regularization exponent must be in [0, 2]");
  }
  return Status::OK();
}

float ImplicitObjective::RowLambda(size_t n) const {
  if (regularization_exponent == 0.0f || n == 0) return regularization;
  return regularization * std::pow(static_cast<float>(n), regularization_exponent);
}

}  // namespace streamrec::engine
