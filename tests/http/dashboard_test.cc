// GET /dashboard (http/dashboard.html): a self-contained page, and every
// number on it read from an API answer this test also reads. The page
// reads fields only through pick(SOURCE, obj, "path") and metric names
// only as "streamrec_..." literals, so the test can list what it reads and
// check each against a real server's answers. When Chromium is installed
// (Debian `chromium`), a third test renders the page headless and compares
// what it shows with the same answers.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "tests/http/api_fixture.h"

namespace streamrec::http::testing {
namespace {

// The answers the page reads, by the source names its pick() calls use.
const std::map<std::string, std::string> kSources = {
    {"status", "/v1/admin/status"},
    {"drift", "/v1/admin/drift"},
    {"events", "/v1/users/{}/events?limit=20"},
    {"recs", "/v1/users/{}/recommendations?n=10&explain=true"},
    {"similar", "/v1/items/{}/similar?n=10"},
};

// Every match of `re`'s groups in `text`.
std::vector<std::smatch> All(const std::string& text, const std::regex& re) {
  std::vector<std::smatch> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it) {
    out.push_back(*it);
  }
  return out;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The values at `loc` in `v`: dotted keys, "*" for each value of an object,
// a "[]" suffix for each element of an array. A missing key adds a failure.
void Locate(const json::value& v, const std::string& loc, std::vector<const json::value*>* out) {
  if (loc.empty()) {
    out->push_back(&v);
    return;
  }
  const size_t dot = loc.find('.');
  std::string step = loc.substr(0, dot);
  const std::string rest = dot == std::string::npos ? "" : loc.substr(dot + 1);
  if (step == "*") {
    ASSERT_TRUE(v.is_object()) << loc;
    for (const auto& kv : v.as_object()) Locate(kv.value(), rest, out);
    return;
  }
  const bool each = step.ends_with("[]");
  if (each) step.resize(step.size() - 2);
  ASSERT_TRUE(v.is_object() && v.as_object().contains(step)) << "no '" << step << "' for " << loc;
  const json::value& x = v.at(step);
  if (!each) return Locate(x, rest, out);
  ASSERT_TRUE(x.is_array()) << step;
  for (const json::value& e : x.as_array()) Locate(e, rest, out);
}

class DashboardTest : public ApiTest {
 protected:
  // A server with something in every answer the page reads: events, a
  // retrain (its history, a frozen drift reference), events after it (a
  // drift window and history), a snapshot.
  void StartWithData() {
    UseImplicitWithEveryDriftReport();
    Start();
    std::string events = "[";
    for (int k = 0; k < 80; ++k) {
      events += fmt::format("{}{}", k ? "," : "",
                            EventJson(fmt::format("u{}", k % 7), fmt::format("i{}", (k * 5) % 23),
                                      k % 4 ? "view" : "purchase", 0.0, 1'700'000'000'000 + k,
                                      fmt::format("e{}", k)));
    }
    ASSERT_EQ(Post("/v1/events", events + "]").status, 200u);
    ASSERT_EQ(Post("/v1/admin/retrain", "").status, 202u);
    json::value status;
    ASSERT_NO_FATAL_FAILURE(WaitForRetrain(&status));
    for (int k = 0; k < 3; ++k) {
      ASSERT_EQ(Post("/v1/events", EventJson("u1", fmt::format("i{}", k), "view", 0.0,
                                             1'700'000'001'000 + k, fmt::format("late{}", k)))
                    .status,
                200u);
    }
    ASSERT_EQ(Post("/v1/admin/snapshot", "").status, 200u);
    ASSERT_NO_FATAL_FAILURE(WaitForDriftHistory());
  }

  // The answer of `source` for user u1 and item i1.
  json::value Answer(const std::string& source) {
    std::string target = kSources.at(source);
    if (const size_t id = target.find("{}"); id != std::string::npos) {
      target.replace(id, 2, source == "similar" ? "i1" : "u1");
    }
    const ClientResponse r = Get(target);
    EXPECT_EQ(r.status, 200u) << target << ": " << r.body;
    return json::parse(r.body);
  }

  std::string Page() {
    ClientResponse page = Get("/dashboard");
    EXPECT_EQ(page.status, 200u);
    return page.body;
  }
};

TEST_F(DashboardTest, IsOneSelfContainedPageWithEverySection) {
  Start();
  ClientResponse page = Get("/dashboard");
  ASSERT_EQ(page.status, 200u);
  EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
  // Nothing but this server: no scripts, styles, images or fonts from
  // elsewhere, and the browser is told so.
  EXPECT_EQ(page.headers["content-security-policy"],
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
            "connect-src 'self'");
  for (const char* outside : {"http://", "https://", " src=", "<link", "<img", "@import", "url("}) {
    EXPECT_EQ(page.body.find(outside), std::string::npos) << outside;
  }
  // One fetch, inside api(): every request goes through it.
  EXPECT_EQ(Count(page.body, "fetch("), 1u);
  // The sections the issue asks for, and the elements the script fills.
  for (const char* id : {"overview", "drift", "shares", "explorer", "latency", "traffic",
                         "retrains", "snapshots"}) {
    EXPECT_EQ(Count(page.body, fmt::format("<section class=\"wide\" id=\"{}\"", id)) +
                  Count(page.body, fmt::format("<section id=\"{}\"", id)),
              1u)
        << id;
  }
  for (const char* id : {"cards", "drift-note", "drift-psi", "drift-chart", "drift-shares",
                         "share-dim", "user", "history", "recs", "similar", "routes",
                         "traffic-chart", "retrain-rows", "snapshot-rows", "key"}) {
    EXPECT_EQ(Count(page.body, fmt::format("id=\"{}\"", id)), 1u) << id;
    EXPECT_NE(page.body.find(fmt::format("$(\"{}\")", id)), std::string::npos) << id;
  }
  EXPECT_NE(page.body.find("not enough data"), std::string::npos);
  EXPECT_EQ(Get("/dashboard?x=1").status, 400u);
}

// The page asks for exactly the answers named in kSources (and /metrics),
// and every field it reads is in those answers from a real server; every
// metric it names is one /metrics exports.
TEST_F(DashboardTest, EveryNumberItShowsIsInAnAnswerOfTheApi) {
  ASSERT_NO_FATAL_FAILURE(StartWithData());
  const std::string page = Page();

  // Requests: api("...") or api(`...${x}...`), all of them literals.
  std::set<std::string> requested;
  const auto calls = All(page, std::regex(R"re(api\((["`])([^"`]*)\1\))re"));
  for (const std::smatch& m : calls) {
    requested.insert(std::regex_replace(m[2].str(), std::regex(R"(\$\{[^}]*\})"), "{}"));
  }
  // Only its definition is not a literal call.
  EXPECT_EQ(calls.size() + 1, Count(page, "api("));
  std::set<std::string> want = {"/metrics"};
  for (const auto& [name, target] : kSources) want.insert(target);
  EXPECT_EQ(requested, want);

  // Fields: pick("source[:where]", obj, "path"), all of them literals.
  const auto picks = All(
      page, std::regex(R"re(pick\("([a-z]+)(?::([a-z_.*\[\]]+))?", [^,()]+, "([a-z_.]+)"\))re"));
  // Every call names its source and path literally (the other two are the
  // definition and the comment that documents it).
  EXPECT_EQ(picks.size(), Count(page, "pick(\""));
  EXPECT_EQ(Count(page, "pick(") - Count(page, "pick(\""), 2u);
  EXPECT_GT(picks.size(), 50u);
  std::map<std::string, json::value> answers;
  std::set<std::string> sources_used;
  for (const std::smatch& m : picks) {
    const std::string source = m[1].str(), where = m[2].str(), path = m[3].str();
    SCOPED_TRACE(m[0].str());
    ASSERT_TRUE(kSources.contains(source));
    sources_used.insert(source);
    if (!answers.contains(source)) answers[source] = Answer(source);
    std::vector<const json::value*> objects;
    ASSERT_NO_FATAL_FAILURE(Locate(answers[source], where, &objects));
    // Not vacuous: the test's data puts something in every list read.
    ASSERT_FALSE(objects.empty()) << "nothing at " << where;
    for (const json::value* o : objects) {
      std::vector<const json::value*> got;
      ASSERT_NO_FATAL_FAILURE(Locate(*o, path, &got));
    }
  }
  EXPECT_EQ(sources_used.size(), kSources.size());

  // Metrics: every "streamrec_..." name the page holds is exported.
  const std::string metrics = Get("/metrics").body;
  const auto names = All(page, std::regex(R"re("(streamrec_[a-z_]+)")re"));
  EXPECT_GE(names.size(), 10u);
  for (const std::smatch& m : names) {
    EXPECT_NE(metrics.find("\n" + m[1].str()), std::string::npos) << m[1].str();
  }
}

// Chromium's path: $STREAMREC_CHROMIUM, else Debian's /usr/bin/chromium;
// "" when neither exists.
std::string ChromiumPath() {
  if (const char* env = std::getenv("STREAMREC_CHROMIUM"); env != nullptr && *env != '\0') {
    return env;
  }
  return std::filesystem::exists("/usr/bin/chromium") ? "/usr/bin/chromium" : "";
}

// What `command` printed on stdout.
std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 65536> buf;
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), p)) > 0;) out.append(buf.data(), n);
  pclose(p);
  return out;
}

// The text of `dom` from the element with id `id` to the one with id
// `next` ("": to the end).
std::string Part(const std::string& dom, const std::string& id, const std::string& next) {
  const size_t from = dom.find(fmt::format("id=\"{}\"", id));
  if (from == std::string::npos) return "";
  const size_t to = next.empty() ? dom.size() : dom.find(fmt::format("id=\"{}\"", next), from);
  if (to == std::string::npos) return "";
  return dom.substr(from, to - from);
}

// The page as headless Chromium renders it (its scripts run, its requests
// answered by the test's server) shows the answers' values.
TEST_F(DashboardTest, RenderedInChromiumItShowsTheAnswersValues) {
  const std::string chromium = ChromiumPath();
  if (chromium.empty()) GTEST_SKIP() << "no chromium (Debian package chromium)";
  ASSERT_NO_FATAL_FAILURE(StartWithData());
  const storage::testing::TempDir profile;  // Chromium's own files
  const std::string dom = RunCommand(fmt::format(
      // Its home in the temporary directory too: CI's may be missing or
      // read-only.
      "HOME='{1}' XDG_CONFIG_HOME='{1}' XDG_CACHE_HOME='{1}' timeout 90 '{0}' --headless=new "
      "--no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --user-data-dir='{1}' "
      "--virtual-time-budget=6000 --dump-dom 'http://127.0.0.1:{2}/dashboard#user=u1' "
      "2>/dev/null",
      chromium, profile.path(), server_->port()));
  ASSERT_NE(dom.find("id=\"overview\""), std::string::npos) << dom.substr(0, 2000);
  const json::value status = Answer("status"), drift = Answer("drift");

  // Overview: users and items as the status counts them.
  const std::string cards = Part(dom, "cards", "drift");
  EXPECT_NE(cards.find(fmt::format("<div class=\"v\">{}</div><div class=\"k\">users</div>",
                                   status.at("users").as_int64())),
            std::string::npos)
      << cards;
  EXPECT_NE(cards.find(fmt::format("<div class=\"v\">{}</div><div class=\"k\">items</div>",
                                   status.at("items").as_int64())),
            std::string::npos)
      << cards;

  // Drift: the reference named; per dimension the PSI to 3 decimals, or
  // "not enough data" where the answer says so.
  const std::string psi = Part(dom, "drift-psi", "drift-chart");
  for (const char* dim : {"item", "user", "type"}) {
    const json::value& d = drift.at("dimensions").at(dim);
    const std::string shown =
        d.at("enough_data").as_bool() ? fmt::format("{:.3f}", d.at("psi").to_number<double>())
                                      : "not enough data";
    EXPECT_NE(psi.find(fmt::format("{} PSI <", dim)), std::string::npos) << psi;
    EXPECT_NE(psi.find(shown), std::string::npos) << dim << " " << shown << " in " << psi;
  }
  EXPECT_NE(Part(dom, "drift-note", "drift-psi").find("the last retrain trained on"),
            std::string::npos);
  // The largest buckets, in the answer's order.
  const std::string shares = Part(dom, "drift-shares", "explorer");
  size_t at = 0;
  for (const json::value& s : drift.at("dimensions").at("item").at("shares").as_array()) {
    at = shares.find(fmt::format(">{}</text>", s.at("label").as_string().c_str()), at);
    EXPECT_NE(at, std::string::npos) << s << " in " << shares;
  }

  // Explorer: the user's events and recommendations, in the answers' order.
  const json::value events = Answer("events"), recs = Answer("recs");
  const std::string history = Part(dom, "history", "recs");
  at = 0;
  for (const json::value& e : events.at("events").as_array()) {
    at = history.find(fmt::format("data-item=\"{}\"", e.at("item").as_string().c_str()), at);
    EXPECT_NE(at, std::string::npos) << e << " in " << history;
  }
  const std::string shown_recs = Part(dom, "recs", "similar-title");
  at = 0;
  ASSERT_FALSE(recs.at("items").as_array().empty());
  for (const json::value& r : recs.at("items").as_array()) {
    at = shown_recs.find(
        fmt::format("<tr><td><a class=\"item\" data-item=\"{}\"", r.at("item").as_string().c_str()),
        at);
    EXPECT_NE(at, std::string::npos) << r << " in " << shown_recs;
  }

  // Similar items: those of the user's newest item, until another is clicked.
  const std::string newest(events.at("events").as_array().at(0).at("item").as_string());
  const ClientResponse similar = Get(fmt::format("/v1/items/{}/similar?n=10", newest));
  ASSERT_EQ(similar.status, 200u);
  const std::string shown_similar = Part(dom, "similar-title", "latency");
  EXPECT_NE(shown_similar.find(fmt::format("Similar to {}", newest)), std::string::npos)
      << shown_similar;
  at = 0;
  const json::value similar_items = json::parse(similar.body);
  for (const json::value& x : similar_items.at("items").as_array()) {
    at = shown_similar.find(fmt::format("data-item=\"{}\"", x.at("item").as_string().c_str()), at);
    EXPECT_NE(at, std::string::npos) << x << " in " << shown_similar;
  }

  // Histories: one row per retrain and per snapshot.
  const std::string retrains = Part(dom, "retrain-rows", "");
  EXPECT_EQ(Count(retrains, "<td class=\"l\">ials</td>"),
            status.at("retrain_history").as_array().size())
      << retrains;
  // Each row's examples, then the events it caught up with (small here).
  for (const json::value& t : status.at("retrain_history").as_array()) {
    const std::string cells = fmt::format("<td>{}</td><td>{}</td>", t.at("examples").as_int64(),
                                          t.at("caught_up_events").as_int64());
    EXPECT_NE(retrains.find(cells), std::string::npos) << cells << " in " << retrains;
  }
  const std::string snapshots = Part(dom, "snapshot-rows", "retrains");
  EXPECT_EQ(Count(snapshots, "<tr>"), status.at("snapshot_history").as_array().size())
      << snapshots;
  // Latency: a row per route that answered, with its histogram.
  const std::string routes = Part(dom, "routes", "traffic");
  EXPECT_NE(routes.find("<td>/v1/admin/drift</td>"), std::string::npos) << routes;
  EXPECT_NE(routes.find("<rect"), std::string::npos);
}

}  // namespace
}  // namespace streamrec::http::testing
