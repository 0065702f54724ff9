// The event-log importers: Amazon, RetailRocket, Netflix Prize, Yoochoose
// and Last.fm files as EventRecords (importers.h says what each reads).
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
#include "tools/data/importers.h"
#include "tools/text/text_parse.h"

namespace streamrec::tools {
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

}  // namespace

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

}  // namespace streamrec::tools
