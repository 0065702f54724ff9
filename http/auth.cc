#include "http/auth.h"

#include <fmt/format.h>
#include <strings.h>

#include <algorithm>
#include <boost/beast/http/field.hpp>

namespace streamrec::http {
namespace {

// Pads short secrets so that their length does not show either.
constexpr size_t kMinWidth = 64;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// s[i], or 0 past the end, without a branch. s.data()[0] must be readable
// (a std::string's always is: its terminator).
unsigned PaddedByte(std::string_view s, size_t i) {
  const size_t inside = i < s.size();
  const unsigned mask = 0u - static_cast<unsigned>(inside);
  return static_cast<unsigned char>(s.data()[i * inside]) & mask;
}

}  // namespace

std::string_view PresentedSecret(const RequestHeader& req) {
  const auto auth = req.find(boost::beast::http::field::authorization);
  if (auth != req.end()) {
    const std::string_view v = Trim(auth->value());
    constexpr std::string_view kScheme = "bearer ";
    if (v.size() > kScheme.size() && strncasecmp(v.data(), kScheme.data(), kScheme.size()) == 0) {
      return Trim(v.substr(kScheme.size()));
    }
  }
  const auto api_key = req.find("X-API-Key");
  if (api_key != req.end()) return Trim(api_key->value());
  return {};
}

Status ValidateApiKeys(const std::vector<ApiKey>& keys) {
  for (size_t a = 0; a < keys.size(); ++a) {
    for (size_t b = a + 1; b < keys.size(); ++b) {
      if (!keys[a].secret.empty() && keys[a].secret == keys[b].secret) {
        return Status::InvalidArgument(
            fmt::format("API keys '{}' and '{}' have the same secret; give each key its own",
                        keys[a].name, keys[b].name));
      }
    }
  }
  return Status::OK();
}

AuthResult CheckApiKey(const std::vector<ApiKey>& keys, std::string_view secret, uint32_t scope,
                       const ApiKey** matched) {
  if (matched != nullptr) *matched = nullptr;
  if (keys.empty()) return AuthResult::kOk;
  size_t width = kMinWidth;
  for (const ApiKey& k : keys) width = std::max(width, k.secret.size());
  // Neither says anything about the secrets: the caller chose both.
  if (secret.empty() || secret.size() > width) return AuthResult::kUnauthenticated;

  // A copy, so that reading its first byte is always allowed.
  const std::string candidate(secret);
  size_t found = keys.size();
  for (size_t k = 0; k < keys.size(); ++k) {
    const std::string& key = keys[k].secret;
    unsigned diff =
        static_cast<unsigned>(key.size() != candidate.size()) | static_cast<unsigned>(key.empty());
    for (size_t i = 0; i < width; ++i) diff |= PaddedByte(key, i) ^ PaddedByte(candidate, i);
    // Selects k with masks: all ones if this key matched, else zero.
    const size_t equal = size_t{0} - static_cast<size_t>(diff == 0);
    found = (equal & k) | (~equal & found);
  }
  if (found == keys.size()) return AuthResult::kUnauthenticated;
  if (matched != nullptr) *matched = &keys[found];
  return (keys[found].scopes & scope) != 0 ? AuthResult::kOk : AuthResult::kForbidden;
}

}  // namespace streamrec::http
