// API keys: the `[api] keys` / STREAMREC_API_KEYS syntax (config.h).
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "tools/config/config.h"
#include "tools/config/config_sections.h"

namespace streamrec::tools {

using config_internal::ValidTypeName;

StatusOr<std::vector<http::ApiKey>> ParseApiKeys(std::string_view spec, std::string_view origin) {
  std::vector<http::ApiKey> keys;
  size_t pos = 0, index = 0;
  while (true) {
    const size_t start = spec.find_first_not_of(", \t\r\n", pos);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(spec.find_first_of(", \t\r\n", start), spec.size());
    const std::string_view entry = spec.substr(start, end - start);
    pos = end;
    ++index;
    const size_t c1 = entry.find(':');
    const size_t c2 = c1 == std::string_view::npos ? c1 : entry.find(':', c1 + 1);
    // The name only: an entry without two colons may be a bare secret.
    const std::string_view name = entry.substr(0, c1 == std::string_view::npos ? 0 : c1);
    auto fail = [&](std::string_view why) {
      return Status::InvalidArgument(fmt::format(
          "{}: key {}{}: {}", origin, index, name.empty() ? "" : fmt::format(" '{}'", name), why));
    };
    if (c2 == std::string_view::npos) return fail("expected NAME:SCOPES:SECRET");
    http::ApiKey key;
    key.name = std::string(name);
    key.secret = std::string(entry.substr(c2 + 1));
    if (key.name.empty() || !ValidTypeName(key.name)) {
      return fail("a key name is 1-64 letters, digits, '_' or '-'");
    }
    std::string_view scopes = entry.substr(c1 + 1, c2 - c1 - 1);
    while (!scopes.empty()) {
      const size_t plus = std::min(scopes.find('+'), scopes.size());
      const std::string_view s = scopes.substr(0, plus);
      if (s == "read") {
        key.scopes |= http::kScopeRead;
      } else if (s == "write") {
        key.scopes |= http::kScopeWrite;
      } else if (s == "admin") {
        key.scopes |= http::kScopeAdmin;
      } else {
        return fail(fmt::format("unknown scope '{}' (read, write, admin joined by '+')", s));
      }
      scopes.remove_prefix(std::min(scopes.size(), plus + 1));
    }
    if (key.scopes == 0) return fail("no scopes (read, write, admin joined by '+')");
    if (key.secret.size() < kMinApiSecretLength) {
      return fail(fmt::format("secret shorter than {} characters", kMinApiSecretLength));
    }
    for (const http::ApiKey& k : keys) {
      if (k.name == key.name) return fail("name used twice");
    }
    keys.push_back(std::move(key));
  }
  return keys;
}

void MergeApiKeys(std::vector<http::ApiKey> extra, std::vector<http::ApiKey>* keys) {
  for (http::ApiKey& k : extra) {
    auto it = std::find_if(keys->begin(), keys->end(),
                           [&](const http::ApiKey& old) { return old.name == k.name; });
    if (it != keys->end()) {
      *it = std::move(k);
    } else {
      keys->push_back(std::move(k));
    }
  }
}

Status ApplyApiKeysFromEnv(Config* config) {
  const char* env = std::getenv(kApiKeysEnv);
  if (env == nullptr || *env == '\0') return Status::OK();
  auto keys = ParseApiKeys(env, kApiKeysEnv);
  if (!keys.ok()) return keys.status();
  MergeApiKeys(std::move(keys).value(), &config->api.keys);
  return Status::OK();
}

std::string ScopeNames(uint32_t scopes) {
  std::string out;
  for (auto [bit, name] : {std::pair<uint32_t, const char*>{http::kScopeRead, "read"},
                           {http::kScopeWrite, "write"},
                           {http::kScopeAdmin, "admin"}}) {
    if ((scopes & bit) == 0) continue;
    if (!out.empty()) out += '+';
    out += name;
  }
  return out;
}

}  // namespace streamrec::tools
