#include "tools/data/importers.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <boost/json/parser.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <istream>
#include <iterator>
#include <limits>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

#include "tools/data/import_fields.h"
#include "tools/text/text_parse.h"

namespace streamrec::tools {
namespace import_fields {

using text::LineError;
using text::Shown;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

void Split(std::string_view line, std::string_view sep, std::vector<std::string_view>* out) {
  out->clear();
  while (true) {
    const size_t at = line.find(sep);
    out->push_back(line.substr(0, at));
    if (at == std::string_view::npos) return;
    line.remove_prefix(at + sep.size());
  }
}

// `count` units of `ms_per_unit` ms as ms; false if that overflows.
bool ScaleToMs(int64_t count, int64_t ms_per_unit, int64_t* ts_ms) {
  const int64_t limit = std::numeric_limits<int64_t>::max() / ms_per_unit;
  if (count > limit || count < -limit) return false;
  *ts_ms = count * ms_per_unit;
  return true;
}

// An integer time since the epoch in seconds (ms_per_unit 1000) or
// milliseconds (1).
Status ParseEpoch(std::string_view s, int64_t ms_per_unit, const std::string& name, size_t lineno,
                  int64_t* ts_ms) {
  int64_t count = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), count);
  if (ec == std::errc() && ptr != s.data() + s.size()) ec = std::errc::invalid_argument;
  if (ec == std::errc::invalid_argument) {
    return LineError(name, lineno, "timestamp '{}' is not an integer number of {}", Shown(s),
                     ms_per_unit == kMsPerSecond ? "seconds" : "milliseconds");
  }
  if (ec != std::errc() || !ScaleToMs(count, ms_per_unit, ts_ms)) {
    return LineError(name, lineno, "timestamp '{}' is out of range", Shown(s));
  }
  return Status::OK();
}

// Same rule as the event file, so every imported id can be written out.
Status CheckIds(std::string_view user, std::string_view item, const std::string& name,
                size_t lineno) {
  std::string p = text::FieldProblem("user id", user, text::kMaxIdBytes);
  if (p.empty()) p = text::FieldProblem("item id", item, text::kMaxIdBytes);
  if (!p.empty()) return LineError(name, lineno, "{}", p);
  return Status::OK();
}

Status ParseRating(std::string_view r, const std::string& name, size_t lineno, float* value) {
  auto [ptr, ec] = std::from_chars(r.data(), r.data() + r.size(), *value);
  if (ec != std::errc() || ptr != r.data() + r.size() || !std::isfinite(*value)) {
    return LineError(name, lineno, "rating '{}' is not a finite number", Shown(r));
  }
  return Status::OK();
}

std::string_view StripLineEnd(const std::string& line, size_t lineno) {
  std::string_view v = text::StripCr(line);
  // Spreadsheet exports often start with a UTF-8 byte order mark.
  if (lineno == 1 && v.substr(0, 3) == "\xEF\xBB\xBF") v.remove_prefix(3);
  return v;
}

}  // namespace import_fields

namespace {
using import_fields::CheckIds;
using import_fields::kMsPerSecond;
using import_fields::ParseEpoch;
using import_fields::ParseRating;
using import_fields::ScaleToMs;
using import_fields::Split;
using import_fields::StripLineEnd;
using import_fields::Trim;

using text::LineError;
using text::Shown;

constexpr size_t kNoColumn = std::numeric_limits<size_t>::max();

// Where each value sits in a line. The two MovieLens formats are fixed; a
// CSV layout comes from its header.
struct Layout {
  std::string_view sep;
  std::string_view sep_name;  // for messages: "tab-separated", ...
  size_t fields = 4;
  size_t user = 0;
  size_t item = 1;
  size_t rating = 2;
  size_t ts = 3;  // kNoColumn: the file has no timestamps (ts 0)
  bool csv = false;
};

constexpr Layout kMovieLens100K{"\t", "tab-separated"};
constexpr Layout kMovieLensDat{"::", "'::'-separated"};

Status ParseTimestamp(std::string_view s, const std::string& name, size_t lineno, int64_t* ts_ms) {
  return ParseEpoch(s, kMsPerSecond, name, lineno, ts_ms);
}

Status ParseLine(const Layout& layout, std::string_view line, const std::string& name,
                 size_t lineno, std::vector<std::string_view>* f, EventRecord* e) {
  // A quoted field may hide a separator; better to refuse than to shift
  // columns silently.
  if (layout.csv && line.find('"') != std::string_view::npos) {
    return LineError(name, lineno, "quoted CSV fields are not supported");
  }
  Split(line, layout.sep, f);
  if (f->size() != layout.fields) {
    return LineError(name, lineno, "expected {} {} fields, got {}", layout.fields, layout.sep_name,
                     f->size());
  }
  if (layout.csv) std::transform(f->begin(), f->end(), f->begin(), Trim);
  STREAMREC_RETURN_IF_ERROR(CheckIds((*f)[layout.user], (*f)[layout.item], name, lineno));
  STREAMREC_RETURN_IF_ERROR(ParseRating((*f)[layout.rating], name, lineno, &e->value));
  e->ts_ms = 0;
  if (layout.ts != kNoColumn) {
    STREAMREC_RETURN_IF_ERROR(ParseTimestamp((*f)[layout.ts], name, lineno, &e->ts_ms));
  }
  e->user.assign((*f)[layout.user]);
  e->item.assign((*f)[layout.item]);
  e->type = "rating";
  return Status::OK();
}

struct Role {
  std::string_view what;
  std::array<std::string_view, 4> aliases;  // lower case; "" pads
  std::string_view hint;                    // the aliases, for messages
  size_t Layout::*column;
};

constexpr std::array<Role, 4> kRoles{{
    {"user", {"user", "userid", "user_id", ""}, "user, userId or user_id", &Layout::user},
    {"item",
     {"item", "movieid", "item_id", "itemid"},
     "item, movieId, item_id or itemId",
     &Layout::item},
    {"rating", {"rating", "value", "", ""}, "rating or value", &Layout::rating},
    {"timestamp", {"timestamp", "ts", "", ""}, "timestamp or ts", &Layout::ts},
}};

bool SameIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == y;
         });
}

// Fills `out` from a CSV header. Columns the header names but no role uses
// are kept in the field count and otherwise ignored.
Status ParseCsvHeader(std::string_view line, const std::string& name, size_t lineno, Layout* out) {
  if (line.find('"') != std::string_view::npos) {
    return LineError(name, lineno, "quoted CSV fields are not supported");
  }
  std::vector<std::string_view> cols;
  Split(line, ",", &cols);
  *out = Layout{",",       "comma-separated", cols.size(), kNoColumn,
                kNoColumn, kNoColumn,         kNoColumn,   /*csv=*/true};
  for (size_t i = 0; i < cols.size(); ++i) {
    const std::string_view col = Trim(cols[i]);
    for (const Role& role : kRoles) {
      if (std::none_of(role.aliases.begin(), role.aliases.end(), [&](std::string_view a) {
            return !a.empty() && SameIgnoringCase(col, a);
          })) {
        continue;
      }
      size_t& slot = out->*role.column;
      if (slot != kNoColumn) {
        return LineError(name, lineno, "CSV header names the {} column twice ('{}' and '{}')",
                         role.what, Shown(Trim(cols[slot])), Shown(col));
      }
      slot = i;
    }
  }
  for (const Role& role : kRoles) {
    if (role.column != &Layout::ts && out->*role.column == kNoColumn) {
      return LineError(name, lineno, "CSV header '{}' has no {} column ({})", Shown(line),
                       role.what, role.hint);
    }
  }
  return Status::OK();
}

// Decides how the rest of the file is read from its first non-blank line.
Status PickLayout(RatingsFormat format, std::string_view first, const std::string& name,
                  size_t lineno, Layout* out) {
  if (format == RatingsFormat::kAuto) {
    if (first.find('\t') != std::string_view::npos) {
      format = RatingsFormat::kMovieLens100K;
    } else if (first.find("::") != std::string_view::npos) {
      format = RatingsFormat::kMovieLensDat;
    } else {
      format = RatingsFormat::kCsv;
    }
  }
  switch (format) {
    case RatingsFormat::kMovieLens100K:
      *out = kMovieLens100K;
      return Status::OK();
    case RatingsFormat::kMovieLensDat:
      *out = kMovieLensDat;
      return Status::OK();
    default:
      return ParseCsvHeader(first, name, lineno, out);
  }
}

}  // namespace

StatusOr<std::vector<EventRecord>> ParseRatings(std::istream& in, const std::string& name,
                                                RatingsFormat format) {
  std::vector<EventRecord> events;
  std::optional<Layout> layout;
  std::vector<std::string_view> fields;
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    const std::string_view v = StripLineEnd(line, ++lineno);
    if (v.empty()) continue;
    if (!layout) {
      STREAMREC_RETURN_IF_ERROR(PickLayout(format, v, name, lineno, &layout.emplace()));
      if (layout->csv) continue;  // the header carries no rating
    }
    EventRecord e;
    STREAMREC_RETURN_IF_ERROR(ParseLine(*layout, v, name, lineno, &fields, &e));
    events.push_back(std::move(e));
  }
  if (in.bad()) return Status::IOError(fmt::format("{}: read error", name));
  if (!layout && format == RatingsFormat::kCsv) {
    return LineError(name, 1, "empty file, expected a CSV header line");
  }
  return events;
}

StatusOr<std::vector<EventRecord>> ReadRatingsFile(const std::string& path, RatingsFormat format) {
  std::ifstream in;
  STREAMREC_RETURN_IF_ERROR(text::OpenInput(path, "a ratings file", &in));
  return ParseRatings(in, path, format);
}

StatusOr<std::string> FindRatingsFile(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::NotFound(fmt::format("'{}' is not a directory", dir));
  }
  // The full-data file of each MovieLens layout, newest-format last; a
  // directory normally holds only one of them.
  for (const char* file : {"u.data", "ratings.dat", "ratings.csv"}) {
    const std::filesystem::path p = std::filesystem::path(dir) / file;
    if (std::filesystem::is_regular_file(p, ec)) return p.string();
  }
  return Status::NotFound(fmt::format("no u.data, ratings.dat or ratings.csv in '{}'", dir));
}

}  // namespace streamrec::tools
