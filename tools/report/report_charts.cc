// The SVG charts of HtmlReport: axes with "nice" ticks (1-2-5 steps, or
// decades on log axes), light grid lines, a legend on the right, and text
// escaped throughout. Inline SVG in HTML needs no xmlns, so the output names
// no URL at all.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "tools/report/report.h"

namespace streamrec::tools {
namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
constexpr double kCharWidth = 6.6;  // average width of a 11px sans-serif glyph
constexpr size_t kLegendChars = 22;

const char* Color(size_t i) { return kPalette[i % kPaletteSize]; }

// Legend text, cut to fit the legend column (the full name is the tooltip).
std::string Short(const std::string& s, size_t max_chars) {
  if (s.size() <= max_chars) return s;
  size_t cut = max_chars - 1;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
  return s.substr(0, cut) + "\xE2\x80\xA6";
}

// The step of about `target` ticks over `span`: 1, 2 or 5 times a power of 10.
double NiceStep(double span, int target) {
  const double raw = span / std::max(1, target);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * mag;
}

std::string FormatTick(double v, double step) {
  if (std::abs(v) < step * 1e-9) return "0";
  const double a = std::abs(v);
  if (a >= 1e6 && step >= 1e5) return fmt::format("{:g}M", v / 1e6);
  if (a >= 1e4 && step >= 1e3) return fmt::format("{:g}k", v / 1e3);
  const int dec = step >= 1.0 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9));
  return fmt::format("{:.{}f}", v, std::min(dec, 8));
}

// One axis: data range -> pixel range, with its ticks.
struct Axis {
  bool log = false;
  double lo = 0.0, hi = 1.0;  // in data units
  std::vector<double> ticks;  // labelled
  std::vector<double> minor;  // log axes: 2..9 x 10^k, unlabelled
  double step = 1.0;          // linear tick step (for labels)

  double Frac(double v) const {
    if (log) return (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
    return (v - lo) / (hi - lo);
  }
  std::string Label(double v) const {
    if (!log) return FormatTick(v, step);
    if (v >= 1.0) return FormatTick(v, std::pow(10.0, std::floor(std::log10(v) + 1e-9)));
    return fmt::format("{:g}", v);
  }
};

Axis LinearAxis(double lo, double hi, int target) {
  Axis a;
  if (!(hi > lo)) {
    const double pad = lo == 0.0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  a.step = NiceStep(hi - lo, target);
  a.lo = std::floor(lo / a.step + 1e-9) * a.step;
  a.hi = std::ceil(hi / a.step - 1e-9) * a.step;
  for (double t = a.lo; t <= a.hi + a.step * 1e-6; t += a.step) a.ticks.push_back(t);
  return a;
}

// The axis spans the data (padded by 5% of a decade each way), with labels
// on the decades inside it, or on 1-2-5 steps when it spans few decades.
Axis LogAxis(double lo, double hi) {
  Axis a;
  a.log = true;
  if (!(hi > lo)) hi = lo * 10.0;
  a.lo = lo / std::pow(10.0, 0.05);
  a.hi = hi * std::pow(10.0, 0.05);
  const int d0 = static_cast<int>(std::floor(std::log10(a.lo)));
  const int d1 = static_cast<int>(std::ceil(std::log10(a.hi)));
  const int decades = d1 - d0;
  const int every = (decades + 7) / 8;  // at most ~8 labelled decades
  // Spans of up to ~3 decades also label 2 and 5 times each power of 10,
  // so that no long stretch of the axis goes without a label.
  const bool label_25 = std::log10(a.hi / a.lo) <= 3.2;
  const auto inside = [&](double v) { return v >= a.lo && v <= a.hi; };
  for (int d = d0; d <= d1; ++d) {
    const double p = std::pow(10.0, d);
    if ((d - d0) % every == 0 && inside(p)) a.ticks.push_back(p);
    for (int m = 2; m <= 9; ++m) {
      const double v = m * p;
      if (!inside(v)) continue;
      if (label_25 && (m == 2 || m == 5)) {
        a.ticks.push_back(v);
      } else if (decades <= 6) {
        a.minor.push_back(v);
      }
    }
  }
  std::sort(a.ticks.begin(), a.ticks.end());
  return a;
}

bool Usable(double v, bool log) { return std::isfinite(v) && (!log || v > 0.0); }

// The plot rectangle inside the SVG.
struct Frame {
  double left, top, right, bottom;
  double X(const Axis& a, double v) const { return left + a.Frac(v) * (right - left); }
  double Y(const Axis& a, double v) const { return bottom - a.Frac(v) * (bottom - top); }
};

std::string SvgOpen(int w, int h, const std::string& title) {
  return fmt::format(
      "<svg viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\">\n"
      "<title>{2}</title>\n<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#fff\"/>\n"
      "<text x=\"{3}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" "
      "font-weight=\"bold\">{2}</text>\n",
      w, h, HtmlEscape(title), w / 2);
}

// Y axis: grid lines, tick labels and the rotated axis title.
std::string DrawYAxis(const Frame& f, const Axis& y, const std::string& label) {
  std::string s;
  for (double m : y.minor) {
    s += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
        "stroke=\"#f3f3f3\"/>\n",
        f.left, f.Y(y, m), f.right, f.Y(y, m));
  }
  for (double t : y.ticks) {
    const double py = f.Y(y, t);
    s += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
        "stroke=\"#e0e0e0\"/>\n",
        f.left, py, f.right, py);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", f.left - 6,
                     py + 4, HtmlEscape(y.Label(t)));
  }
  const double cy = (f.top + f.bottom) / 2;
  s += fmt::format(
      "<text x=\"14\" y=\"{:.1f}\" text-anchor=\"middle\" "
      "transform=\"rotate(-90 14 {:.1f})\">{}</text>\n",
      cy, cy, HtmlEscape(label));
  return s;
}

std::string DrawXAxis(const Frame& f, const Axis& x, const std::string& label, int height) {
  std::string s;
  for (double m : x.minor) {
    s += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
        "stroke=\"#f3f3f3\"/>\n",
        f.X(x, m), f.top, f.X(x, m), f.bottom);
  }
  for (double t : x.ticks) {
    const double px = f.X(x, t);
    s += fmt::format(
        "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
        "stroke=\"#e0e0e0\"/>\n",
        px, f.top, px, f.bottom);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", px,
                     f.bottom + 16, HtmlEscape(x.Label(t)));
  }
  s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                   (f.left + f.right) / 2, height - 8, HtmlEscape(label));
  return s;
}

std::string DrawFrame(const Frame& f) {
  return fmt::format(
      "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" "
      "fill=\"none\" stroke=\"#888\"/>\n",
      f.left, f.top, f.right - f.left, f.bottom - f.top);
}

// Legend entries stacked in the right margin; `bar` draws a swatch instead
// of a line sample. Entries that do not fit vertically are dropped.
std::string DrawLegend(const Frame& f, const std::vector<std::string>& names,
                       const std::vector<std::string>& colors, bool bar) {
  std::string s;
  const double x = f.right + 14;
  for (size_t i = 0; i < names.size(); ++i) {
    const double y = f.top + 8 + 18.0 * i;
    if (y > f.bottom) break;
    s += "<g>";
    s += fmt::format("<title>{}</title>", HtmlEscape(names[i]));
    if (bar) {
      s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"14\" height=\"10\" fill=\"{}\"/>",
                       x, y - 5, colors[i]);
    } else {
      s += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" "
          "stroke=\"{}\" stroke-width=\"2.5\"/>",
          x, y, x + 18, y, colors[i]);
    }
    s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text></g>\n", x + 24, y + 4,
                     HtmlEscape(Short(names[i], kLegendChars)));
  }
  return s;
}

std::string NoData(const Frame& f) {
  return fmt::format(
      "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" fill=\"#999\">"
      "no data</text>\n",
      (f.left + f.right) / 2, (f.top + f.bottom) / 2);
}

}  // namespace

std::string RenderLineChartSvg(const LineChart& c) {
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const Series& s : c.series) {
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      if (!Usable(s.x[i], c.log_x) || !Usable(s.y[i], c.log_y)) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]);
      y1 = std::max(y1, s.y[i]);
    }
  }
  const bool empty = !(x1 >= x0);
  if (empty) {
    x0 = c.log_x ? 1.0 : 0.0;
    y0 = c.log_y ? 1.0 : 0.0;
    x1 = y1 = 10.0;
  }
  if (!c.log_y && !c.y_min) y0 = std::min(y0, 0.0);
  if (c.y_min && (!c.log_y || *c.y_min > 0.0)) y0 = *c.y_min;
  if (c.y_max && (!c.log_y || *c.y_max > 0.0)) y1 = *c.y_max;
  const Axis xa = c.log_x ? LogAxis(x0, x1) : LinearAxis(x0, x1, 6);
  const Axis ya = c.log_y ? LogAxis(y0, y1) : LinearAxis(y0, y1, 5);
  std::vector<std::string> names, colors;
  for (size_t si = 0; si < c.series.size(); ++si) {
    names.push_back(c.series[si].name);
    colors.push_back(c.series[si].color.empty() ? Color(si) : c.series[si].color);
  }
  const bool legend = !names.empty() && !(names.size() == 1 && names[0].empty());
  const double top = c.x_markers.empty() ? 36.0 : 46.0;  // room for marker labels
  const Frame f{64.0, top, c.width - (legend ? 180.0 : 20.0), c.height - 48.0};

  std::string svg = SvgOpen(c.width, c.height, c.title);
  svg += DrawYAxis(f, ya, c.y_label);
  svg += DrawXAxis(f, xa, c.x_label, c.height);
  svg += DrawFrame(f);
  if (empty) svg += NoData(f);
  for (size_t si = 0; si < c.series.size(); ++si) {
    const Series& s = c.series[si];
    const std::string& color = colors[si];
    std::string d, dots;
    bool pen_down = false;
    for (size_t i = 0; i < std::min(s.x.size(), s.y.size()); ++i) {
      const bool ok =
          Usable(s.x[i], c.log_x) && Usable(s.y[i], c.log_y) && s.y[i] >= ya.lo && s.y[i] <= ya.hi;
      if (!ok) {
        pen_down = false;
        continue;
      }
      const double px = f.X(xa, s.x[i]), py = f.Y(ya, s.y[i]);
      d += fmt::format("{}{:.1f},{:.1f} ", pen_down ? "L" : "M", px, py);
      pen_down = true;
      if (c.markers) {
        dots += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"{}\"/>", px, py,
                            color);
      }
    }
    if (d.empty()) continue;
    svg += fmt::format(
        "<g><title>{}</title><path d=\"{}\" fill=\"none\" stroke=\"{}\" "
        "stroke-width=\"2\" stroke-linejoin=\"round\"/>{}</g>\n",
        HtmlEscape(s.name), d, color, dots);
  }
  // Marker labels go just above the plot, where no data line can run.
  for (const LineChart::Marker& m : c.x_markers) {
    if (!Usable(m.x, c.log_x) || m.x < xa.lo || m.x > xa.hi) continue;
    const double px = f.X(xa, m.x);
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
        "stroke=\"#555\" stroke-dasharray=\"4 3\"/>"
        "<text x=\"{0:.1f}\" y=\"{3:.1f}\" text-anchor=\"middle\" font-size=\"10\" "
        "fill=\"#555\">{4}</text>\n",
        px, f.top, f.bottom, f.top - 4, HtmlEscape(m.label));
  }
  if (legend) svg += DrawLegend(f, names, colors, false);
  svg += "</svg>\n";
  return svg;
}

std::string RenderBarChartSvg(const BarChart& c) {
  const size_t nc = c.categories.size(), ns = c.series.size();
  double hi = 0.0, lo = 0.0;
  for (const BarSeries& s : c.series) {
    for (double v : s.values) {
      if (std::isfinite(v)) hi = std::max(hi, v), lo = std::min(lo, v);
    }
  }
  if (c.y_max) hi = *c.y_max;
  if (hi == lo) hi = lo + 1.0;
  // Headroom for the value labels above the tallest bar.
  const Axis ya = LinearAxis(lo, hi * (c.value_decimals >= 0 ? 1.08 : 1.0), 5);
  const bool legend = ns > 1;
  size_t longest = 0;
  for (const std::string& cat : c.categories) longest = std::max(longest, cat.size());
  double right = c.width - (legend ? 180.0 : 20.0);
  const double group_w = nc ? (right - 64.0) / nc : 1.0;
  // Long category names are slanted rather than overlapped.
  const bool slant = longest * kCharWidth > group_w * 0.95;
  const double label_h = slant ? std::min(110.0, longest * kCharWidth * 0.7 + 10) : 18.0;
  const Frame f{64.0, 36.0, right, c.height - 30.0 - label_h};

  std::string svg = SvgOpen(c.width, c.height, c.title);
  svg += DrawYAxis(f, ya, c.y_label);
  if (nc == 0 || ns == 0) svg += NoData(f);
  const double bar_w = group_w * 0.8 / std::max<size_t>(ns, 1);
  const double zero_y = f.Y(ya, 0.0);
  for (size_t ci = 0; ci < nc; ++ci) {
    const double gx = f.left + group_w * ci + group_w * 0.1;
    for (size_t si = 0; si < ns; ++si) {
      const double v = ci < c.series[si].values.size() ? c.series[si].values[ci] : NAN;
      if (!std::isfinite(v)) continue;
      const double bx = gx + bar_w * si, vy = f.Y(ya, std::clamp(v, ya.lo, ya.hi));
      svg += fmt::format(
          "<g><title>{}: {}</title><rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" "
          "height=\"{:.1f}\" fill=\"{}\"/>",
          HtmlEscape(c.series[si].name.empty() ? c.categories[ci] : c.series[si].name),
          fmt::format("{:g}", v), bx + 1, std::min(vy, zero_y), std::max(bar_w - 2, 1.0),
          std::abs(zero_y - vy), Color(legend ? si : 0));
      if (c.value_decimals >= 0) {
        const std::string text = fmt::format("{:.{}f}", v, c.value_decimals);
        const double cx = bx + bar_w / 2, ty = std::min(vy, zero_y) - 4;
        if (text.size() * 6.0 <= bar_w + 2) {
          svg += fmt::format(
              "<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" "
              "font-size=\"10\">{}</text>",
              cx, ty, text);
        } else {  // too narrow: vertical text above the bar
          svg += fmt::format(
              "<text x=\"{0:.1f}\" y=\"{1:.1f}\" font-size=\"10\" "
              "transform=\"rotate(-90 {0:.1f} {1:.1f})\">{2}</text>",
              cx + 3, ty, text);
        }
      }
      svg += "</g>\n";
    }
    const double lx = f.left + group_w * (ci + 0.5), ly = f.bottom + 16;
    const std::string name = HtmlEscape(Short(c.categories[ci], 28));
    if (slant) {
      svg += fmt::format(
          "<text x=\"{0:.1f}\" y=\"{1:.1f}\" text-anchor=\"end\" "
          "transform=\"rotate(-35 {0:.1f} {1:.1f})\">{2}</text>\n",
          lx + 4, ly - 4, name);
    } else {
      svg += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>\n", lx,
                         ly, name);
    }
  }
  svg += fmt::format(
      "<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{2:.1f}\" y2=\"{1:.1f}\" "
      "stroke=\"#444\"/>\n",
      f.left, zero_y, f.right);
  svg += DrawFrame(f);
  if (legend) {
    std::vector<std::string> names, colors;
    for (size_t si = 0; si < ns; ++si) {
      names.push_back(c.series[si].name);
      colors.push_back(Color(si));
    }
    svg += DrawLegend(f, names, colors, true);
  }
  svg += "</svg>\n";
  return svg;
}

LineChart RankFrequencyChart(
    std::string title, const std::vector<std::pair<std::string, std::vector<double>>>& counts) {
  LineChart c;
  c.title = std::move(title);
  c.x_label = "item rank (by count)";
  c.y_label = "count";
  c.log_x = c.log_y = true;
  for (const auto& [name, v] : counts) {
    std::vector<double> sorted = v;
    std::sort(sorted.begin(), sorted.end(), std::greater<>());
    Series s;
    s.name = name;
    for (size_t r = 0; r < sorted.size() && sorted[r] > 0; ++r) {
      s.x.push_back(static_cast<double>(r + 1));
      s.y.push_back(sorted[r]);
    }
    c.series.push_back(std::move(s));
  }
  return c;
}

}  // namespace streamrec::tools
