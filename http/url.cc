#include "http/url.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/grammar/string_token.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/scheme.hpp>
#include <boost/url/url_view.hpp>
#include <charconv>

namespace streamrec::http {
namespace {

namespace urls = boost::urls;

// Enough of a value to name it in an error message without echoing
// megabytes back.
std::string Excerpt(std::string_view s) {
  constexpr size_t kMax = 64;
  if (s.size() <= kMax) return std::string(s);
  return fmt::format("{}...", s.substr(0, kMax));
}

bool IsHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// Boost.URL's own messages ("leftover", "bad hexdig in pct-encoding") name
// the grammar rule; a client needs to know what to fix.
std::string WhyInvalid(std::string_view raw, const boost::system::error_code& ec) {
  for (size_t i = 0; i < raw.size(); ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c == '%' && (i + 2 >= raw.size() || !IsHex(raw[i + 1]) || !IsHex(raw[i + 2]))) {
      return "bad percent-encoding ('%' must be followed by two hex digits)";
    }
    if (c <= 0x20 || c >= 0x7f) {
      return "a space, control or non-ASCII byte must be percent-encoded";
    }
  }
  return fmt::format("not a valid origin-form or absolute-form target ({})", ec.message());
}

}  // namespace

StatusOr<Target> Target::Parse(std::string_view target) {
  Target t;
  t.text_ = std::make_unique<const std::string>(target);
  const std::string_view raw = *t.text_;
  // RFC 9112 3.2: a server must accept the absolute-form; origin-form is
  // what clients send to a server that is not a proxy.
  const bool absolute = !raw.empty() && raw.front() != '/';
  boost::system::result<urls::url_view> url =
      absolute ? urls::parse_absolute_uri(boost::core::string_view(raw.data(), raw.size()))
               : urls::parse_origin_form(boost::core::string_view(raw.data(), raw.size()));
  if (!url) {
    return Status::InvalidArgument(
        fmt::format("invalid request target '{}': {}", Excerpt(raw), WhyInvalid(raw, url.error())));
  }
  if (absolute && url->scheme_id() != urls::scheme::http &&
      url->scheme_id() != urls::scheme::https) {
    return Status::InvalidArgument(
        fmt::format("request target '{}': only http and https URLs are served", Excerpt(raw)));
  }
  if (url->has_fragment()) {
    return Status::InvalidArgument(
        fmt::format("request target '{}' has a fragment", Excerpt(raw)));
  }
  t.path = url->encoded_path();
  t.query = url->encoded_query();
  for (urls::pct_string_view segment : url->encoded_segments()) {
    t.segments.emplace_back(segment.data(), segment.size());
  }
  return t;
}

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  const std::string text(in);  // NUL-terminated: see Target::text_
  boost::system::result<urls::pct_string_view> pct =
      urls::make_pct_string_view(boost::core::string_view(text.data(), text.size()));
  if (!pct) return false;
  urls::encoding_opts opts;
  opts.space_as_plus = plus_is_space;
  pct->decode(opts, urls::string_token::assign_to(*out));
  return true;
}

StatusOr<Query> Query::Parse(std::string_view raw) {
  Query q;
  // Boost 1.81's compiled query parser read a view that is not
  // NUL-terminated up to the next NUL (a request target inside Beast's
  // buffer: "n=5" came out as "5 HTTP/1.1...", and ASan saw the strlen).
  // Target::Parse has checked the query's grammar; the split on '&' and the
  // first '=' (RFC 3986 leaves it to the application; this is the
  // form-urlencoded one) is done here, and Boost.URL decodes each piece.
  std::string_view rest = raw;
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view part = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
    if (part.empty()) continue;  // "a=1&&b=2", a trailing '&'
    const size_t eq = part.find('=');
    const std::string_view raw_key = part.substr(0, eq);
    const std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    std::string name, value;
    if (!PercentDecode(raw_key, /*plus_is_space=*/true, &name) ||
        !PercentDecode(raw_value, /*plus_is_space=*/true, &value)) {
      return Status::InvalidArgument(
          fmt::format("bad percent-encoding in query parameter '{}'", Excerpt(raw_key)));
    }
    if (name.empty()) {
      return Status::InvalidArgument(
          fmt::format("query parameter without a name: '{}'", Excerpt(part)));
    }
    q.params_.emplace_back(std::move(name), std::move(value));
  }
  return q;
}

std::vector<std::string> Query::Remove(std::string_view name) {
  std::vector<std::string> out;
  std::erase_if(params_, [&](std::pair<std::string, std::string>& p) {
    if (p.first != name) return false;
    out.push_back(std::move(p.second));
    return true;
  });
  return out;
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
