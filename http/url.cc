#include "http/url.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace streamrec::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Enough of a value to name it in an error message without echoing
// megabytes back.
std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 64;
  if (s.size() <= kMax) return std::string(s);
  return fmt::format("{}...", s.substr(0, kMax));
}

}  // namespace

Target SplitTarget(std::string_view target) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (path.empty()) return out;
  while (true) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '%') {
      const int hi = i + 1 < in.size() ? HexValue(in[i + 1]) : -1;
      const int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

StatusOr<Query> Query::Parse(std::string_view raw) {
  Query q;
  while (!raw.empty()) {
    const size_t amp = raw.find('&');
    const std::string_view part = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
    if (part.empty()) continue;  // "a=1&&b=2", a trailing '&'
    const size_t eq = part.find('=');
    const std::string_view raw_name = part.substr(0, eq);
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    std::string name, value;
    if (!PercentDecode(raw_name, true, &name)) {
      return Status::InvalidArgument(
          fmt::format("bad percent-encoding in query parameter name '{}'", Excerpt(raw_name)));
    }
    if (name.empty()) {
      return Status::InvalidArgument(
          fmt::format("query parameter without a name: '{}'", Excerpt(part)));
    }
    if (!PercentDecode(raw_value, true, &value)) {
      return Status::InvalidArgument(
          fmt::format("query parameter '{}': bad percent-encoding", Excerpt(name)));
    }
    q.params_.emplace_back(std::move(name), std::move(value));
  }
  return q;
}

Status Query::OnlyAllowed(std::initializer_list<std::string_view> allowed) const {
  std::vector<std::string_view> unknown;
  for (const auto& [name, value] : params_) {
    if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) continue;
    if (std::find(unknown.begin(), unknown.end(), name) == unknown.end()) unknown.push_back(name);
  }
  if (unknown.empty()) return Status::OK();
  std::string names, known;
  for (std::string_view u : unknown) {
    names += fmt::format("{}'{}'", names.empty() ? "" : ", ", Excerpt(u));
  }
  for (std::string_view a : allowed) known += fmt::format("{}{}", known.empty() ? "" : ", ", a);
  return Status::InvalidArgument(fmt::format("unknown query parameter{} {} (known: {})",
                                             unknown.size() > 1 ? "s" : "", names,
                                             known.empty() ? "none" : known));
}

StatusOr<std::optional<std::string>> Query::Single(std::string_view name) const {
  std::optional<std::string> found;
  for (const auto& [n, v] : params_) {
    if (n != name) continue;
    if (found) {
      return Status::InvalidArgument(
          fmt::format("query parameter '{}' given more than once", name));
    }
    found = v;
  }
  return found;
}

std::vector<std::string> Query::All(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [n, v] : params_) {
    if (n == name) out.push_back(v);
  }
  return out;
}

StatusOr<size_t> Query::Size(std::string_view name, size_t lo, size_t hi, size_t fallback) const {
  StatusOr<std::optional<std::string>> v = Single(name);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return fallback;
  const std::string& s = **v;
  size_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || n < lo || n > hi) {
    return Status::InvalidArgument(fmt::format(
        "query parameter '{}' must be an integer in [{}, {}], got '{}'", name, lo, hi, Excerpt(s)));
  }
  return n;
}

StatusOr<bool> Query::Bool(std::string_view name, bool fallback) const {
  StatusOr<std::optional<std::string>> v = Single(name);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return fallback;
  if (**v == "true") return true;
  if (**v == "false") return false;
  return Status::InvalidArgument(
      fmt::format("query parameter '{}' must be 'true' or 'false', got '{}'", name, Excerpt(**v)));
}

StatusOr<std::string> Query::Id(std::string_view name, size_t max_length) const {
  StatusOr<std::optional<std::string>> v = Single(name);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::string();
  if ((*v)->empty()) {
    return Status::InvalidArgument(fmt::format("query parameter '{}' must not be empty", name));
  }
  if ((*v)->size() > max_length) {
    return Status::InvalidArgument(
        fmt::format("query parameter '{}' is longer than {} bytes", name, max_length));
  }
  return std::move(**v);
}

StatusOr<std::vector<std::string>> Query::IdList(std::string_view name, size_t max_length) const {
  std::vector<std::string> out;
  for (const std::string& value : All(name)) {
    std::string_view rest = value;
    while (true) {
      const size_t comma = rest.find(',');
      const std::string_view id = rest.substr(0, comma);
      if (id.size() > max_length) {
        return Status::InvalidArgument(
            fmt::format("query parameter '{}': id '{}' is longer than {} bytes", name, Excerpt(id),
                        max_length));
      }
      if (!id.empty()) out.emplace_back(id);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return out;
}

}  // namespace streamrec::http
