// GET /openapi.json: the OpenAPI 3 description of every route, kept in
// docs/openapi.json and compiled in by cmake/EmbedText.cmake (so the file
// in the repository and what a server answers cannot differ).
// tests/http/openapi_test.cc checks it against the router and validates
// real responses against its schemas.
#include <boost/beast/http.hpp>
#include <string>

#include "http/api.h"
#include "http/api_internal.h"

namespace streamrec::http {

// Defined in the generated openapi_text.cc.
extern const char kOpenApiJsonText[];

std::string_view OpenApiJson() { return kOpenApiJsonText; }

namespace internal {

void GetOpenApi(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  Response res{boost::beast::http::status::ok, c.reply.version()};
  res.set(boost::beast::http::field::content_type, "application/json");
  res.keep_alive(c.reply.keep_alive());
  res.body() = std::string(OpenApiJson());
  res.prepare_payload();
  c.reply.Send(std::move(res));
}

}  // namespace internal
}  // namespace streamrec::http
