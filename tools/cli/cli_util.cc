#include "tools/cli/cli_util.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace streamrec::tools {

bool StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), enabled_(StderrIsTerminal()) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(size_t done, size_t total) {
  if (!enabled_ || total == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  drawn_ = true;
  constexpr int kWidth = 30;
  const double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
  const int fill = static_cast<int>(frac * kWidth);
  fmt::print(stderr, "\r{} [{}{}] {:3.0f}% ({}/{})", label_, std::string(fill, '#'),
             std::string(kWidth - fill, ' '), frac * 100.0, done, total);
  std::fflush(stderr);
}

void ProgressBar::Finish() {
  if (!enabled_ || !drawn_) return;
  // Erase the bar so the results that follow start on a clean line.
  fmt::print(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

StatusOr<std::vector<std::string>> ParseFolds(std::string_view spec) {
  std::vector<std::string> out;
  const auto range = spec.find("..");
  if (range != std::string_view::npos) {
    const std::string_view a = spec.substr(0, range), b = spec.substr(range + 2);
    // Both ends: a common alphabetic prefix and a number.
    auto split = [](std::string_view s, std::string_view* prefix, int* n) {
      size_t d = s.size();
      while (d > 0 && s[d - 1] >= '0' && s[d - 1] <= '9') --d;
      *prefix = s.substr(0, d);
      const auto r = std::from_chars(s.data() + d, s.data() + s.size(), *n);
      return d < s.size() && r.ec == std::errc() && r.ptr == s.data() + s.size();
    };
    std::string_view pa, pb;
    int na = 0, nb = 0;
    if (!split(a, &pa, &na) || !split(b, &pb, &nb) || pa != pb || na > nb || nb - na > 100) {
      return Status::InvalidArgument(
          fmt::format("bad fold range '{}' (expected e.g. u1..u5)", spec));
    }
    for (int n = na; n <= nb; ++n) out.push_back(fmt::format("{}{}", pa, n));
    return out;
  }
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    if (comma == std::string_view::npos) comma = spec.size();
    const std::string_view f = spec.substr(start, comma - start);
    if (f.empty()) return Status::InvalidArgument(fmt::format("empty fold name in '{}'", spec));
    out.emplace_back(f);
    start = comma + 1;
  }
  return out;
}

StatusOr<double> ParseSplit(std::string_view spec) {
  const auto slash = spec.find('/');
  int a = 0, b = 0;
  bool ok = slash != std::string_view::npos;
  if (ok) {
    const auto ra = std::from_chars(spec.data(), spec.data() + slash, a);
    const auto rb = std::from_chars(spec.data() + slash + 1, spec.data() + spec.size(), b);
    ok = ra.ec == std::errc() && ra.ptr == spec.data() + slash && rb.ec == std::errc() &&
         rb.ptr == spec.data() + spec.size() && a > 0 && b > 0 && a + b == 100;
  }
  if (!ok) {
    return Status::InvalidArgument(
        fmt::format("bad split '{}' (expected TRAIN/TEST percentages summing to 100, e.g. "
                    "75/25)",
                    spec));
  }
  return a / 100.0;
}

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  auto widen = [&](const std::vector<std::string>& r) {
    for (size_t c = 0; c < r.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], r[c].size());
    }
  };
  widen(header);
  for (const auto& r : rows) widen(r);
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (size_t c = 0; c < r.size() && c < width.size(); ++c) {
      if (c > 0) s += "  ";
      s += c == 0 ? fmt::format("{:<{}}", r[c], width[c]) : fmt::format("{:>{}}", r[c], width[c]);
    }
    return s + "\n";
  };
  std::string out = line(header);
  size_t total = 0;
  for (size_t w : width) total += w;
  out += std::string(total + 2 * (width.size() - 1), '-') + "\n";
  for (const auto& r : rows) out += line(r);
  return out;
}

}  // namespace streamrec::tools
