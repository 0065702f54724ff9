#include "tools/report/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace streamrec::tools {
namespace {

// Every start tag has its end tag, properly nested (void elements and
// self-closing SVG elements aside), and no raw '<' or '>' is left in text.
// Returns "" when well formed, else what is wrong.
std::string CheckWellFormed(const std::string& html) {
  static const std::regex kTag(R"(<(/?)([A-Za-z][A-Za-z0-9]*)([^<>]*)>)");
  static const char* kVoid[] = {"meta", "br", "hr", "img", "input", "link"};
  std::vector<std::string> stack;
  std::string text;  // everything outside tags
  const std::string doctype = "<!DOCTYPE html>";
  if (html.rfind(doctype, 0) != 0) return "no doctype";
  size_t pos = doctype.size();
  const size_t start = pos;
  for (auto it = std::sregex_iterator(html.begin() + start, html.end(), kTag);
       it != std::sregex_iterator(); ++it) {
    const std::smatch& m = *it;
    const size_t at = start + m.position(0);
    text += html.substr(pos, at - pos);
    pos = at + m.length(0);
    const std::string name = m[2].str(), attrs = m[3].str();
    if (m[1] == "/") {
      if (stack.empty() || stack.back() != name) {
        return "unexpected </" + name + "> (open: " + (stack.empty() ? "none" : stack.back()) + ")";
      }
      stack.pop_back();
      continue;
    }
    bool is_void = !attrs.empty() && attrs.back() == '/';
    for (const char* v : kVoid) is_void = is_void || name == v;
    // Attribute values must not hold raw quotes or angle brackets: every
    // quote opens and closes.
    if (std::count(attrs.begin(), attrs.end(), '"') % 2 != 0) return "odd quotes in <" + name;
    if (!is_void) stack.push_back(name);
  }
  text += html.substr(pos);
  if (!stack.empty()) return "unclosed <" + stack.back() + ">";
  if (text.find('<') != std::string::npos || text.find('>') != std::string::npos) {
    return "raw angle bracket in text";
  }
  return "";
}

size_t Count(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

HtmlReport MakeReport() {
  HtmlReport r("Report <script>alert(1)</script> & co");
  r.AddHeading("Methods");
  r.AddParagraph("A paragraph with <b>markup</b> & \"quotes\" and 'apostrophes'.");
  r.AddPreformatted("streamrec replay --events x.events --evaluate");
  r.AddTable({"method", "HR@10"},
             {{"online", "0.0559"}, {"<script>x</script>", "0.07"}, {"short"}});
  LineChart line;
  line.title = "HR@10 over time";
  line.x_label = "events";
  line.y_label = "HR@10";
  line.series.push_back({"online", {5000, 10000, 15000}, {0.03, 0.05, 0.06}, ""});
  line.series.push_back({"<script>alert(2)</script>", {5000, 10000, 15000}, {0.08, NAN, 0.07}, ""});
  line.x_markers.push_back({10000, "retrain <1>"});
  r.AddLineChart(line);
  BarChart bars;
  bars.title = "per method";
  bars.categories = {"online", "popularity", "a very long category name <tag> indeed"};
  bars.series = {{"HR@10", {0.05, 0.08, 0.01}}, {"NDCG@10", {0.02, 0.04, NAN}}};
  r.AddBarChart(bars);
  r.AddLineChart(RankFrequencyChart("long tail", {{"all", {500, 3, 40, 1, 0, 120}}}));
  return r;
}

TEST(HtmlReportTest, IsWellFormedAndHoldsOneSvgPerChart) {
  const HtmlReport r = MakeReport();
  const std::string html = r.Render();
  EXPECT_EQ(CheckWellFormed(html), "");
  EXPECT_EQ(r.num_charts(), 3u);
  EXPECT_EQ(Count(html, "<svg"), 3u);
  EXPECT_EQ(Count(html, "</svg>"), 3u);
  EXPECT_EQ(Count(html, "<table>"), 1u);
  EXPECT_EQ(Count(html, "<path d=\"M"), 3u);  // two lines + the long tail
}

TEST(HtmlReportTest, EscapesEveryText) {
  const std::string html = MakeReport().Render();
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(2)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("retrain &lt;1&gt;"), std::string::npos);
  EXPECT_NE(html.find("&quot;quotes&quot; and &#39;apostrophes&#39;"), std::string::npos);
  EXPECT_EQ(HtmlEscape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
}

TEST(HtmlReportTest, ReferencesNothingOutsideTheFile) {
  const std::string html = MakeReport().Render();
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
}

TEST(HtmlReportTest, NumericCellsAlignRightAndShortRowsArePadded) {
  HtmlReport r("t");
  r.AddTable({"a", "b", "c"}, {{"x", "0.5", "12.5%"}, {"y"}});
  const std::string html = r.Render();
  EXPECT_EQ(Count(html, "<td class=\"num\">"), 2u);
  EXPECT_EQ(Count(html, "<td>"), 4u);  // "x", "y" and the two padded cells
  EXPECT_EQ(CheckWellFormed(html), "");
}

TEST(ChartTest, EmptyAndDegenerateChartsStillRender) {
  LineChart empty;
  empty.title = "nothing";
  empty.log_y = true;
  const std::string a = RenderLineChartSvg(empty);
  EXPECT_NE(a.find("no data"), std::string::npos);
  LineChart flat;
  flat.series.push_back({"", {1, 2, 3}, {0.5, 0.5, 0.5}, ""});
  const std::string b = RenderLineChartSvg(flat);
  EXPECT_EQ(b.find("nan"), std::string::npos);
  EXPECT_EQ(b.find("inf"), std::string::npos);
  BarChart none;
  EXPECT_NE(RenderBarChartSvg(none).find("no data"), std::string::npos);
}

TEST(ChartTest, LogAxesSkipNonPositivePointsAndLabelDecades) {
  LineChart c;
  c.log_x = c.log_y = true;
  c.series.push_back({"s", {0, 1, 10, 100, 1000}, {-1, 1000, 100, 10, 1}, ""});
  const std::string svg = RenderLineChartSvg(c);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
  for (const char* label : {">1<", ">10<", ">100<", ">1000<"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
  // Four usable points: one move and three line segments.
  const size_t d = svg.find("<path d=\"");
  ASSERT_NE(d, std::string::npos);
  const std::string path = svg.substr(d, svg.find('"', d + 9) - d);
  EXPECT_EQ(Count(path, "M"), 1u);
  EXPECT_EQ(Count(path, "L"), 3u);
}

TEST(ChartTest, RankFrequencySortsDescendingAndDropsZeros) {
  const LineChart c = RankFrequencyChart("t", {{"a", {1, 5, 0, 3}}});
  ASSERT_EQ(c.series.size(), 1u);
  EXPECT_EQ(c.series[0].x, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(c.series[0].y, (std::vector<double>{5, 3, 1}));
  EXPECT_TRUE(c.log_x && c.log_y);
}

TEST(HtmlReportTest, WritesTheFileAndReportsFailure) {
  const std::filesystem::path p =
      std::filesystem::temp_directory_path() / ("streamrec_report_" + std::to_string(getpid()));
  HtmlReport r("t");
  r.AddParagraph("hello");
  ASSERT_TRUE(r.Write(p.string()).ok());
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_EQ(s.str(), r.Render());
  std::filesystem::remove(p);
  const Status bad = r.Write("/nonexistent-dir/x.html");
  EXPECT_EQ(bad.code(), StatusCode::kIOError);
}

}  // namespace
}  // namespace streamrec::tools
