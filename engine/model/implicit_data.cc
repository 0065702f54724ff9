#include "engine/model/implicit_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace streamrec::engine {

float ImplicitStrength(float weight, float target, const ImplicitSignalOptions& o) {
  if (o.target_exponent == 0.0f) return weight;
  if (!(target > 0.0f)) return 0.0f;
  return weight * std::pow(target / o.target_scale, o.target_exponent);
}

float EventStrength(const EventTypes& types, EventTypeId type, float value,
                    const ImplicitSignalOptions& options) {
  const float weight = types.spec(type).weight;
  const std::optional<float> target = types.Target(type, value);
  return target ? ImplicitStrength(weight, *target, options) : weight;
}

float ImplicitTarget(const EventTypes& types, EventTypeId type, float value,
                     const ImplicitSignalOptions& options) {
  return types.Target(type, value).value_or(options.target_scale);
}

StatusOr<ImplicitMatrix> BuildImplicitMatrix(std::span<const TrainingExample> data,
                                             uint32_t num_users, uint32_t num_items,
                                             const ImplicitSignalOptions& options) {
  if (!(options.target_scale > 0.0f) || !std::isfinite(options.target_exponent)) {
    return Status::InvalidArgument("implicit signal: target_scale must be > 0, exponent finite");
  }
  for (size_t n = 0; n < data.size(); ++n) {
    const TrainingExample& x = data[n];
    if (x.user >= num_users || x.item >= num_items) {
      return Status::InvalidArgument(
          fmt::format("example {} names user {} / item {} beyond the model ({} x {})", n, x.user,
                      x.item, num_users, num_items));
    }
    if (!std::isfinite(x.target) || !std::isfinite(x.weight) || x.weight < 0.0f) {
      return Status::InvalidArgument(
          fmt::format("example {} has a non-finite target or a bad weight", n));
    }
  }
  // Counting sort by user, then sort each row by item and merge duplicates:
  // O(nnz log row) and independent of the input order.
  std::vector<size_t> start(size_t{num_users} + 1, 0);
  for (const auto& x : data) ++start[x.user + 1];
  std::partial_sum(start.begin(), start.end(), start.begin());
  std::vector<std::pair<uint32_t, float>> cells(data.size());
  std::vector<size_t> fill(start.begin(), start.end() - 1);
  for (const auto& x : data) {
    cells[fill[x.user]++] = {x.item, ImplicitStrength(x.weight, x.target, options)};
  }
  ImplicitMatrix m;
  m.rows = num_users;
  m.cols = num_items;
  m.offsets.assign(size_t{num_users} + 1, 0);
  m.indices.reserve(data.size());
  m.strength.reserve(data.size());
  for (uint32_t u = 0; u < num_users; ++u) {
    auto first = cells.begin() + static_cast<std::ptrdiff_t>(start[u]);
    auto last = cells.begin() + static_cast<std::ptrdiff_t>(start[u + 1]);
    // Stable: equal items keep input order, so the float sums below are
    // the same for the same data.
    std::stable_sort(first, last, [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto it = first; it != last;) {
      const uint32_t item = it->first;
      float w = 0.0f;
      for (; it != last && it->first == item; ++it) w += it->second;
      if (w > 0.0f) {
        m.indices.push_back(item);
        m.strength.push_back(w);
      }
    }
    m.offsets[u + 1] = m.indices.size();
  }
  return m;
}

ImplicitMatrix Transpose(const ImplicitMatrix& m) {
  ImplicitMatrix t;
  t.rows = m.cols;
  t.cols = m.rows;
  t.offsets.assign(size_t{t.rows} + 1, 0);
  for (uint32_t c : m.indices) ++t.offsets[c + 1];
  std::partial_sum(t.offsets.begin(), t.offsets.end(), t.offsets.begin());
  t.indices.resize(m.nnz());
  t.strength.resize(m.nnz());
  std::vector<size_t> fill(t.offsets.begin(), t.offsets.end() - 1);
  for (uint32_t r = 0; r < m.rows; ++r) {  // ascending r: each column's rows come out sorted
    for (size_t e = m.offsets[r]; e < m.offsets[r + 1]; ++e) {
      const size_t at = fill[m.indices[e]]++;
      t.indices[at] = r;
      t.strength[at] = m.strength[e];
    }
  }
  return t;
}

}  // namespace streamrec::engine
