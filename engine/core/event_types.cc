#include "engine/core/event_types.h"

#include <fmt/format.h>

#include <set>

namespace streamrec::engine {

EventTypes EventTypes::Defaults() {
  std::vector<EventTypeSpec> specs = {
      {"view", 0.1f, false, 3.5f, 0, 0},
      {"click", 0.25f, false, 4.0f, 0, 0},
      {"cart", 0.5f, false, 4.5f, 0, 0},
      {"purchase", 1.0f, false, 5.0f, 0, 0},
      {"rating", 1.0f, true, std::nullopt, 0.5f, 5.0f},
  };
  auto types = Create(std::move(specs));
  assert(types.ok());
  return std::move(types).value();
}

StatusOr<EventTypes> EventTypes::Create(std::vector<EventTypeSpec> specs) {
  if (specs.empty()) return Status::InvalidArgument("no event types defined");
  if (specs.size() > 1000) {
    return Status::InvalidArgument("more than 1000 event types defined");
  }
  std::set<std::string, std::less<>> seen;
  for (const auto& s : specs) {
    if (s.name.empty()) return Status::InvalidArgument("event type with empty name");
    if (!seen.insert(s.name).second) {
      return Status::InvalidArgument(fmt::format("event type '{}' defined twice", s.name));
    }
    if (!(s.weight > 0.0f) || s.weight > 1000.0f) {
      return Status::InvalidArgument(
          fmt::format("event type '{}': weight must be in (0, 1000]", s.name));
    }
    if (s.explicit_rating && !(s.min_value < s.max_value)) {
      return Status::InvalidArgument(
          fmt::format("event type '{}': min_value must be below max_value", s.name));
    }
  }
  EventTypes t;
  t.specs_ = std::move(specs);
  return t;
}

std::optional<EventTypeId> EventTypes::Find(std::string_view name) const {
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].name == name) return static_cast<EventTypeId>(i);
  }
  return std::nullopt;
}

std::string EventTypes::Names() const {
  std::string out;
  for (const auto& s : specs_) {
    if (!out.empty()) out += ", ";
    out += s.name;
  }
  return out;
}

std::optional<float> EventTypes::Target(EventTypeId type, float value) const {
  const EventTypeSpec& s = specs_[type];
  if (s.explicit_rating) return value;
  return s.implied_rating;
}

}  // namespace streamrec::engine
