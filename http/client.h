// Client: a small synchronous HTTP/1.1 client on Beast, for streamrec's own
// tools (bench freshness and ingest) and the integration tests. One
// keep-alive connection to one host:port; reconnects once if the server
// closed it between requests.
//
// Thread-safety: one Client per thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "engine/core/status.h"

namespace streamrec::http {

struct ClientResponse {
  unsigned status = 0;
  std::string body;
  // Header names lower-cased.
  std::map<std::string, std::string> headers;
  bool keep_alive = true;  // the server did not ask to close
};

class Client {
 public:
  Client(std::string host, uint16_t port, double timeout_seconds = 30.0);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends one request and reads the whole response. IOError if the server
  // cannot be reached or the exchange fails (timeout included). `headers`
  // are extra request headers (e.g. {"Authorization", "Bearer k"}).
  StatusOr<ClientResponse> Send(std::string_view method, std::string_view target,
                                std::string_view body = {},
                                std::string_view content_type = "application/json",
                                const std::map<std::string, std::string>& headers = {});
  StatusOr<ClientResponse> Get(std::string_view target,
                               const std::map<std::string, std::string>& headers = {}) {
    return Send("GET", target, {}, {}, headers);
  }
  StatusOr<ClientResponse> Post(std::string_view target, std::string_view body,
                                const std::map<std::string, std::string>& headers = {}) {
    return Send("POST", target, body, "application/json", headers);
  }
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace streamrec::http
