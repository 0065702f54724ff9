#include "http/event_json.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <strings.h>

#include <array>
#include <boost/json/error.hpp>
#include <boost/json/parser.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>

#include "engine/core/id_text.h"
#include "http/json_keys.h"

namespace streamrec::http {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 6> kEventFields = {"event_id", "user",  "item",
                                                          "type",     "value", "ts"};

// Where an event came from, for messages: "event 3" (its 0-based index in
// a JSON body) or "line 5" (1-based, NDJSON: what an editor shows).
struct Where {
  size_t index = 0;
  size_t line = 0;  // 1-based NDJSON line; 0 for JSON bodies
  std::string str() const {
    return line == 0 ? fmt::format("event {}", index) : fmt::format("line {}", line);
  }
};

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

Status TypeError(const Where& w, std::string_view field, std::string_view expected,
                 const json::value& got) {
  return Status::InvalidArgument(fmt::format("{}: field '{}' must be {}, got {}", w.str(), field,
                                             expected, JsonKindName(got)));
}

// A required or optional string field.
Status StringField(const json::object& o, std::string_view field, bool required, const Where& w,
                   std::string* out) {
  const json::value* v = o.if_contains(field);
  if (v == nullptr || (!required && v->is_null())) {
    if (required)
      return Status::InvalidArgument(fmt::format("{}: missing field '{}'", w.str(), field));
    return Status::OK();
  }
  const json::string* s = v->if_string();
  if (s == nullptr) return TypeError(w, field, "a string", *v);
  out->assign(s->data(), s->size());
  return Status::OK();
}

Status ValueField(const json::object& o, const Where& w, float* out) {
  const json::value* v = o.if_contains("value");
  if (v == nullptr || v->is_null()) return Status::OK();
  double d = 0.0;
  if (const int64_t* i = v->if_int64()) {
    d = static_cast<double>(*i);
  } else if (const uint64_t* u = v->if_uint64()) {
    d = static_cast<double>(*u);
  } else if (const double* x = v->if_double()) {
    d = *x;
  } else {
    return TypeError(w, "value", "a number", *v);
  }
  // Values are stored as float: 1e308 would become inf, 1e400 already is.
  if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max()) {
    return Status::InvalidArgument(
        fmt::format("{}: field 'value' is out of range: at most {:g} in magnitude, finite", w.str(),
                    std::numeric_limits<float>::max()));
  }
  *out = static_cast<float>(d);
  return Status::OK();
}

// A client's ts against the bounds of `opt` (README "Event timestamps").
Status CheckTs(int64_t ts, const Where& w, const EventParseOptions& opt) {
  if (ts < 0) {
    return Status::InvalidArgument(fmt::format("{}: field 'ts' ({}) is before 1970-01-01T00:00:00Z",
                                               w.str(), FormatTimeMs(ts)));
  }
  if (opt.max_future_skew_ms >= 0 && ts > opt.now_ms &&
      static_cast<uint64_t>(ts) - static_cast<uint64_t>(opt.now_ms) >
          static_cast<uint64_t>(opt.max_future_skew_ms)) {
    return Status::InvalidArgument(fmt::format(
        "{}: field 'ts' ({}) is more than {} s ahead of the server's clock ({}); "
        "[events] max_future_skew_seconds sets the bound",
        w.str(), FormatTimeMs(ts), opt.max_future_skew_ms / 1000, FormatTimeMs(opt.now_ms)));
  }
  if (opt.max_past_age_ms > 0 && ts < opt.now_ms && opt.now_ms - ts > opt.max_past_age_ms) {
    return Status::InvalidArgument(fmt::format(
        "{}: field 'ts' ({}) is more than {} s before the server's clock ({}); "
        "[events] max_past_age_seconds sets the bound",
        w.str(), FormatTimeMs(ts), opt.max_past_age_ms / 1000, FormatTimeMs(opt.now_ms)));
  }
  return Status::OK();
}

Status TsField(const json::object& o, const Where& w, const EventParseOptions& opt, int64_t* out,
               bool* assigned) {
  const int64_t now_ms = opt.now_ms;
  *out = now_ms;
  const json::value* v = o.if_contains("ts");
  *assigned = v == nullptr || v->is_null();
  if (*assigned) return Status::OK();
  STREAMREC_RETURN_IF_ERROR(ParseTimeField(*v, w.str() + ": ", "ts", out));
  return CheckTs(*out, w, opt);
}

Status ParseEvent(const json::value& v, const Where& w, const EventParseOptions& opt,
                  storage::StoredEvent* e) {
  const json::object* o = v.if_object();
  if (o == nullptr) {
    return Status::InvalidArgument(
        fmt::format("{}: expected a JSON object, got {}", w.str(), JsonKindName(v)));
  }
  std::string unknown;
  size_t unknown_count = 0;
  for (const auto& kv : *o) {
    bool known = false;
    for (std::string_view f : kEventFields) known |= kv.key() == f;
    if (known) continue;
    unknown += fmt::format("{}'{}'", unknown.empty() ? "" : ", ", kv.key().substr(0, 64));
    ++unknown_count;
  }
  if (unknown_count > 0) {
    return Status::InvalidArgument(fmt::format("{}: unknown field{} {} (known: {})", w.str(),
                                               unknown_count > 1 ? "s" : "", unknown,
                                               fmt::join(kEventFields, ", ")));
  }
  STREAMREC_RETURN_IF_ERROR(StringField(*o, "event_id", false, w, &e->event_id));
  STREAMREC_RETURN_IF_ERROR(StringField(*o, "user", true, w, &e->user));
  STREAMREC_RETURN_IF_ERROR(StringField(*o, "item", true, w, &e->item));
  for (auto [name, id] :
       {std::pair<std::string_view, const std::string*>{"user", &e->user}, {"item", &e->item}}) {
    if (id->size() > opt.max_id_length) {
      return Status::InvalidArgument(
          fmt::format("{}: field '{}' is {} bytes long; at most {} ([limits] max_id_length)",
                      w.str(), name, id->size(), opt.max_id_length));
    }
  }
  STREAMREC_RETURN_IF_ERROR(StringField(*o, "type", true, w, &e->type));
  STREAMREC_RETURN_IF_ERROR(ValueField(*o, w, &e->value));
  return TsField(*o, w, opt, &e->ts_ms, &e->ts_assigned);
}

Status TooMany(size_t max_events) {
  return Status::ResourceExhausted(
      fmt::format("too many events in one request: at most {}", max_events));
}

StatusOr<std::vector<storage::StoredEvent>> ParseNdjson(std::string_view body,
                                                        const EventParseOptions& options,
                                                        std::vector<size_t>* lines) {
  // Count first, so an oversized batch is refused before any parsing.
  size_t count = 0;
  for (std::string_view rest = body; !rest.empty();) {
    const size_t nl = rest.find('\n');
    if (!TrimSpace(rest.substr(0, nl)).empty()) ++count;
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  }
  if (count == 0) return Status::InvalidArgument("empty batch: the body holds no events");
  if (count > options.max_events) return TooMany(options.max_events);

  std::vector<storage::StoredEvent> events;
  events.reserve(count);
  size_t line = 0;
  for (std::string_view rest = body; !rest.empty();) {
    const size_t nl = rest.find('\n');
    const std::string_view text = TrimSpace(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    ++line;
    if (text.empty()) continue;
    const Where w{events.size(), line};
    StatusOr<json::value> v = ParseJson(text, options.max_json_depth);
    if (!v.ok()) {
      return Status::InvalidArgument(fmt::format("{}: {}", w.str(), v.status().message()));
    }
    STREAMREC_RETURN_IF_ERROR(ParseEvent(*v, w, options, &events.emplace_back()));
    if (lines != nullptr) lines->push_back(line);
  }
  return events;
}

int Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

std::string_view JsonKindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::object:
      return "object";
    case json::kind::array:
      return "array";
    case json::kind::string:
      return "string";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "number";
    case json::kind::bool_:
      return "bool";
    case json::kind::null:
      return "null";
  }
  return "unknown";
}

StatusOr<json::value> ParseJson(std::string_view text, int max_depth) {
  if (TrimSpace(text).empty()) return Status::InvalidArgument("empty body: expected JSON");
  json::parse_options opts;
  opts.max_depth = static_cast<size_t>(std::max(max_depth, 1));
  json::parser p(json::storage_ptr(), opts);
  json::error_code ec;
  const size_t consumed = p.write(text.data(), text.size(), ec);
  if (ec == json::error::too_deep) {
    return Status::InvalidArgument(
        fmt::format("JSON nested deeper than {} levels", opts.max_depth));
  }
  if (ec) {
    // Boost.JSON refuses invalid UTF-8 in strings as a plain syntax error.
    for (size_t i = 0; i <= consumed && i < text.size();) {
      const size_t n = engine::Utf8SequenceLength(text, i);
      if (n == 0) {
        return Status::InvalidArgument(
            fmt::format("malformed JSON at byte {}: not valid UTF-8", i));
      }
      i += n;
    }
    return Status::InvalidArgument(
        fmt::format("malformed JSON at byte {}: {}", consumed, ec.message()));
  }
  STREAMREC_RETURN_IF_ERROR(CheckNoDuplicateKeys(text));
  return p.release();
}

std::optional<EventFormat> EventFormatFor(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  media = TrimSpace(media);
  auto is = [&](std::string_view want) {
    return media.size() == want.size() && strncasecmp(media.data(), want.data(), want.size()) == 0;
  };
  if (is("application/json")) return EventFormat::kJson;
  if (is("application/x-ndjson")) return EventFormat::kNdjson;
  return std::nullopt;
}

StatusOr<std::vector<storage::StoredEvent>> ParseEvents(std::string_view body, EventFormat format,
                                                        const EventParseOptions& options,
                                                        std::vector<size_t>* lines) {
  if (lines != nullptr) lines->clear();
  if (format == EventFormat::kNdjson) return ParseNdjson(body, options, lines);
  if (TrimSpace(body).empty()) {
    return Status::InvalidArgument("empty batch: the body holds no events");
  }
  StatusOr<json::value> v = ParseJson(body, options.max_json_depth);
  if (!v.ok()) return v.status();
  std::vector<storage::StoredEvent> events;
  if (const json::array* a = v->if_array()) {
    if (a->empty()) return Status::InvalidArgument("empty batch: the array holds no events");
    if (a->size() > options.max_events) return TooMany(options.max_events);
    events.resize(a->size());
    for (size_t i = 0; i < a->size(); ++i) {
      STREAMREC_RETURN_IF_ERROR(ParseEvent((*a)[i], Where{i, 0}, options, &events[i]));
    }
    return events;
  }
  if (!v->is_object()) {
    return Status::InvalidArgument(
        fmt::format("expected an event object or an array of them, got {}", JsonKindName(*v)));
  }
  STREAMREC_RETURN_IF_ERROR(ParseEvent(*v, Where{0, 0}, options, &events.emplace_back()));
  return events;
}

Status ParseTimeField(const json::value& v, std::string_view context, std::string_view field,
                      int64_t* ms) {
  if (const int64_t* i = v.if_int64()) {
    *ms = *i;
    return Status::OK();
  }
  if (const uint64_t* u = v.if_uint64()) {
    if (*u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Status::InvalidArgument(fmt::format("{}field '{}' is out of range", context, field));
    }
    *ms = static_cast<int64_t>(*u);
    return Status::OK();
  }
  if (const json::string* s = v.if_string()) {
    const std::optional<int64_t> parsed = ParseRfc3339Ms(*s);
    if (!parsed) {
      return Status::InvalidArgument(
          fmt::format("{}field '{}' is not an RFC 3339 timestamp (e.g. 2024-05-01T12:00:00Z): '{}'",
                      context, field, std::string_view(*s).substr(0, 64)));
    }
    *ms = *parsed;
    return Status::OK();
  }
  return Status::InvalidArgument(
      fmt::format("{}field '{}' must be integer epoch milliseconds or an RFC 3339 string, got {}",
                  context, field, JsonKindName(v)));
}

std::optional<int64_t> ParseRfc3339Ms(std::string_view s) {
  // YYYY-MM-DD(T|t| )HH:MM:SS[.frac](Z|z|(+|-)HH:MM)
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
  const int year = Digits(s, 0, 4), month = Digits(s, 5, 2), day = Digits(s, 8, 2);
  const int hour = Digits(s, 11, 2), minute = Digits(s, 14, 2), second = Digits(s, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0) return std::nullopt;
  if (hour > 23 || minute > 59 || second > 60) return std::nullopt;  // 60: a leap second
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return std::nullopt;

  size_t pos = 19;
  int64_t frac_ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const size_t start = pos;
    int64_t scale = 100;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac_ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
    const int oh = Digits(s, pos + 1, 2), om = Digits(s, pos + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return std::nullopt;
    offset_min = (s[pos] == '-' ? -1 : 1) * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;

  const int64_t days = std::chrono::sys_days(ymd).time_since_epoch().count();
  return days * 86400000 + hour * 3600000LL + minute * 60000LL + second * 1000LL + frac_ms -
         offset_min * 60000;
}

std::string NameLines(std::string_view message, std::span<const size_t> lines) {
  constexpr std::string_view kPrefix = "event ";
  if (lines.empty() || !message.starts_with(kPrefix)) return std::string(message);
  size_t index = 0;
  const char* begin = message.data() + kPrefix.size();
  const char* end = message.data() + message.size();
  const auto [p, ec] = std::from_chars(begin, end, index);
  if (ec != std::errc() || p == begin || p == end || *p != ':' || index >= lines.size()) {
    return std::string(message);
  }
  return fmt::format("line {}{}", lines[index], std::string_view(p, end));
}

std::string FormatTimeMs(int64_t ms) {
  // 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z.
  constexpr int64_t kFirst = -62135596800000, kLast = 253402300799999;
  if (ms < kFirst || ms > kLast) return fmt::format("{} ms", ms);
  const int64_t day_ms = 86400000;
  const int64_t days = (ms >= 0 ? ms : ms - (day_ms - 1)) / day_ms;  // floor
  const int64_t in_day = ms - days * day_ms;
  const std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(days))};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     in_day / 3600000, in_day / 60000 % 60, in_day / 1000 % 60, in_day % 1000);
}

}  // namespace streamrec::http
