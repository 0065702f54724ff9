// Hardening of the write path over real HTTP (issue 12): retries without a
// ts, client timestamps, ids and values the API must refuse, what error
// bodies may say.

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "tests/http/api_fixture.h"

namespace streamrec::http::testing {
namespace {

TEST_F(ApiTest, ARetryWithoutTsIsADuplicate) {
  Start();
  // The README's example: no ts, so the server stamps it on arrival; the
  // retry, stamped later, is the same request.
  const std::string e = R"({"event_id":"retry-1","user":"u1","item":"i9","type":"view"})";
  const json::value first = Ingest(e);
  EXPECT_EQ(first.at("accepted"), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const json::value again = Ingest(e);
  EXPECT_EQ(again.at("accepted"), 0) << again;
  EXPECT_EQ(again.at("duplicates"), 1) << again;
  // With the same explicit ts a retry is a duplicate too ...
  const std::string timed = EventJson("u1", "i9", "view", 0.0, 1'700'000'000'000, "retry-2");
  EXPECT_EQ(Ingest(timed).at("accepted"), 1);
  EXPECT_EQ(Ingest(timed).at("duplicates"), 1);
  // ... and another payload under either id is still a conflict, an
  // explicit ts included (the client did not send one the first time).
  for (const std::string& other :
       {std::string(R"({"event_id":"retry-1","user":"u1","item":"i8","type":"view"})"),
        EventJson("u1", "i9", "view", 0.0, 1'700'000'000'000, "retry-1"),
        EventJson("u1", "i9", "view", 0.0, 1'700'000'000'001, "retry-2"),
        std::string(R"({"event_id":"retry-2","user":"u1","item":"i9","type":"view"})")}) {
    const ClientResponse r = Post("/v1/events", other);
    EXPECT_EQ(r.status, 409u) << other << " -> " << r.body;
  }
}

TEST_F(ApiTest, ClientTimestampsAreBoundedOnArrival) {
  Start();
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  // The black-box report's poison: one view in 9999, one at INT64_MIN, one a
  // year ahead. Each is a 400 naming the event and the bound; nothing stored.
  struct Case {
    std::string body, content_type, mentions;
  };
  const std::vector<Case> cases = {
      {fmt::format("[{},{}]", EventJson("u1", "i1", "view", 0, now),
                   R"({"user":"u1","item":"i9","type":"view","ts":"9999-12-31T23:59:59Z"})"),
       "application/json", "event 1: field 'ts' (9999-12-31T23:59:59.000Z) is more than 300 s"},
      {EventJson("u1", "i9", "view", 0, std::numeric_limits<int64_t>::min()), "application/json",
       "before 1970"},
      {EventJson("u1", "i9", "view", 0, now + 365LL * 86400 * 1000), "application/json",
       "max_future_skew_seconds"},
      {fmt::format("{}\n\n{}\n", EventJson("u1", "i1", "view", 0, now),
                   EventJson("u1", "i9", "view", 0, now + 3'600'000)),
       "application/x-ndjson", "line 3: field 'ts'"},
  };
  for (const Case& c : cases) {
    const ClientResponse r = Send("POST", "/v1/events", c.body, c.content_type);
    EXPECT_EQ(r.status, 400u) << c.body << " -> " << r.body;
    EXPECT_NE(ErrorMessage(r).find(c.mentions), std::string::npos) << r.body;
  }
  EXPECT_EQ(store_->status().durable_seq, 0u);
  // Within the skew, an old back-fill and no ts at all are fine.
  Ingest(EventJson("u1", "i1", "view", 0, now + 60'000));
  Ingest(EventJson("u1", "i2", "view", 0, 86'400'000));
  Ingest(R"({"user":"u1","item":"i3","type":"view"})");
  EXPECT_EQ(store_->status().durable_seq, 3u);
}

TEST_F(ApiTest, ConfiguredTimestampBounds) {
  api_options_.max_future_skew_seconds = -1;  // no bound
  api_options_.max_past_age_seconds = 3600;
  Start();
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  Ingest(EventJson("u1", "i1", "view", 0, now + 365LL * 86400 * 1000));
  const ClientResponse r = Post("/v1/events", EventJson("u1", "i1", "view", 0, now - 7'200'000));
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_NE(ErrorMessage(r).find("max_past_age_seconds"), std::string::npos) << r.body;
}

TEST_F(ApiTest, IdsValuesAndKeysThatCannotBeStoredAre400s) {
  Start();
  struct Case {
    const char* method;
    std::string target, body, mentions;
  };
  const std::vector<Case> cases = {
      {"POST", "/v1/events", R"({"user":"u","item":"i","type":"view","value":1e308})",
       "field 'value' is out of range"},
      {"POST", "/v1/events", R"({"user":"u","item":"i","type":"view","value":1e400})",
       "'value'"},
      {"POST", "/v1/events", R"({"user":"u","item":"i","type":"view","value":-3.5e38})",
       "field 'value' is out of range"},
      {"POST", "/v1/events", "{\"user\":\"u\xff\",\"item\":\"i\",\"type\":\"view\"}",
       "UTF-8"},
      {"POST", "/v1/events", R"({"user":"u\udcff","item":"i","type":"view"})", ""},
      {"POST", "/v1/events", R"({"user":"u","item":"i\u0000","type":"view"})", "control character"},
      {"POST", "/v1/events", R"({"event_id":"a\u0000b","user":"u","item":"i","type":"view"})",
       "event 0: event_id contains a control character (U+0000)"},
      {"POST", "/v1/events", "{\"event_id\":\"\xc0\xaf\",\"user\":\"u\",\"item\":\"i\",\"type\":\"view\"}",
       "UTF-8"},
      {"POST", "/v1/events", R"({"user":"u","item":"i","type":"view","user":"v"})",
       "duplicate key 'user'"},
      {"POST", "/v1/events", R"([{"user":"u","item":"i","type":"view","ts":1,"ts":2}])",
       "duplicate key 'ts'"},
      {"PUT", "/v1/items/i1", R"({"hidden":true,"hidden":false})", "duplicate key 'hidden'"},
      {"GET", "/v1/users/%FF/recommendations", "", "id in the path is not valid UTF-8"},
      {"DELETE", "/v1/users/a%00b", "", "control character"},
      {"GET", "/v1/items/%C0%AF/similar", "", "UTF-8"},
      {"GET", "/v1/items/popular?category=%FF", "", "query parameter 'category'"},
  };
  for (const Case& c : cases) {
    const ClientResponse r = Send(c.method, c.target, c.body);
    EXPECT_EQ(r.status, 400u) << c.method << " " << c.target << " " << c.body << " -> " << r.body;
    EXPECT_EQ(ErrorCode(r), "invalid_argument") << r.body;
    EXPECT_NE(ErrorMessage(r).find(c.mentions), std::string::npos)
        << c.target << " " << c.body << ": '" << c.mentions << "' not in " << r.body;
    EXPECT_FALSE(Json(r).is_null()) << "not JSON: " << r.body;
  }
  EXPECT_EQ(store_->status().durable_seq, 0u);
}

TEST_F(ApiTest, ConflictsNameNoSeqAndNdjsonErrorsNameTheLine) {
  Start();
  Ingest(EventJson("u1", "i1", "view", 0, 1'700'000'000'000, "c-1"));
  // Against a stored event: no seq of it.
  ClientResponse r = Post("/v1/events", EventJson("u1", "i2", "view", 0, 1'700'000'000'000, "c-1"));
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(ErrorMessage(r), "event 0: event_id 'c-1' was already stored with a different payload");
  // Within one batch: the other event, never a seq that was not stored.
  r = Post("/v1/events", fmt::format("[{},{},{}]", EventJson("u1", "i3"),
                                     EventJson("u1", "i4", "view", 0, 1'700'000'000'000, "c-2"),
                                     EventJson("u1", "i5", "view", 0, 1'700'000'000'000, "c-2")));
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(ErrorMessage(r),
            "event 2: event_id 'c-2' is also event 1 of this batch, with a different payload");
  // NDJSON: every message names the 1-based line, the store's ones too.
  r = Send("POST", "/v1/events",
           fmt::format("\n{}\n\n{}\n", EventJson("u1", "i3"),
                       EventJson("u1", "i2", "view", 0, 1'700'000'000'000, "c-1")),
           "application/x-ndjson");
  EXPECT_EQ(r.status, 409u);
  EXPECT_EQ(ErrorMessage(r), "line 4: event_id 'c-1' was already stored with a different payload");
  r = Send("POST", "/v1/events", fmt::format("{}\n{}\n", EventJson("u1", "i3"), EventJson("u1", "i3", "clik")),
           "application/x-ndjson");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(ErrorMessage(r).rfind("line 2: unknown type 'clik'", 0), 0u) << r.body;
  EXPECT_EQ(store_->status().durable_seq, 1u);
}

// Item 12: ids a client invents are capped, each cap with its own answer
// and a message naming the [limits] key; nothing of a refused batch is kept.
TEST_F(ApiTest, NewIdsAreCappedWithAnswersThatSayWhatToDo) {
  store_options_.ids = {.max_users = 4, .max_new_ids_per_request = 4, .max_new_ids_per_second = 6};
  api_options_.max_id_length = 8;
  Start();
  Ingest(fmt::format("[{},{}]", EventJson("u1", "i1"), EventJson("u2", "i1")));  // 3 new ids
  // Too many for one request: 400, never worth retrying as it is.
  ClientResponse r = Post("/v1/events", fmt::format("[{},{},{}]", EventJson("u3", "i2"),
                                                    EventJson("u4", "i3"), EventJson("u5", "i1")));
  EXPECT_EQ(r.status, 400u) << r.body;
  EXPECT_NE(ErrorMessage(r).find("max_new_ids_per_request"), std::string::npos) << r.body;
  // The bucket holds 6 a second and 3 are spent: 4 more is a 429 to retry.
  r = Post("/v1/events", fmt::format("[{},{}]", EventJson("u3", "i2"), EventJson("u4", "i3")));
  EXPECT_EQ(r.status, 429u) << r.body;
  EXPECT_EQ(r.headers["retry-after"], "1");
  EXPECT_NE(ErrorMessage(r).find("max_new_ids_per_second"), std::string::npos) << r.body;
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  Ingest(fmt::format("[{},{}]", EventJson("u3", "i2"), EventJson("u4", "i3")));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  // Four users held: a fifth is a 507 until one is forgotten.
  r = Post("/v1/events", EventJson("u5", "i1"));
  EXPECT_EQ(r.status, 507u) << r.body;
  EXPECT_EQ(ErrorCode(r), "capacity_exceeded");
  EXPECT_NE(ErrorMessage(r).find("max_users"), std::string::npos) << r.body;
  Ingest(EventJson("u1", "i3"));  // known ids are always taken
  ASSERT_EQ(Send("DELETE", "/v1/users/u2").status, 200u);
  Ingest(EventJson("u5", "i1"));
  // Ids longer than [limits] max_id_length, in a body or a URL: 400.
  r = Post("/v1/events", EventJson("u123456789", "i1"));
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(ErrorMessage(r).find("max_id_length"), std::string::npos) << r.body;
  EXPECT_EQ(Get("/v1/users/u123456789/recommendations").status, 400u);
  EXPECT_EQ(store_->status().durable_seq, 6u);  // 2 + 2 + 1 + 1 stored, nothing refused
}

}  // namespace
}  // namespace streamrec::http::testing
