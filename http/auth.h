// API-key authentication: finds the secret a request presents
// ("Authorization: Bearer <secret>" or "X-API-Key: <secret>"), the key it
// belongs to, and whether that key has the route's scope.
//
// The secret is compared with every configured key, each over the same
// zero-padded width (the longest secret, at least 64 bytes), byte by byte
// with no early exit and no data-dependent branch: how long a check takes
// depends on the number of keys and that width, never on how much of a
// guess matched, which key it matched, or how long the real secrets are.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/core/status.h"
#include "http/api.h"
#include "http/handler.h"

namespace streamrec::http {

enum class AuthResult {
  kOk,               // open (no keys configured) or a key with the scope
  kUnauthenticated,  // 401: no credentials, or none that match a key
  kForbidden,        // 403: a valid key without the route's scope
};

// The presented secret: the Bearer token, else X-API-Key, else "".
std::string_view PresentedSecret(const RequestHeader& req);

// A key set fit to serve with: InvalidArgument, naming the keys (never the
// secrets), if two share a secret. A request with it would be let in as
// whichever matched last, with that key's scopes, and logs and metrics
// would name the wrong client; `serve` refuses to start instead.
Status ValidateApiKeys(const std::vector<ApiKey>& keys);

// `scope` is one Scope bit. *matched (optional) gets the key that matched
// (null if none). An empty `keys` lets everything through; a key with an
// empty secret never matches.
AuthResult CheckApiKey(const std::vector<ApiKey>& keys, std::string_view secret, uint32_t scope,
                       const ApiKey** matched = nullptr);

}  // namespace streamrec::http
