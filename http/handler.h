// The seam between the HTTP transport (http/server.h: sockets, parsing,
// limits, deadlines, keep-alive, shutdown) and what the requests mean
// (http/api.h: routing, auth, JSON, the store). The transport hands each
// complete request to a Handler and writes whatever reply comes back.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <functional>
#include <optional>

namespace streamrec::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using RequestHeader = boost::beast::http::request_header<>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// Delivers the response to a request. Call it exactly once, from any
// thread; the transport posts the write to the connection's strand.
using Responder = std::function<void(Response)>;

class Handler {
 public:
  virtual ~Handler() = default;
  // Called on a server thread for each complete request. Must not block on
  // disk or on the model writer: work that waits goes elsewhere and calls
  // `respond` when done.
  virtual void Handle(Request req, Responder respond) = 0;
  // Called on a server thread with a request's header before its body is
  // read (only when one follows). A response returned here is sent instead,
  // and the connection is closed without reading the body: the API answers
  // 401 and 403 here, so a client without a valid key cannot make the
  // server buffer megabytes first. Must be cheap and must not block.
  virtual std::optional<Response> CheckHeader(const RequestHeader& header) {
    (void)header;
    return std::nullopt;
  }
  // A request the transport refused before it reached Handle (413 body
  // too large, 431 headers too large, 400 unparsable HTTP, 408 read
  // deadline), with the status it answered: for metrics.
  virtual void OnRejected(unsigned status) { (void)status; }
};

}  // namespace streamrec::http
