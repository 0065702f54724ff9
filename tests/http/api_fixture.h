// The real thing for API tests: a LiveStore in a temporary directory, an
// http::Api over it and an http::Server on an ephemeral loopback port,
// talked to over HTTP with http::Client.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "http/api.h"
#include "http/client.h"
#include "http/server.h"
#include "storage/live_store.h"
#include "tests/storage/temp_dir.h"

namespace streamrec::http::testing {

namespace json = boost::json;
using Headers = std::map<std::string, std::string>;

// The body as JSON (null if it is not JSON).
inline json::value Json(const ClientResponse& r) {
  json::error_code ec;
  json::value v = json::parse(r.body, ec);
  return ec ? json::value() : v;
}

// error.code of an error body, "" if it has none.
inline std::string ErrorCode(const ClientResponse& r) {
  const json::value v = Json(r);
  const json::value* code = v.is_object() ? v.as_object().if_contains("error") : nullptr;
  if (code == nullptr || !code->is_object()) return {};
  const json::value* c = code->as_object().if_contains("code");
  return c != nullptr && c->is_string() ? std::string(c->as_string()) : std::string();
}

inline std::string ErrorMessage(const ClientResponse& r) {
  const json::value v = Json(r);
  if (!v.is_object() || !v.as_object().contains("error")) return {};
  const json::value* m = v.at("error").as_object().if_contains("message");
  return m != nullptr && m->is_string() ? std::string(m->as_string()) : std::string();
}

// {"event_id": id (if any), "user", "item", "type", "value", "ts"}.
inline std::string EventJson(std::string_view user, std::string_view item,
                             std::string_view type = "view", double value = 0.0,
                             int64_t ts = 1'700'000'000'000, std::string_view id = {}) {
  std::string out = "{";
  if (!id.empty()) out += fmt::format("\"event_id\":\"{}\",", id);
  out += fmt::format("\"user\":\"{}\",\"item\":\"{}\",\"type\":\"{}\",\"value\":{},\"ts\":{}}}",
                     user, item, type, value, ts);
  return out;
}

class ApiTest : public ::testing::Test {
 protected:
  ApiTest() {
    store_options_.store.log.durability = storage::Durability::kProcess;
    store_options_.training.als.iterations = 3;
    engine_options_.model.rank = 8;
    engine_options_.cold_start_min_items = 3;
  }
  ~ApiTest() override { Stop(); }

  // Opens the store in data_dir_ (default: dir_) and serves it.
  void Start() {
    const std::string data = data_dir_.empty() ? dir_.path() : data_dir_;
    auto store = storage::LiveStore::Open(data, store_options_, engine_options_,
                                          engine::EventTypes::Defaults());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    api_ = std::make_unique<Api>(store_.get(), api_options_);
    ServerOptions so;
    so.port = 0;
    so.threads = 2;
    auto server = Server::Create(so, api_.get());
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    server_->Start();
    client_ = std::make_unique<Client>("127.0.0.1", server_->port(), 10.0);
  }

  // Stops the server, then closes the store (a snapshot is written).
  void Stop() {
    client_.reset();
    if (server_) {
      server_->Shutdown();
      server_->Wait();
      server_.reset();
    }
    api_.reset();
    if (store_) {
      EXPECT_TRUE(store_->Close().ok());
      store_.reset();
    }
  }

  ClientResponse Send(std::string_view method, std::string_view target, std::string_view body = {},
                      std::string_view content_type = "application/json",
                      const Headers& headers = {}) {
    StatusOr<ClientResponse> r = client_->Send(method, target, body, content_type, headers);
    EXPECT_TRUE(r.ok()) << method << " " << target << ": " << r.status().ToString();
    return r.ok() ? std::move(r).value() : ClientResponse{};
  }
  ClientResponse Get(std::string_view target, const Headers& headers = {}) {
    return Send("GET", target, {}, {}, headers);
  }
  ClientResponse Post(std::string_view target, std::string_view body, const Headers& headers = {}) {
    return Send("POST", target, body, "application/json", headers);
  }
  // POST /v1/events, expecting 200; returns the body.
  json::value Ingest(std::string_view body) {
    const ClientResponse r = Post("/v1/events", body);
    EXPECT_EQ(r.status, 200u) << r.body;
    return Json(r);
  }

  // Before Start(): the implicit objective, retrained by a 2-iteration
  // iALS, and a drift report and history point after every batch, so that
  // a test sees a retrain's outcome and drift's answers filled at once.
  void UseImplicitWithEveryDriftReport() {
    engine_options_.objective = engine::Objective::kImplicit;
    store_options_.training.algorithm = engine::Algorithm::kIals;
    store_options_.training.ials.iterations = 2;
    store_options_.drift.report_every_seconds = 0;
    store_options_.drift.history_every_seconds = 0;
  }

  // Polls GET /v1/admin/status (each must answer 200) until the retrain is
  // no longer running, for up to 30 s; *status gets the last answer. Call
  // it under ASSERT_NO_FATAL_FAILURE.
  void WaitForRetrain(json::value* status) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      const ClientResponse r = Get("/v1/admin/status");
      ASSERT_EQ(r.status, 200u) << r.body;
      *status = Json(r);
      if (status->at("retrain").at("state") != "running") return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // Polls GET /v1/admin/drift until its history holds a point, for up to
  // 20 s: the model thread observes events just after they are
  // acknowledged, so the report trails the write a little.
  void WaitForDriftHistory() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      const ClientResponse r = Get("/v1/admin/drift");
      ASSERT_EQ(r.status, 200u) << r.body;
      if (!Json(r).at("history").as_array().empty()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL() << "no drift history point after 20 s";
  }

  // Item ids of a response's "items".
  static std::vector<std::string> Items(const ClientResponse& r) {
    std::vector<std::string> out;
    const json::value v = Json(r);
    if (!v.is_object() || !v.as_object().contains("items")) return out;
    for (const json::value& x : v.at("items").as_array()) {
      out.emplace_back(x.at("item").as_string());
    }
    return out;
  }

  // Eight items whose popularity falls with their number: o1 buys i1..i8,
  // o2 i1..i7, ..., o8 i1 alone, so i1 has 8 purchases and i8 one.
  void SeedCatalog() {
    std::string body = "[";
    for (int u = 1; u <= 8; ++u) {
      for (int i = 1; i <= 9 - u; ++i) {
        if (body.size() > 1) body += ",";
        body += EventJson(fmt::format("o{}", u), fmt::format("i{}", i), "purchase", 0.0,
                          1'700'000'000'000 + u * 10 + i);
      }
    }
    body += "]";
    Ingest(body);
  }

  storage::testing::TempDir dir_;
  std::string data_dir_;  // "": dir_
  storage::LiveStoreOptions store_options_;
  engine::RecommenderOptions engine_options_;
  ApiOptions api_options_;
  std::unique_ptr<storage::LiveStore> store_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
};

}  // namespace streamrec::http::testing
