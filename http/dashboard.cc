// GET /dashboard: the operators' page, http/dashboard.html compiled in by
// cmake/EmbedText.cmake. The page itself is open (it holds no data); it
// reads /metrics, which is open too, and the admin and read routes with the
// key typed into it, so it shows nothing a key could not read anyway.
#include <boost/beast/http/field.hpp>

#include "http/api_internal.h"

namespace streamrec::http {

// Defined in the generated dashboard_html.cc.
extern const char kDashboardHtml[];

namespace internal {

void GetDashboard(Call& c) {
  if (!Check(c, c.query.OnlyAllowed({}))) return;
  Response res{boost::beast::http::status::ok, c.reply.version()};
  res.set(boost::beast::http::field::content_type, "text/html; charset=utf-8");
  // The page runs only its own inline script and talks only to this host;
  // its charts are inline SVG.
  res.set("Content-Security-Policy",
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
          "connect-src 'self'");
  res.keep_alive(c.reply.keep_alive());
  res.body() = kDashboardHtml;
  res.prepare_payload();
  c.reply.Send(std::move(res));
}

}  // namespace internal
}  // namespace streamrec::http
