#include "http/json_keys.h"

#include <fmt/format.h>

#include <boost/json/basic_parser_impl.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace streamrec::http {
namespace {

namespace json = boost::json;

// basic_parser's handler: the keys of each open object, innermost last.
class KeyHandler {
 public:
  static constexpr std::size_t max_array_size = -1;
  static constexpr std::size_t max_object_size = -1;
  static constexpr std::size_t max_string_size = -1;
  static constexpr std::size_t max_key_size = -1;

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t, json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) {
    open_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, json::error_code&) {
    open_.pop_back();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, json::error_code&) { return true; }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    key_.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code& ec) {
    key_.append(s.data(), s.size());
    if (!open_.back().insert(key_).second) {
      duplicate_ = std::move(key_);
      ec = json::error::syntax;  // stops the parser; duplicate_ says why
      return false;
    }
    key_.clear();
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, json::error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, json::error_code&) { return true; }
  bool on_double(double, json::string_view, json::error_code&) { return true; }
  bool on_bool(bool, json::error_code&) { return true; }
  bool on_null(json::error_code&) { return true; }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

  // The first key seen twice in one object, if any; an optional because ""
  // is a key too ({"": 1, "": 2}).
  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  std::vector<std::unordered_set<std::string>> open_;
  std::string key_;  // the key being read (keys may come in parts)
  std::optional<std::string> duplicate_;
};

}  // namespace

Status CheckNoDuplicateKeys(std::string_view text) {
  json::parse_options opts;
  opts.max_depth = SIZE_MAX;  // the real parse has enforced the limit
  json::basic_parser<KeyHandler> p(opts);
  json::error_code ec;
  p.write_some(false, text.data(), text.size(), ec);
  if (!p.handler().duplicate()) return Status::OK();
  const std::string_view key = *p.handler().duplicate();
  return Status::InvalidArgument(fmt::format("duplicate key '{}' in a JSON object{}",
                                             key.substr(0, 64), key.size() > 64 ? "..." : ""));
}

}  // namespace streamrec::http
