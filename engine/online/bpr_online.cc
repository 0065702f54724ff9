#include "engine/online/bpr_online.h"

#include <cmath>

namespace streamrec::engine {

Status BprOnlineOptions::Validate() const {
  if (!(learning_rate > 0.0f) || !std::isfinite(learning_rate)) {
    return Status::InvalidArgument("BPR online learning rate must be finite and > 0");
  }
  if (!(regularization >= 0.0f) || !(bias_regularization >= 0.0f) ||
      !std::isfinite(regularization) || !std::isfinite(bias_regularization)) {
    return Status::InvalidArgument("BPR online regularization must be finite and >= 0");
  }
  if (negatives < 1 || negatives > 1000) {
    return Status::InvalidArgument("BPR online negatives must be in [1, 1000]");
  }
  return Status::OK();
}

}  // namespace streamrec::engine
