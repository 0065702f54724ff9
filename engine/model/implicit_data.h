// Implicit feedback as the ranking models see it: every (user, item) pair
// that has any interaction is a positive, with a strength w that sums the
// evidence (event-type weights, optionally scaled by the rating value).
// Shared by the iALS and BPR trainers and by the online implicit updater so
// that "how much does this event count" means the same thing in all three.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/event_types.h"
#include "engine/core/status.h"
#include "engine/model/training_example.h"

namespace streamrec::engine {

struct ImplicitSignalOptions {
  // The strength of one example is weight · (target / target_scale)^
  // target_exponent. weight is the event type's weight (view 0.1 < click
  // 0.25 < cart 0.5 < purchase 1; ratings 1). 0 ignores the target: a
  // 1-star rating is as much an interaction as a 5-star one, which is what
  // "every held-out interaction is relevant" rewards. > 0 trusts liked
  // items more (for implicit types the target is the implied rating, so
  // the order view < ... < purchase is kept).
  float target_exponent = 0.0f;
  float target_scale = 5.0f;
};

// Trusts liked items more: a 1-star rating counts 0.2, a 5-star 1 (the
// iALS trainer's and the live implicit model's default).
inline constexpr ImplicitSignalOptions kRatingWeightedSignal{.target_exponent = 1.0f,
                                                             .target_scale = 5.0f};

// Strength of one example (>= 0; 0 for a non-positive target when the
// exponent is > 0).
float ImplicitStrength(float weight, float target, const ImplicitSignalOptions& options);

// The strength of a live event of `type` (value: the rating of explicit
// types), as the trainers would count its TrainingExample: the type's
// weight, times the target factor where the type has a target (a type with
// neither a rating nor an implied rating counts its weight alone).
float EventStrength(const EventTypes& types, EventTypeId type, float value,
                    const ImplicitSignalOptions& options);

// The target of the TrainingExample an event gives an implicit trainer
// (ials, bpr): the event's rating or implied rating, and for a type with
// neither options.target_scale, which ImplicitStrength maps to the type's
// weight alone (as EventStrength counts it). Rating trainers use
// EventTypes::Target instead and skip such events.
float ImplicitTarget(const EventTypes& types, EventTypeId type, float value,
                     const ImplicitSignalOptions& options);

// A sparse rows x cols matrix of summed strengths in CSR form: row r holds
// cols[offsets[r] .. offsets[r+1]) ascending, one entry per distinct column.
struct ImplicitMatrix {
  uint32_t rows = 0;
  uint32_t cols = 0;
  std::vector<size_t> offsets;    // size rows + 1
  std::vector<uint32_t> indices;  // size nnz, column ids
  std::vector<float> strength;    // size nnz, summed strengths (> 0)

  size_t nnz() const { return indices.size(); }
  size_t RowSize(uint32_t r) const { return offsets[r + 1] - offsets[r]; }
};

// Users x items. Pairs whose summed strength is not > 0 are dropped.
// InvalidArgument for an index beyond num_users / num_items or a
// non-finite target or weight.
StatusOr<ImplicitMatrix> BuildImplicitMatrix(std::span<const TrainingExample> data,
                                             uint32_t num_users, uint32_t num_items,
                                             const ImplicitSignalOptions& options);

// Items x users from users x items (same entries).
ImplicitMatrix Transpose(const ImplicitMatrix& m);

}  // namespace streamrec::engine
