// Duplicate keys in JSON objects. RFC 8259 leaves {"user":"a","user":"b"}
// to the parser, and Boost.JSON keeps the last; a request that says two
// things at once is refused instead, so no two components (a proxy, a log
// pipeline, streamrec) can read one body differently.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "engine/core/status.h"

namespace streamrec::http {

// OK if no object in the JSON text `text` has a key twice (at any depth),
// else InvalidArgument "duplicate key 'user' in a JSON object". `text` must
// already be known to parse (ParseJson checks it first); a syntax error
// here is reported as OK, for the parse to name.
Status CheckNoDuplicateKeys(std::string_view text);

}  // namespace streamrec::http
