#include "http/errors.h"

#include <boost/beast/http/field.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <string>

#include "engine/core/id_text.h"

namespace streamrec::http {

namespace bhttp = boost::beast::http;

namespace {

// Messages often quote the client's own input (an id, a field). Boost.JSON
// escapes quotes and control characters but copies other bytes through, so
// invalid UTF-8 is replaced with U+FFFD to keep the body valid JSON.
std::string ValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = engine::Utf8SequenceLength(s, i);
    if (n == 0) {
      out.append("\xEF\xBF\xBD");
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace

Response ErrorResponse(bhttp::status status, std::string_view code, std::string_view message,
                       unsigned version, bool keep_alive) {
  boost::json::object error;
  error["code"] = ValidUtf8(code);
  error["message"] = ValidUtf8(message);
  boost::json::object root;
  root["error"] = std::move(error);

  Response res{status, version};
  res.set(bhttp::field::content_type, "application/json");
  res.keep_alive(keep_alive);
  res.body() = boost::json::serialize(root);
  res.body().push_back('\n');
  res.prepare_payload();
  return res;
}

bhttp::status HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return bhttp::status::ok;
    case StatusCode::kInvalidArgument:
      return bhttp::status::bad_request;
    case StatusCode::kNotFound:
      return bhttp::status::not_found;
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict:
    case StatusCode::kFailedPrecondition:
      return bhttp::status::conflict;
    case StatusCode::kResourceExhausted:
      return bhttp::status::too_many_requests;
    case StatusCode::kCapacityExceeded:
      return bhttp::status::insufficient_storage;
    case StatusCode::kIOError:
    case StatusCode::kUnavailable:
      return bhttp::status::service_unavailable;
    case StatusCode::kCorruption:
    case StatusCode::kUnimplemented:
    case StatusCode::kInternal:
      return bhttp::status::internal_server_error;
  }
  return bhttp::status::internal_server_error;
}

std::string_view ErrorCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kInvalidArgument:
      return "invalid_argument";
    case StatusCode::kNotFound:
      return "not_found";
    case StatusCode::kAlreadyExists:
      return "already_exists";
    case StatusCode::kConflict:
      return "conflict";
    case StatusCode::kFailedPrecondition:
      return "failed_precondition";
    case StatusCode::kResourceExhausted:
      return "resource_exhausted";
    case StatusCode::kCapacityExceeded:
      return "capacity_exceeded";
    case StatusCode::kCorruption:
      return "corruption";
    case StatusCode::kIOError:
      return "io_error";
    case StatusCode::kUnavailable:
      return "unavailable";
    case StatusCode::kUnimplemented:
      return "unimplemented";
    case StatusCode::kInternal:
      return "internal";
  }
  return "internal";
}

Response ErrorResponse(const Status& status, unsigned version, bool keep_alive) {
  return ErrorResponse(HttpStatusFor(status.code()), ErrorCodeName(status.code()), status.message(),
                       version, keep_alive);
}

}  // namespace streamrec::http
