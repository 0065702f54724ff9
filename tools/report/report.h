// HtmlReport: one self-contained HTML evaluation report (what `replay
// --evaluate --report` and `eval --report` write). Everything is inline: a
// small stylesheet and SVG charts generated here; no scripts, fonts, images
// or links to anything outside the file, so it opens offline and can be
// mailed or archived as is.
//
// Building blocks, in the order they are added: headings, paragraphs,
// preformatted text, tables, line charts (several named series, optional log
// axes) and bar charts (labelled bars, optionally grouped). Every piece of
// text is HTML-escaped; callers pass plain text.
//
//   HtmlReport r("Prequential evaluation");
//   r.AddHeading("HR@10 over time");
//   LineChart c;
//   c.title = "HR@10 per window";
//   c.x_label = "events";
//   c.y_label = "HR@10";
//   c.series.push_back({"online", xs, ys});
//   r.AddLineChart(c);
//   Status st = r.Write("out.html");
//
// Thread-safety: not synchronised; one thread builds a report. The free
// rendering functions are pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/status.h"

namespace streamrec::tools {

// One named line: points (x[i], y[i]); x and y have the same size. Points
// with a non-finite coordinate, or a non-positive one on a log axis, are
// skipped (the line breaks there).
struct Series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
  // CSS colour ("#1f77b4"); empty: the palette colour of the series' index.
  // Set it to keep a colour per meaning when some series may be left out.
  std::string color;
};

struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  // Logarithmic axes (base 10, decade ticks). For rank/frequency plots.
  bool log_x = false;
  bool log_y = false;
  // Axis range; unset: from the data (a linear y axis always includes 0
  // unless y_min is set, so small differences are not blown up).
  std::optional<double> y_min;
  std::optional<double> y_max;
  // Draw a dot on every point (useful for short series, e.g. per epoch).
  bool markers = false;
  // Vertical dashed lines at x, labelled above the plot (e.g. "retrain",
  // "reference ends"). Markers outside the x range are not drawn.
  struct Marker {
    double x = 0.0;
    std::string label;
  };
  std::vector<Marker> x_markers;
  // Pixel size of the SVG (it also scales down with the page width).
  int width = 880;
  int height = 360;
};

// Bars grouped by category: categories[c] is one group on the x axis, and
// series[s].values[c] is the height of series s's bar in it. One series
// gives plain labelled bars; several give grouped bars with a legend.
struct BarSeries {
  std::string name;
  std::vector<double> values;  // size categories.size(); NaN = no bar
};

struct BarChart {
  std::string title;
  std::string y_label;
  std::vector<std::string> categories;
  std::vector<BarSeries> series;
  // Print each bar's value above it, with this many decimals (-1: no labels).
  int value_decimals = 3;
  std::optional<double> y_max;  // unset: from the data
  int width = 880;
  int height = 340;
};

// The item popularity long tail: counts (any order) sorted descending and
// plotted as frequency against rank on log-log axes, one series per list.
LineChart RankFrequencyChart(
    std::string title, const std::vector<std::pair<std::string, std::vector<double>>>& counts);

class HtmlReport {
 public:
  explicit HtmlReport(std::string title);
  HtmlReport(const HtmlReport&) = delete;
  HtmlReport& operator=(const HtmlReport&) = delete;
  HtmlReport(HtmlReport&&) = default;
  HtmlReport& operator=(HtmlReport&&) = default;

  // level 2..4 (the title is the page's only <h1>).
  void AddHeading(std::string_view text, int level = 2);
  void AddParagraph(std::string_view text);
  // Monospace block, whitespace kept (a command line, a config excerpt).
  void AddPreformatted(std::string_view text);
  // rows: each the size of header (short rows are padded with empty cells).
  // Cells that parse as numbers are right-aligned.
  void AddTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);
  void AddLineChart(const LineChart& chart);
  void AddBarChart(const BarChart& chart);

  // The whole document.
  std::string Render() const;
  // Render() to `path` (replaced). IOError if it cannot be written.
  [[nodiscard]] Status Write(const std::string& path) const;

  size_t num_charts() const { return num_charts_; }

 private:
  std::string title_;
  std::string body_;  // rendered blocks, in order
  size_t num_charts_ = 0;
};

// Escapes & < > " ' for text and attribute values.
std::string HtmlEscape(std::string_view text);

// The standalone <svg> elements (what AddLineChart/AddBarChart embed).
std::string RenderLineChartSvg(const LineChart& chart);
std::string RenderBarChartSvg(const BarChart& chart);

}  // namespace streamrec::tools
