// The parameters of the implicit (iALS) objective, shared by the batch
// trainer (engine/train/ials_trainer.h, which writes the objective out) and
// the online updater (engine/online/implicit_online.h): α in the confidence
// c = 1 + α·w, and the row ridge λ_r = λ · n_r^ν. Both learners must use
// the same three numbers or the online steps pull a retrained model towards
// a different optimum.
//
// Thread-safety: a value type.
#pragma once

#include <cstddef>

#include "engine/core/status.h"

namespace streamrec::engine {

struct ImplicitObjective {
  // Defaults tuned on ml-100k (ials_trainer.h says how).
  float alpha = 10.0f;
  float regularization = 6.0f;
  float regularization_exponent = 0.5f;

  // InvalidArgument naming the bad field (α finite and >= 0, λ finite and
  // > 0, ν in [0, 2]; NaN refused).
  Status Validate() const;
  // λ_r for a row with n observed cells.
  float RowLambda(size_t n) const;
};

}  // namespace streamrec::engine
