// The [events] section's type lines: `type.<name> = [implicit|explicit]
// [weight=W] [implied=R|implied=none] [min=A] [max=B]` (config.h).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

#include "tools/config/config_sections.h"

namespace streamrec::tools::config_internal {

namespace po = boost::program_options;

namespace {

StatusOr<float> ParseFloat(std::string_view s) {
  float v = 0.0f;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) {
    return Status::InvalidArgument(fmt::format("'{}' is not a finite number", s));
  }
  return v;
}

}  // namespace

bool ValidTypeName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-') return false;
  }
  return true;
}

namespace {

// Applies one `type.<name> = ...` value to *spec (which holds the built-in's
// settings, or a new type's defaults).
Status ParseTypeSpec(std::string_view value, engine::EventTypeSpec* spec) {
  bool saw_min_max = false, saw_implied = false;
  size_t pos = 0;
  while (pos < value.size()) {
    const size_t start = value.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(value.find_first_of(" \t", start), value.size());
    const std::string_view tok = value.substr(start, end - start);
    pos = end;
    if (tok == "implicit" || tok == "explicit") {
      spec->explicit_rating = tok == "explicit";
      continue;
    }
    const size_t eq = tok.find('=');
    const std::string_view k = tok.substr(0, eq);
    const std::string_view v = eq == std::string_view::npos ? "" : tok.substr(eq + 1);
    if (eq == std::string_view::npos ||
        (k != "weight" && k != "implied" && k != "min" && k != "max")) {
      return Status::InvalidArgument(fmt::format(
          "unknown setting '{}' (expected implicit, explicit, weight=, implied=, min=, max=)",
          tok));
    }
    if (k == "implied" && v == "none") {
      spec->implied_rating.reset();
      saw_implied = true;
      continue;
    }
    StatusOr<float> f = ParseFloat(v);
    if (!f.ok()) return Status::InvalidArgument(fmt::format("{}: {}", k, f.status().message()));
    if (k == "weight") spec->weight = *f;
    if (k == "implied") spec->implied_rating = *f, saw_implied = true;
    if (k == "min") spec->min_value = *f, saw_min_max = true;
    if (k == "max") spec->max_value = *f, saw_min_max = true;
  }
  if (spec->explicit_rating && saw_implied) {
    return Status::InvalidArgument(
        "implied= is for implicit types (an explicit one carries its rating)");
  }
  if (!spec->explicit_rating && saw_min_max) {
    return Status::InvalidArgument("min=/max= are for explicit types");
  }
  if (spec->explicit_rating) spec->implied_rating.reset();
  return Status::OK();
}

}  // namespace

// Builds the event-type registry from the built-ins (unless dropped) and
// the `events.type.<name>` lines, in file order.
StatusOr<engine::EventTypes> BuildTypes(const std::string& path, bool defaults,
                                        const std::vector<po::option>& lines) {
  std::vector<engine::EventTypeSpec> specs;
  if (defaults) {
    const engine::EventTypes d = engine::EventTypes::Defaults();
    for (size_t i = 0; i < d.size(); ++i)
      specs.push_back(d.spec(static_cast<engine::EventTypeId>(i)));
  }
  std::map<std::string, bool, std::less<>> seen;
  for (const po::option& o : lines) {
    const std::string name = o.string_key.substr(kTypePrefix.size());
    const std::string value = o.value.empty() ? "" : o.value.front();
    auto fail = [&](std::string_view why) {
      return Status::InvalidArgument(fmt::format("{}: {}: {}", path, o.string_key, why));
    };
    if (!ValidTypeName(name)) return fail("a type name is 1-64 letters, digits, '_' or '-'");
    if (!seen.emplace(name, true).second) return fail("defined twice");
    auto it =
        std::find_if(specs.begin(), specs.end(), [&](const auto& s) { return s.name == name; });
    engine::EventTypeSpec spec;
    spec.name = name;
    if (it != specs.end()) spec = *it;
    if (Status st = ParseTypeSpec(value, &spec); !st.ok()) return fail(st.message());
    if (it != specs.end()) {
      *it = std::move(spec);
    } else {
      specs.push_back(std::move(spec));
    }
  }
  StatusOr<engine::EventTypes> types = engine::EventTypes::Create(std::move(specs));
  if (!types.ok()) {
    return Status::InvalidArgument(fmt::format("{}: [events]: {}", path, types.status().message()));
  }
  return types;
}

}  // namespace streamrec::tools::config_internal
