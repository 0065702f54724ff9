// JSON error replies, the one shape every 4xx/5xx of streamrec has:
//   {"error": {"code": "invalid_argument", "message": "event 3: ..."}}
// and the mapping from engine/storage Status codes to HTTP statuses.
#pragma once

#include <boost/beast/http/status.hpp>
#include <string_view>

#include "engine/core/status.h"
#include "http/handler.h"

namespace streamrec::http {

// A complete JSON error response (Content-Type application/json). version
// is the request's (11 for HTTP/1.1); keep_alive whether the connection
// may be reused after it.
Response ErrorResponse(boost::beast::http::status status, std::string_view code,
                       std::string_view message, unsigned version, bool keep_alive);

// InvalidArgument 400, NotFound 404, AlreadyExists/Conflict 409,
// FailedPrecondition 409, ResourceExhausted 429, CapacityExceeded 507,
// IOError 503, Corruption/Unimplemented/Internal 500.
boost::beast::http::status HttpStatusFor(StatusCode code);
// "invalid_argument", "not_found", "conflict", ...
std::string_view ErrorCodeName(StatusCode code);

// ErrorResponse for a Status (its message, its mapped status and code).
Response ErrorResponse(const Status& status, unsigned version, bool keep_alive);

}  // namespace streamrec::http
