// The HTTP API serving the implicit objective ([model] objective =
// implicit): recommendations are preferences learned online from every
// event type, the admin retrain installs iALS, and status says which model
// runs.
#include <set>

#include "tests/http/api_fixture.h"

namespace streamrec::http::testing {
namespace {

class ImplicitApiTest : public ApiTest {
 protected:
  ImplicitApiTest() {
    engine_options_.objective = engine::Objective::kImplicit;
    store_options_.training.algorithm = engine::Algorithm::kIals;
    store_options_.training.ials.iterations = 3;
  }

  // Two tastes: "a" users view/click/buy a0..a9, "b" users b0..b9; a
  // planted pattern no popularity list can serve both halves of.
  void SeedTwoTastes() {
    std::string body = "[";
    const char* types[] = {"view", "click", "cart", "purchase"};
    int n = 0;
    for (int u = 0; u < 12; ++u) {
      const char side = u % 2 ? 'b' : 'a';
      for (int i = 0; i < 10; ++i) {
        if ((u + i) % 3 == 0) continue;  // each user misses some of their side
        if (n++ > 0) body += ",";
        body += EventJson(fmt::format("{}{}", side, u), fmt::format("{}{}", side, i),
                          types[(u + i) % 4], 0.0, 1'700'000'000'000 + n);
      }
    }
    body += "]";
    Ingest(body);
  }
};

TEST_F(ImplicitApiTest, RecommendsFromTheUsersTasteAndStatusNamesTheObjective) {
  Start();
  SeedTwoTastes();
  for (const char* user : {"a0", "b1", "a4", "b5"}) {
    const ClientResponse r = Get(fmt::format("/v1/users/{}/recommendations?n=3", user));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(Json(r).at("source"), "model") << r.body;
    for (const std::string& item : Items(r)) EXPECT_EQ(item[0], user[0]) << user << ": " << r.body;
  }
  const ClientResponse s = Get("/v1/admin/status");
  ASSERT_EQ(s.status, 200u);
  EXPECT_EQ(Json(s).at("objective"), "implicit");
}

TEST_F(ImplicitApiTest, ExplainNamesTheHistoryItemsBehindEachScore) {
  Start();
  SeedTwoTastes();
  ASSERT_EQ(Post("/v1/admin/retrain", "").status, 202u);
  json::value status;
  ASSERT_NO_FATAL_FAILURE(WaitForRetrain(&status));
  // Every history item (a user has fewer than 10): the terms and the
  // unexplained rest add up to the score.
  const ClientResponse r = Get("/v1/users/a4/recommendations?n=3&explain=true&explain_n=20");
  ASSERT_EQ(r.status, 200u) << r.body;
  const json::value doc = Json(r);
  const json::object& o = doc.as_object();
  EXPECT_EQ(o.at("explanation"), "exact") << r.body;
  EXPECT_EQ(o.at("source"), "model");
  ASSERT_EQ(o.at("items").as_array().size(), 3u);
  for (const json::value& v : o.at("items").as_array()) {
    const json::object& item = v.as_object();
    double sum = item.at("unexplained").to_number<double>();
    const json::array& because = item.at("because").as_array();
    ASSERT_FALSE(because.empty()) << r.body;
    for (const json::value& b : because) {
      EXPECT_EQ(b.at("item").as_string()[0], 'a') << r.body;  // a4's own history
      sum += b.at("value").to_number<double>();
    }
    const double score = item.at("score").to_number<double>();
    EXPECT_NEAR(sum, score, 1e-4 * std::max(1.0, std::abs(score))) << r.body;
  }
  // The same answer as without explain; explain_n cuts the list.
  const ClientResponse plain = Get("/v1/users/a4/recommendations?n=3");
  EXPECT_EQ(Items(plain), Items(r));
  const ClientResponse one = Get("/v1/users/a4/recommendations?n=3&explain=true&explain_n=1");
  ASSERT_EQ(one.status, 200u) << one.body;
  const json::value one_doc = Json(one);
  for (const json::value& v : one_doc.at("items").as_array()) {
    EXPECT_EQ(v.at("because").as_array().size(), 1u);
  }
  // A cold user: popular items, no history behind them.
  const ClientResponse cold = Get("/v1/users/nobody/recommendations?explain=true");
  ASSERT_EQ(cold.status, 200u);
  EXPECT_EQ(Json(cold).at("explanation"), "popular");
  // Bad values are 400s naming the parameter.
  for (const char* bad : {"explain=maybe", "explain=true&explain_n=0", "explain_n=51"}) {
    const ClientResponse e = Get(fmt::format("/v1/users/a4/recommendations?{}", bad));
    EXPECT_EQ(e.status, 400u) << bad;
    EXPECT_NE(
        ErrorMessage(e).find(std::string(bad).find("explain_n") != std::string::npos ? "explain_n"
                                                                                     : "explain"),
        std::string::npos)
        << e.body;
  }
}

TEST_F(ImplicitApiTest, AnAnonymousSessionIsFoldedInAndStoredNowhere) {
  Start();
  SeedTwoTastes();
  const uint64_t events_before = store_->status().applied_seq;
  const ClientResponse r = Post("/v1/recommendations",
                                R"({"history": [{"item": "b0", "type": "purchase"},
                                                {"item": "b1", "type": "click"},
                                                {"item": "zz-new", "type": "view"},
                                                {"item": "b2", "type": "rating", "value": 5}],
                                    "n": 3})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(Json(r).at("source"), "model") << r.body;
  EXPECT_EQ(Json(r).at("history_used"), 3);
  ASSERT_EQ(Json(r).at("unknown_items").as_array().size(), 1u) << r.body;
  EXPECT_EQ(Json(r).at("unknown_items").as_array()[0], "zz-new");
  const std::vector<std::string> items = Items(r);
  ASSERT_EQ(items.size(), 3u);
  for (const std::string& item : items) {
    EXPECT_EQ(item[0], 'b') << r.body;
    EXPECT_TRUE(item != "b0" && item != "b1" && item != "b2") << r.body;  // not what they have
  }
  // Exclusions and the other side's taste.
  const ClientResponse other =
      Post("/v1/recommendations",
           R"({"history": [{"item": "a1", "type": "cart"}, {"item": "a2", "type": "cart"}], "n": 2,
          "exclude": ["a3"]})");
  ASSERT_EQ(other.status, 200u) << other.body;
  for (const std::string& item : Items(other)) {
    EXPECT_EQ(item[0], 'a') << other.body;
    EXPECT_NE(item, "a3");
  }
  // Nothing known: popular items.
  const ClientResponse none =
      Post("/v1/recommendations", R"({"history": [{"item": "zz", "type": "view"}]})");
  ASSERT_EQ(none.status, 200u) << none.body;
  EXPECT_EQ(Json(none).at("source"), "popular");
  // Stored nowhere: no event, no user.
  EXPECT_EQ(store_->status().applied_seq, events_before);
  EXPECT_EQ(Get("/v1/users/zz-new/recommendations").status, 200u);  // a cold user, as before
  // Bad bodies are 400s naming the problem; a body that is not JSON, 415.
  const std::pair<const char*, const char*> bad[] = {
      {R"({"n": 3})", "'history' is required"},
      {R"({"history": [{"item": "b0", "type": "zap"}]})", "unknown event type 'zap'"},
      {R"({"history": [{"item": "b0"}]})", "history[0] needs 'item' and 'type'"},
      {R"({"history": [], "n": 0})", "'n' must be an integer"},
      {R"({"history": [], "colour": "red"})", "unknown field 'colour'"},
      {R"({"history": [{"item": "b0", "type": "rating", "value": 99}]})", "history[0]"},
      {R"({"history": "b0"})", "'history' must be an array"},
  };
  for (const auto& [body, want] : bad) {
    const ClientResponse e = Post("/v1/recommendations", body);
    EXPECT_EQ(e.status, 400u) << body << " -> " << e.body;
    EXPECT_NE(ErrorMessage(e).find(want), std::string::npos) << body << " -> " << e.body;
  }
  const ClientResponse text = Send("POST", "/v1/recommendations", "history", "text/plain", {});
  EXPECT_EQ(text.status, 415u) << text.body;
}

TEST_F(ImplicitApiTest, CategoryFiltersBoostsCapsAndDiversityPerRequest) {
  Start();
  SeedTwoTastes();
  // a-items are "red", b-items "blue"; a5..a9 also "sale".
  for (int i = 0; i < 10; ++i) {
    for (const char side : {'a', 'b'}) {
      const std::string cats =
          side == 'a' ? (i >= 5 ? R"(["red","sale"])" : R"(["red"])") : R"(["blue"])";
      ASSERT_EQ(Send("PUT", fmt::format("/v1/items/{}{}", side, i),
                     fmt::format(R"({{"categories":{}}})", cats), "application/json", {})
                    .status,
                200u);
    }
  }
  // A filter applies before the cut: a0 (red taste) asking for blue gets n blue items.
  const ClientResponse blue = Get("/v1/users/a0/recommendations?n=4&categories=blue");
  ASSERT_EQ(blue.status, 200u) << blue.body;
  ASSERT_EQ(Items(blue).size(), 4u) << blue.body;
  for (const std::string& item : Items(blue)) EXPECT_EQ(item[0], 'b') << blue.body;
  const ClientResponse no_red = Get("/v1/users/a0/recommendations?n=3&exclude_categories=red");
  for (const std::string& item : Items(no_red)) EXPECT_EQ(item[0], 'b') << no_red.body;
  // A cap of one per category: one red (which is also the only sale one
  // allowed), then blue.
  const ClientResponse capped = Get("/v1/users/a0/recommendations?n=3&max_per_category=1");
  ASSERT_EQ(capped.status, 200u) << capped.body;
  int red = 0;
  for (const std::string& item : Items(capped)) red += item[0] == 'a';
  EXPECT_EQ(red, 1) << capped.body;
  // A big boost of blue puts blue first for a red user; repeated boosts multiply.
  const ClientResponse boosted =
      Get("/v1/users/a0/recommendations?n=2&boost=blue:100&boost=red:0.01");
  ASSERT_EQ(boosted.status, 200u) << boosted.body;
  for (const std::string& item : Items(boosted)) EXPECT_EQ(item[0], 'b') << boosted.body;
  // Diversity: accepted on every list route (similar items, sessions).
  EXPECT_EQ(Get("/v1/users/a0/recommendations?n=3&diversity=0.5").status, 200u);
  const ClientResponse similar = Get("/v1/items/a1/similar?n=3&max_per_category=1&diversity=0.3");
  ASSERT_EQ(similar.status, 200u) << similar.body;
  const ClientResponse session =
      Post("/v1/recommendations", R"({"history": [{"item": "a1", "type": "cart"}], "n": 3,
                                      "categories": ["blue"], "boost": {"blue": 2},
                                      "max_per_category": 3, "diversity": 0.2})");
  ASSERT_EQ(session.status, 200u) << session.body;
  for (const std::string& item : Items(session)) EXPECT_EQ(item[0], 'b') << session.body;
  // Bad values: 400 naming the parameter.
  for (const char* bad : {"diversity=2", "diversity=x", "boost=blue", "boost=blue:0", "boost=:2",
                          "max_per_category=-1"}) {
    const ClientResponse e = Get(fmt::format("/v1/users/a0/recommendations?{}", bad));
    EXPECT_EQ(e.status, 400u) << bad << " -> " << e.body;
    const std::string name = std::string(bad).substr(0, std::string(bad).find('='));
    EXPECT_NE(ErrorMessage(e).find(name), std::string::npos) << bad << " -> " << e.body;
  }
}

TEST_F(ImplicitApiTest, RowsMakeAPageWithNoItemTwice) {
  Start();
  SeedTwoTastes();
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(Send("PUT", fmt::format("/v1/items/b{}", i), R"({"categories":["blue"]})",
                   "application/json", {})
                  .status,
              200u);
  }
  // a0's newest event: the last "Because you watched" source.
  Ingest(fmt::format("[{}]", EventJson("a0", "a3", "purchase", 0.0, 1'700'000'100'000)));
  const ClientResponse r = Get("/v1/users/a0/rows?rows=5&n=2&because=1");
  ASSERT_EQ(r.status, 200u) << r.body;
  const json::value doc = Json(r);
  const json::array& rows = doc.at("rows").as_array();
  ASSERT_GE(rows.size(), 3u) << r.body;
  EXPECT_EQ(rows[0].at("kind"), "top_picks");
  EXPECT_EQ(rows[0].at("title"), "Top picks for you");
  EXPECT_EQ(rows[1].at("kind"), "because");
  EXPECT_EQ(rows[1].at("item"), "a3") << r.body;
  EXPECT_EQ(rows[1].at("title"), "Because you watched a3");
  EXPECT_EQ(rows[2].at("kind"), "trending");
  std::set<std::string> seen;
  bool blue_row = false;
  for (const json::value& row : rows) {
    for (const json::value& item : row.at("items").as_array()) {
      EXPECT_TRUE(seen.insert(std::string(item.at("item").as_string())).second)
          << item << " twice: " << r.body;
    }
    if (row.at("kind") == "category") {
      EXPECT_EQ(row.at("category"), "blue");
      blue_row = true;
      for (const json::value& item : row.at("items").as_array()) {
        EXPECT_EQ(item.at("item").as_string()[0], 'b');
      }
    }
  }
  EXPECT_TRUE(blue_row) << r.body;
  // rows caps the page; bad values are 400s naming the parameter.
  EXPECT_EQ(Json(Get("/v1/users/a0/rows?rows=1")).at("rows").as_array().size(), 1u);
  for (const char* bad : {"rows=0", "rows=21", "because=x", "n=0"}) {
    const ClientResponse e = Get(fmt::format("/v1/users/a0/rows?{}", bad));
    EXPECT_EQ(e.status, 400u) << bad;
    EXPECT_NE(ErrorMessage(e).find(std::string(bad).substr(0, std::string(bad).find('='))),
              std::string::npos)
        << e.body;
  }
}

TEST_F(ImplicitApiTest, AnEventMovesTheUserAtOnce) {
  Start();
  SeedTwoTastes();
  // a new user buys three b items: the very next answer is b items.
  Ingest(fmt::format("[{},{},{}]", EventJson("newbie", "b0", "purchase"),
                     EventJson("newbie", "b1", "purchase"), EventJson("newbie", "b2", "purchase")));
  const ClientResponse r = Get("/v1/users/newbie/recommendations?n=3");
  ASSERT_EQ(r.status, 200u);
  EXPECT_EQ(Json(r).at("source"), "model") << r.body;
  for (const std::string& item : Items(r)) EXPECT_EQ(item[0], 'b') << r.body;
}

TEST_F(ImplicitApiTest, RetrainInstallsIalsAndARestartServesTheSame) {
  Start();
  SeedTwoTastes();
  ASSERT_EQ(Post("/v1/admin/retrain", "").status, 202u);
  json::value status;
  ASSERT_NO_FATAL_FAILURE(WaitForRetrain(&status));
  ASSERT_EQ(status.at("retrain").at("state"), "succeeded") << status.at("retrain").at("error");
  EXPECT_EQ(status.at("retrain").at("algorithm"), "ials");
  const std::string before = Get("/v1/users/a0/recommendations?n=5").body;
  for (const std::string& item : Items(Get("/v1/users/b3/recommendations?n=3"))) {
    EXPECT_EQ(item[0], 'b');
  }
  Stop();
  Start();
  EXPECT_EQ(Get("/v1/users/a0/recommendations?n=5").body, before);
}

// Item freshness over HTTP: a product described with no event yet is
// shown in the exploration place; its created time is stored, answered and
// kept across a restart; bad created times are 400 naming the field.
TEST_F(ImplicitApiTest, ADescribedItemWithoutEventsIsExploredAndItsCreatedTimeKept) {
  engine_options_.exploration.share = 0.1f;  // one place of ten
  Start();
  SeedTwoTastes();
  for (int i = 0; i < 10; ++i) {  // the seeded items are old
    for (const char side : {'a', 'b'}) {
      ASSERT_EQ(Send("PUT", fmt::format("/v1/items/{}{}", side, i),
                     R"({"created":"2020-01-01T00:00:00Z"})", "application/json", {})
                    .status,
                200u);
    }
  }
  const ClientResponse put =
      Send("PUT", "/v1/items/brand-new",
           R"({"categories":["shoes"],"created":"2026-11-30T08:00:00Z"})", "application/json", {});
  ASSERT_EQ(put.status, 200u) << put.body;
  auto item_created = [&] {
    const ClientResponse r = Get("/v1/items/brand-new");
    EXPECT_EQ(r.status, 200u) << r.body;
    return json::parse(r.body).at("created").to_number<int64_t>();
  };
  EXPECT_EQ(item_created(), 1'796'025'600'000);
  for (const char* user : {"a0", "b1", "nobody"}) {
    const std::vector<std::string> items =
        Items(Get(fmt::format("/v1/users/{}/recommendations?n=10", user)));
    ASSERT_FALSE(items.empty()) << user;
    EXPECT_EQ(items.back(), "brand-new") << user;
  }
  // Lists with a filter that leaves it out, or rules, do not show it.
  for (const std::string& item : Items(Get("/v1/users/a0/recommendations?n=10&category=red"))) {
    EXPECT_NE(item, "brand-new");
  }
  for (const char* bad :
       {R"({"created":"yesterday"})", R"({"created":-5})", R"({"created":true})"}) {
    const ClientResponse e = Send("PUT", "/v1/items/x", bad, "application/json", {});
    EXPECT_EQ(e.status, 400u) << bad;
    EXPECT_NE(ErrorMessage(e).find("created"), std::string::npos) << e.body;
  }
  Stop();
  Start();
  EXPECT_EQ(item_created(), 1'796'025'600'000);
  EXPECT_EQ(Items(Get("/v1/users/a0/recommendations?n=10")).back(), "brand-new");
}

// The bpr objective behind the same API: learns the tastes online and
// retrains with bpr.
class BprApiTest : public ImplicitApiTest {
 protected:
  BprApiTest() {
    engine_options_.objective = engine::Objective::kBpr;
    engine_options_.signal = engine::BprTrainOptions{}.signal;
    store_options_.training.algorithm = engine::Algorithm::kBpr;
    store_options_.training.bpr.epochs = 20;
  }
};

TEST_F(BprApiTest, RecommendsFromTheUsersTasteAndRetrainsWithBpr) {
  Start();
  // The two tastes several times over: BPR learns from repeated evidence.
  for (int round = 0; round < 5; ++round) SeedTwoTastes();
  for (const char* user : {"a0", "b1"}) {
    const ClientResponse r = Get(fmt::format("/v1/users/{}/recommendations?n=2", user));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(Json(r).at("source"), "model") << r.body;
    for (const std::string& item : Items(r)) EXPECT_EQ(item[0], user[0]) << user << ": " << r.body;
  }
  EXPECT_EQ(Json(Get("/v1/admin/status")).at("objective"), "bpr");
  ASSERT_EQ(Post("/v1/admin/retrain", "").status, 202u);
  json::value status;
  ASSERT_NO_FATAL_FAILURE(WaitForRetrain(&status));
  ASSERT_EQ(status.at("retrain").at("state"), "succeeded") << status.at("retrain").at("error");
  EXPECT_EQ(status.at("retrain").at("algorithm"), "bpr");
}

}  // namespace
}  // namespace streamrec::http::testing
