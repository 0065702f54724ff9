// EventTypes: the registry of interaction kinds (view, click, cart, purchase,
// rating, plus any configured) and how each one teaches the model.
//
// Thread-safety: immutable after construction; safe to share.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/event.h"
#include "engine/core/status.h"

namespace streamrec::engine {

struct EventTypeSpec {
  std::string name;
  // Confidence of the signal relative to the other types: the SGD step on
  // this event is scaled by it, and popularity counts it this much. A
  // purchase says more than a view, so it moves the model further.
  float weight = 1.0f;
  // true: the event carries a rating in `value` and that is the target.
  bool explicit_rating = false;
  // For implicit types under the rating model: the rating the event stands
  // for (a purchase ~ a 5, a view ~ a weak 3.5). Unset: the type updates
  // popularity and the user's seen items but not the factors.
  std::optional<float> implied_rating;
  // Ratings outside [min_value, max_value] are rejected (explicit only).
  float min_value = 0.0f;
  float max_value = 5.0f;
};

class EventTypes {
 public:
  // view, click, cart, purchase (implicit) and rating (explicit, 0.5..5).
  static EventTypes Defaults();

  // Fails on an empty or duplicate name, a non-positive weight, or an
  // explicit type whose range is empty.
  static StatusOr<EventTypes> Create(std::vector<EventTypeSpec> specs);

  std::optional<EventTypeId> Find(std::string_view name) const;
  const EventTypeSpec& spec(EventTypeId id) const { return specs_[id]; }
  size_t size() const { return specs_.size(); }
  // Comma-separated names, for error messages.
  std::string Names() const;

  // The rating target of an event of `type` with `value`, or nullopt if the
  // type does not train the rating model.
  std::optional<float> Target(EventTypeId type, float value) const;

 private:
  std::vector<EventTypeSpec> specs_;
};

}  // namespace streamrec::engine
