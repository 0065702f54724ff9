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

#include "tools/text/text_parse.h"

namespace streamrec::tools {
namespace {

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

constexpr int64_t kMsPerSecond = 1000;

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

Status ParseTimestamp(std::string_view s, const std::string& name, size_t lineno, int64_t* ts_ms) {
  return ParseEpoch(s, kMsPerSecond, name, lineno, ts_ms);
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

std::string_view StripLineEnd(const std::string& line, size_t lineno) {
  std::string_view v = text::StripCr(line);
  // Spreadsheet exports often start with a UTF-8 byte order mark.
  if (lineno == 1 && v.substr(0, 3) == "\xEF\xBB\xBF") v.remove_prefix(3);
  return v;
}

// The event-log parsers.

// Calls parse(line, lineno) -> Status for each non-empty line of `in`,
// stopping at the first error.
template <class ParseLine>
Status ForEachLine(std::istream& in, const std::string& name, ParseLine&& parse) {
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    const std::string_view v = StripLineEnd(line, ++lineno);
    if (v.empty()) continue;
    STREAMREC_RETURN_IF_ERROR(parse(v, lineno));
  }
  if (in.bad()) return Status::IOError(fmt::format("{}: read error", name));
  return Status::OK();
}

// Splits a CSV line of `want` fields into *f. No format these parsers read
// quotes its fields, so a quote is refused rather than split through.
Status SplitCsv(std::string_view line, size_t want, const std::string& name, size_t lineno,
                std::vector<std::string_view>* f) {
  if (line.find('"') != std::string_view::npos) {
    return LineError(name, lineno, "quoted CSV fields are not supported");
  }
  Split(line, ",", f);
  if (f->size() != want) {
    return LineError(name, lineno, "expected {} comma-separated fields, got {}", want, f->size());
  }
  return Status::OK();
}

void Append(std::vector<EventRecord>* events, int64_t ts_ms, std::string_view user,
            std::string_view item, std::string_view type, float value) {
  EventRecord& e = events->emplace_back();
  e.ts_ms = ts_ms;
  e.user.assign(user);
  e.item.assign(item);
  e.type.assign(type);
  e.value = value;
}

// The digits s[at, at + n) as a number, or -1.
int Digits(std::string_view s, size_t at, size_t n) {
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (i >= s.size() || s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// "YYYY-MM-DD" (date_only: its midnight) or "YYYY-MM-DDTHH:MM:SS[.f...]Z"
// as ms since the epoch, UTC; nullopt for anything else or a date that
// does not exist. Fraction digits past the millisecond are dropped.
std::optional<int64_t> IsoTimeMs(std::string_view s, bool date_only) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  const int y = Digits(s, 0, 4), mo = Digits(s, 5, 2), d = Digits(s, 8, 2);
  if (y < 0 || mo < 0 || d < 0) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year(y),
                                         std::chrono::month(static_cast<unsigned>(mo)),
                                         std::chrono::day(static_cast<unsigned>(d))};
  if (!date.ok()) return std::nullopt;
  int64_t ms = int64_t{std::chrono::sys_days(date).time_since_epoch().count()} * 86'400'000;
  if (date_only) return s.size() == 10 ? std::optional(ms) : std::nullopt;
  if (s.size() < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s.back() != 'Z') {
    return std::nullopt;
  }
  const int h = Digits(s, 11, 2), mi = Digits(s, 14, 2), sec = Digits(s, 17, 2);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return std::nullopt;
  ms += int64_t{(h * 60 + mi) * 60 + sec} * 1000;
  const std::string_view frac = s.substr(19, s.size() - 20);
  if (frac.empty()) return ms;
  if (frac.size() < 2 || frac[0] != '.') return std::nullopt;
  int scale = 100;
  for (char c : frac.substr(1)) {
    if (c < '0' || c > '9') return std::nullopt;
    ms += (c - '0') * scale;
    scale /= 10;
  }
  return ms;
}

Status ParseIsoTime(std::string_view s, const std::string& name, size_t lineno, int64_t* ts_ms) {
  const std::optional<int64_t> ms = IsoTimeMs(s, /*date_only=*/false);
  if (!ms) {
    return LineError(name, lineno, "time '{}' is not ISO 8601 UTC (YYYY-MM-DDTHH:MM:SS[.sss]Z)",
                     Shown(s));
  }
  *ts_ms = *ms;
  return Status::OK();
}

// The first line of a 2023 pure-ID ratings CSV (timestamps in ms).
constexpr std::string_view kAmazon2023Header = "user_id,parent_asin,rating,timestamp";

Status ParseAmazonRatings(std::istream& in, const std::string& name, bool user_first,
                          std::vector<EventRecord>* events) {
  size_t user = user_first ? 0 : 1;
  int64_t ms_per_unit = kMsPerSecond;
  bool first = true;
  std::vector<std::string_view> f;
  return ForEachLine(in, name, [&](std::string_view line, size_t lineno) -> Status {
    if (std::exchange(first, false) && line == kAmazon2023Header) {
      user = 0;
      ms_per_unit = 1;
      return Status::OK();
    }
    STREAMREC_RETURN_IF_ERROR(SplitCsv(line, 4, name, lineno, &f));
    const std::string_view u = f[user], i = f[1 - user];
    STREAMREC_RETURN_IF_ERROR(CheckIds(u, i, name, lineno));
    float value = 0;
    int64_t ts_ms = 0;
    STREAMREC_RETURN_IF_ERROR(ParseRating(f[2], name, lineno, &value));
    STREAMREC_RETURN_IF_ERROR(ParseEpoch(f[3], ms_per_unit, name, lineno, &ts_ms));
    Append(events, ts_ms, u, i, "rating", value);
    return Status::OK();
  });
}

// Where a review generation keeps what an event needs.
struct ReviewKeys {
  std::string_view user;
  std::string_view item;
  std::string_view other_item;  // used when `item` is absent; "" for none
  std::string_view rating;
  std::string_view time;
  int64_t ms_per_unit;
};
constexpr ReviewKeys kReviews2018{.user = "reviewerID",
                                  .item = "asin",
                                  .other_item = "",
                                  .rating = "overall",
                                  .time = "unixReviewTime",
                                  .ms_per_unit = kMsPerSecond};
constexpr ReviewKeys kReviews2023{.user = "user_id",
                                  .item = "parent_asin",
                                  .other_item = "asin",
                                  .rating = "rating",
                                  .time = "timestamp",
                                  .ms_per_unit = 1};

// The string member `key` of `o`, or "" when absent or not a string.
std::string_view StringMember(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  const boost::json::string* s = v ? v->if_string() : nullptr;
  return s ? std::string_view(s->data(), s->size()) : std::string_view();
}

Status ParseReview(const boost::json::object& o, const std::string& name, size_t lineno,
                   std::vector<EventRecord>* events) {
  const ReviewKeys* k = o.contains("reviewerID") ? &kReviews2018
                        : o.contains("user_id")  ? &kReviews2023
                                                 : nullptr;
  if (!k) return LineError(name, lineno, "no 'reviewerID' (2014/2018) or 'user_id' (2023)");
  const std::string_view user = StringMember(o, k->user);
  std::string_view item = StringMember(o, k->item);
  if (item.empty() && !k->other_item.empty()) item = StringMember(o, k->other_item);
  STREAMREC_RETURN_IF_ERROR(CheckIds(user, item, name, lineno));
  const boost::json::value* rating = o.if_contains(k->rating);
  boost::system::error_code ec;
  const float value = rating ? static_cast<float>(rating->to_number<double>(ec)) : 0.0f;
  if (!rating || ec || !std::isfinite(value)) {
    return LineError(name, lineno, "'{}' is missing or not a finite number", k->rating);
  }
  const boost::json::value* time = o.if_contains(k->time);
  int64_t ts_ms = 0;
  if (!time || !time->is_int64() || !ScaleToMs(time->get_int64(), k->ms_per_unit, &ts_ms)) {
    return LineError(name, lineno, "'{}' is missing, not an integer or out of range", k->time);
  }
  Append(events, ts_ms, user, item, "rating", value);
  return Status::OK();
}

Status ParseAmazonReviews(std::istream& in, const std::string& name,
                          std::vector<EventRecord>* events) {
  boost::json::parser parser;  // reused: it keeps its buffers between lines
  return ForEachLine(in, name, [&](std::string_view line, size_t lineno) -> Status {
    boost::system::error_code ec;
    parser.reset();
    parser.write(line.data(), line.size(), ec);
    if (ec) return LineError(name, lineno, "not JSON: {}", ec.message());
    const boost::json::value review = parser.release();
    if (!review.is_object()) return LineError(name, lineno, "expected a JSON object (a review)");
    return ParseReview(review.get_object(), name, lineno, events);
  });
}

constexpr std::string_view kRetailRocketHeader = "timestamp,visitorid,event,itemid,transactionid";
// RetailRocket's event names and the default types they become.
constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kRetailRocketTypes{{
    {"view", "view"},
    {"addtocart", "cart"},
    {"transaction", "purchase"},
}};

Status ParseRetailRocket(std::istream& in, const std::string& name,
                         std::vector<EventRecord>* events) {
  bool header = false;
  std::vector<std::string_view> f;
  STREAMREC_RETURN_IF_ERROR(
      ForEachLine(in, name, [&](std::string_view line, size_t lineno) -> Status {
        if (!header) {
          if (line != kRetailRocketHeader) {
            return LineError(name, lineno, "expected the header '{}', got '{}'",
                             kRetailRocketHeader, Shown(line));
          }
          header = true;
          return Status::OK();
        }
        STREAMREC_RETURN_IF_ERROR(SplitCsv(line, 5, name, lineno, &f));
        int64_t ts_ms = 0;
        STREAMREC_RETURN_IF_ERROR(ParseEpoch(f[0], 1, name, lineno, &ts_ms));
        STREAMREC_RETURN_IF_ERROR(CheckIds(f[1], f[3], name, lineno));
        const auto type = std::find_if(kRetailRocketTypes.begin(), kRetailRocketTypes.end(),
                                       [&](const auto& t) { return t.first == f[2]; });
        if (type == kRetailRocketTypes.end()) {
          return LineError(name, lineno, "event '{}' is not view, addtocart or transaction",
                           Shown(f[2]));
        }
        Append(events, ts_ms, f[1], f[3], type->second, 0.0f);
        return Status::OK();
      }));
  if (!header) {
    return LineError(name, 1, "empty file, expected the header '{}'", kRetailRocketHeader);
  }
  return Status::OK();
}

Status ParseNetflix(std::istream& in, const std::string& name, std::vector<EventRecord>* events) {
  std::string movie;  // of the current "MovieID:" block
  std::vector<std::string_view> f;
  return ForEachLine(in, name, [&](std::string_view line, size_t lineno) -> Status {
    if (line.back() == ':') {
      const std::string_view id = line.substr(0, line.size() - 1);
      const std::string p = text::FieldProblem("movie id", id, text::kMaxIdBytes);
      if (!p.empty()) return LineError(name, lineno, "{}", p);
      movie.assign(id);
      return Status::OK();
    }
    if (movie.empty()) return LineError(name, lineno, "a rating before the first 'MovieID:' line");
    STREAMREC_RETURN_IF_ERROR(SplitCsv(line, 3, name, lineno, &f));
    STREAMREC_RETURN_IF_ERROR(CheckIds(f[0], movie, name, lineno));
    float value = 0;
    STREAMREC_RETURN_IF_ERROR(ParseRating(f[1], name, lineno, &value));
    const std::optional<int64_t> ts_ms = IsoTimeMs(f[2], /*date_only=*/true);
    if (!ts_ms) return LineError(name, lineno, "date '{}' is not YYYY-MM-DD", Shown(f[2]));
    Append(events, *ts_ms, f[0], movie, "rating", value);
    return Status::OK();
  });
}

Status ParseYoochoose(std::istream& in, const std::string& name, std::vector<EventRecord>* events) {
  constexpr size_t kClicks = 4, kBuys = 5;  // fields a line
  size_t fields = 0;                        // the first line's count
  std::vector<std::string_view> f;
  return ForEachLine(in, name, [&](std::string_view line, size_t lineno) -> Status {
    if (fields == 0) {
      Split(line, ",", &f);
      if (f.size() != kClicks && f.size() != kBuys) {
        return LineError(name, lineno,
                         "expected 4 (clicks) or 5 (buys) comma-separated fields, got {}",
                         f.size());
      }
      fields = f.size();
    }
    STREAMREC_RETURN_IF_ERROR(SplitCsv(line, fields, name, lineno, &f));
    STREAMREC_RETURN_IF_ERROR(CheckIds(f[0], f[2], name, lineno));
    int64_t ts_ms = 0;
    STREAMREC_RETURN_IF_ERROR(ParseIsoTime(f[1], name, lineno, &ts_ms));
    Append(events, ts_ms, f[0], f[2], fields == kClicks ? "click" : "purchase", 0.0f);
    return Status::OK();
  });
}

Status ParseLastFm1K(std::istream& in, const std::string& name, std::vector<EventRecord>* events) {
  std::vector<std::string_view> f;
  std::string named;  // "artist - track", for plays without a track mbid
  return ForEachLine(in, name, [&](std::string_view line, size_t lineno) -> Status {
    Split(line, "\t", &f);
    if (f.size() != 6) {
      return LineError(name, lineno, "expected 6 tab-separated fields, got {}", f.size());
    }
    int64_t ts_ms = 0;
    STREAMREC_RETURN_IF_ERROR(ParseIsoTime(f[1], name, lineno, &ts_ms));
    std::string_view item = f[4];
    if (item.empty()) {
      if (f[3].empty() && f[5].empty()) {
        return LineError(name, lineno, "no track mbid, artist name or track name");
      }
      named.clear();
      fmt::format_to(std::back_inserter(named), "{} - {}", f[3], f[5]);
      item = named;
    }
    STREAMREC_RETURN_IF_ERROR(CheckIds(f[0], item, name, lineno));
    Append(events, ts_ms, f[0], item, "view", 0.0f);
    return Status::OK();
  });
}

// How `streamrec import` reads one format.
struct ImportSpec {
  std::string_view name;
  std::variant<RatingsFormat, LogFormat> parser;
  std::string_view kind;  // what a file is, for "'p' is a directory, not <kind>"
  // In a directory, the files to read; '*' matches any run of characters
  // (those files in name order); "" pads. Empty: a directory is refused.
  std::array<std::string_view, 3> files;
  bool all_files;  // read every one present; else only the first found
};

constexpr std::string_view kRatingsKind = "a ratings file";
constexpr std::array<std::string_view, 3> kAnyRatings{"u.data", "ratings.dat", "ratings.csv"};
constexpr std::array<std::string_view, 3> kRatingsDat{"ratings.dat", "", ""};
constexpr std::array<std::string_view, 3> kRatingsCsv{"ratings.csv", "", ""};
constexpr std::array<std::string_view, 3> kNoFiles{"", "", ""};
constexpr std::array<std::string_view, 3> kEventsCsv{"events.csv", "", ""};
constexpr std::array<std::string_view, 3> kNetflixFiles{"combined_data_*.txt", "mv_*.txt", ""};
constexpr std::array<std::string_view, 3> kYoochooseFiles{"yoochoose-clicks.dat",
                                                          "yoochoose-buys.dat", ""};
constexpr std::array<std::string_view, 3> kLastFmFiles{
    "userid-timestamp-artid-artname-traid-traname.tsv", "", ""};

constexpr std::array<ImportSpec, 17> kImportSpecs{{
    {"movielens", RatingsFormat::kAuto, kRatingsKind, kAnyRatings, false},
    {"csv", RatingsFormat::kCsv, kRatingsKind, kAnyRatings, false},
    {"movielens-100k", RatingsFormat::kMovieLens100K, kRatingsKind, {"u.data", "", ""}, false},
    {"movielens-1m", RatingsFormat::kMovieLensDat, kRatingsKind, kRatingsDat, false},
    {"movielens-10m", RatingsFormat::kMovieLensDat, kRatingsKind, kRatingsDat, false},
    {"movielens-20m", RatingsFormat::kCsv, kRatingsKind, kRatingsCsv, false},
    {"movielens-25m", RatingsFormat::kCsv, kRatingsKind, kRatingsCsv, false},
    {"movielens-32m", RatingsFormat::kCsv, kRatingsKind, kRatingsCsv, false},
    {"movielens-latest-small", RatingsFormat::kCsv, kRatingsKind, kRatingsCsv, false},
    {"movielens-latest", RatingsFormat::kCsv, kRatingsKind, kRatingsCsv, false},
    {"amazon-ratings", LogFormat::kAmazonRatings, "an Amazon ratings CSV file", kNoFiles, false},
    {"amazon-ratings-2014", LogFormat::kAmazonRatings2014, "an Amazon ratings CSV file", kNoFiles,
     false},
    {"amazon-reviews", LogFormat::kAmazonReviews, "an Amazon reviews JSON lines file", kNoFiles,
     false},
    {"retailrocket", LogFormat::kRetailRocket, "a RetailRocket events file", kEventsCsv, false},
    {"netflix", LogFormat::kNetflix, "a Netflix Prize ratings file", kNetflixFiles, true},
    {"yoochoose", LogFormat::kYoochoose, "a Yoochoose clicks or buys file", kYoochooseFiles, true},
    {"lastfm-1k", LogFormat::kLastFm1K, "a Last.fm 1K listening log", kLastFmFiles, false},
}};

bool Matches(std::string_view pattern, std::string_view file) {
  const size_t star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == file;
  return file.size() >= pattern.size() - 1 && file.starts_with(pattern.substr(0, star)) &&
         file.ends_with(pattern.substr(star + 1));
}

// "a", "a or b", "a, b or c".
std::string JoinOr(const std::array<std::string_view, 3>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && !names[i].empty(); ++i) {
    const bool last = i + 1 == names.size() || names[i + 1].empty();
    if (i > 0) out += last ? " or " : ", ";
    out += names[i];
  }
  return out;
}

// The files of `pattern` in `dir`, appended to *out in name order.
Status AddMatches(const std::filesystem::path& dir, std::string_view pattern,
                  std::vector<std::string>* out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (pattern.find('*') == std::string_view::npos) {
    const fs::path p = dir / pattern;
    if (fs::is_regular_file(p, ec)) out->push_back(p.string());
    return Status::OK();
  }
  std::vector<std::string> found;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (Matches(pattern, it->path().filename().string()) && it->is_regular_file(ec)) {
      found.push_back(it->path().string());
    }
  }
  if (ec) return Status::IOError(fmt::format("cannot list '{}': {}", dir.string(), ec.message()));
  std::sort(found.begin(), found.end());
  out->insert(out->end(), std::make_move_iterator(found.begin()),
              std::make_move_iterator(found.end()));
  return Status::OK();
}

// What to read for `path`: itself, or for a directory the data set's files.
StatusOr<std::vector<std::string>> InputFiles(const ImportSpec& spec, const std::string& path) {
  std::error_code ec;
  if (spec.files[0].empty() || !std::filesystem::is_directory(path, ec)) {
    return std::vector<std::string>{path};
  }
  std::vector<std::string> files;
  for (std::string_view pattern : spec.files) {
    if (pattern.empty() || (!spec.all_files && !files.empty())) break;
    STREAMREC_RETURN_IF_ERROR(AddMatches(path, pattern, &files));
  }
  if (files.empty()) {
    return Status::NotFound(fmt::format("no {} in '{}'", JoinOr(spec.files), path));
  }
  return files;
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

Status ParseLog(std::istream& in, const std::string& name, LogFormat format,
                std::vector<EventRecord>* events) {
  switch (format) {
    case LogFormat::kAmazonRatings:
      return ParseAmazonRatings(in, name, /*user_first=*/false, events);
    case LogFormat::kAmazonRatings2014:
      return ParseAmazonRatings(in, name, /*user_first=*/true, events);
    case LogFormat::kAmazonReviews:
      return ParseAmazonReviews(in, name, events);
    case LogFormat::kRetailRocket:
      return ParseRetailRocket(in, name, events);
    case LogFormat::kNetflix:
      return ParseNetflix(in, name, events);
    case LogFormat::kYoochoose:
      return ParseYoochoose(in, name, events);
    case LogFormat::kLastFm1K:
      return ParseLastFm1K(in, name, events);
  }
  return Status::InvalidArgument(fmt::format("unknown log format {}", static_cast<int>(format)));
}

const std::vector<std::string_view>& ImportFormats() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const ImportSpec& spec : kImportSpecs) v.push_back(spec.name);
    return v;
  }();
  return names;
}

StatusOr<std::vector<EventRecord>> ImportPath(std::string_view format, const std::string& path) {
  const auto spec = std::find_if(kImportSpecs.begin(), kImportSpecs.end(),
                                 [&](const ImportSpec& s) { return s.name == format; });
  if (spec == kImportSpecs.end()) {
    return Status::InvalidArgument(fmt::format("unknown format '{}' (known: {})", Shown(format),
                                               fmt::join(ImportFormats(), ", ")));
  }
  StatusOr<std::vector<std::string>> files = InputFiles(*spec, path);
  if (!files.ok()) return files.status();
  std::vector<EventRecord> events;
  for (const std::string& file : *files) {
    std::ifstream in;
    STREAMREC_RETURN_IF_ERROR(text::OpenInput(file, spec->kind, &in));
    if (const auto* ratings = std::get_if<RatingsFormat>(&spec->parser)) {
      // A ratings format reads one file (all_files is false for them).
      StatusOr<std::vector<EventRecord>> read = ParseRatings(in, file, *ratings);
      if (!read.ok()) return read.status();
      events = std::move(read).value();
    } else {
      STREAMREC_RETURN_IF_ERROR(ParseLog(in, file, std::get<LogFormat>(spec->parser), &events));
    }
  }
  return events;
}

}  // namespace streamrec::tools
