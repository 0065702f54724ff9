// Request targets on Boost.URL: the RFC 3986 grammar for the origin-form
// ("/path?query") and absolute-form ("http://host/path?query", RFC 9112
// 3.2.2) targets, percent-decoding of path segments and query parameters,
// and the typed reads of query parameters the API does (n, booleans, id
// lists), each failing with an InvalidArgument that names the parameter.
// Nothing here parses by hand: a target Boost.URL refuses (a raw space or
// non-ASCII byte, a '%' without two hex digits) is a 400.
//
// Path segments are split on '/' before decoding, so an id may contain '/'
// sent as %2F. In queries '+' decodes to a space (what HTML forms, Python's
// urlencode and Go's url.Values send); a literal '+' must be sent as %2B.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/status.h"

namespace streamrec::http {

// A request target split into its raw (still percent-encoded) parts. The
// views point into the Target's own copy of the string given to Parse.
struct Target {
  // InvalidArgument for anything but a valid origin-form or absolute-form
  // (http or https) target.
  static StatusOr<Target> Parse(std::string_view target);

  std::string_view path;   // raw, without the query
  std::string_view query;  // raw, after '?' ("" if none)
  // "/v1/items/a%2Fb" -> {"v1", "items", "a%2Fb"}. A trailing '/' gives a
  // trailing empty segment; "/" gives none.
  std::vector<std::string_view> segments;

 private:
  // Boost 1.81's compiled parsers were seen (ASan) reading a view up to the
  // next NUL: they get a NUL-terminated copy. On the heap, so moving the
  // Target keeps the views valid.
  std::unique_ptr<const std::string> text_;
};

// Decodes %XX escapes (and '+' as a space if plus_is_space). False for a
// '%' not followed by two hex digits.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out);

// The parameters of one query string, decoded, in order.
class Query {
 public:
  // InvalidArgument for bad percent-encoding or an empty name.
  static StatusOr<Query> Parse(std::string_view raw);

  // InvalidArgument naming every parameter not in `allowed`.
  Status OnlyAllowed(std::initializer_list<std::string_view> allowed) const;

  // The value of a parameter given at most once: nullopt if absent,
  // InvalidArgument if repeated.
  StatusOr<std::optional<std::string>> Single(std::string_view name) const;
  // Every value of a parameter, in order.
  std::vector<std::string> All(std::string_view name) const;

  // An integer in [lo, hi], `fallback` if absent.
  StatusOr<size_t> Size(std::string_view name, size_t lo, size_t hi, size_t fallback) const;
  // "true" or "false", `fallback` if absent.
  StatusOr<bool> Bool(std::string_view name, bool fallback) const;
  // An id (non-empty, at most max_length bytes), "" if absent.
  StatusOr<std::string> Id(std::string_view name, size_t max_length) const;
  // Comma-separated ids, the parameter possibly repeated; empty elements
  // are skipped, each id at most max_length bytes.
  StatusOr<std::vector<std::string>> IdList(std::string_view name, size_t max_length) const;

  // Removes every value of `name` and returns them, in order (for a
  // parameter the router answers itself, such as min_seq).
  std::vector<std::string> Remove(std::string_view name);

  const std::vector<std::pair<std::string, std::string>>& params() const { return params_; }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

}  // namespace streamrec::http
