// Fuzz target: the request bodies clients send (http/event_json.h,
// http/api_json.h). Each input is tried as a POST /v1/events body in both
// formats (ParseEvents: JSON, NDJSON), as a PUT /v1/items/{item} body
// (ParseItemMeta) and as an RFC 3339 time (ParseRfc3339Ms).
//
// Invariants checked besides "no crash, no sanitizer report, no exception":
// - a refusal is InvalidArgument, or ResourceExhausted for too many events;
// - every accepted event re-encodes: as a JSON object (SerializeJson) it
//   parses back to the same event, and through the log's codec
//   (storage/event_codec.h) it decodes to the same record when the store
//   could keep it (non-empty user, item and type);
// - NDJSON reports one ascending line per event;
// - accepted item metadata survives the catalog codec;
// - a parsed time formats (FormatTimeMs) to text that parses to the same ms.
#include "http/event_json.h"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "http/api_json.h"
#include "storage/event_codec.h"
#include "tests/fuzz/fuzz_check.h"

namespace streamrec::fuzz {
namespace {

namespace json = boost::json;
using storage::StoredEvent;

// The server's defaults ([api] max_json_depth, [events]
// max_future_skew_seconds), a fixed clock for reproducible runs, and a
// small batch limit so that the limit's path is reachable.
http::EventParseOptions Options() {
  http::EventParseOptions o;
  o.max_events = 64;
  o.max_json_depth = 16;
  o.now_ms = 1'700'000'000'000;
  o.max_future_skew_ms = 300'000;
  o.max_past_age_ms = 0;
  return o;
}

void CheckRefusal(const Status& st, std::string_view what) {
  FUZZ_CHECK(
      st.code() == StatusCode::kInvalidArgument || st.code() == StatusCode::kResourceExhausted,
      "{} refused with {}", what, st.ToString());
}

std::string EventText(const StoredEvent& e) {
  return fmt::format("{{id '{}' user '{}' item '{}' type '{}' value {} ts {} assigned {}}}",
                     e.event_id, e.user, e.item, e.type, e.value, e.ts_ms, e.ts_assigned);
}

// The event as a client would send it, parsed again.
void CheckJsonRoundTrip(const StoredEvent& e, const http::EventParseOptions& opt) {
  json::object o;
  if (!e.event_id.empty()) o["event_id"] = e.event_id;
  o["user"] = e.user;
  o["item"] = e.item;
  o["type"] = e.type;
  o["value"] = static_cast<double>(e.value);
  if (!e.ts_assigned) o["ts"] = e.ts_ms;
  const std::string body = http::SerializeJson(o);
  StatusOr<std::vector<StoredEvent>> again = http::ParseEvents(body, http::EventFormat::kJson, opt);
  FUZZ_CHECK(again.ok(), "{} re-encoded as {} is refused: {}", EventText(e), body,
             again.status().ToString());
  FUZZ_CHECK(again->size() == 1, "one event re-encoded parses as {}", again->size());
  const StoredEvent& b = again->front();
  // == on value: JSON has one zero, so -0 may come back as 0.
  FUZZ_CHECK(b.event_id == e.event_id && b.user == e.user && b.item == e.item && b.type == e.type &&
                 b.value == e.value && b.ts_ms == e.ts_ms && b.ts_assigned == e.ts_assigned,
             "{} re-encoded as {} parses as {}", EventText(e), body, EventText(b));
}

// The event as the log stores it, decoded again.
void CheckCodecRoundTrip(const StoredEvent& e) {
  if (e.user.empty() || e.item.empty() || e.type.empty()) return;  // LiveStore::Validate refuses
  std::string record;
  storage::EncodeEvent(e, &record);
  storage::StoredEvent d;
  d.seq = e.seq;
  const Status st = storage::DecodeEvent(record, &d);
  FUZZ_CHECK(st.ok(), "{} encodes to a record that decodes as {}", EventText(e), st.ToString());
  storage::StoredEvent want = e;
  want.ts_assigned = false;  // not stored
  FUZZ_CHECK(d == want, "{} decodes as {}", EventText(e), EventText(d));
}

void CheckEvents(std::string_view body, http::EventFormat format) {
  const http::EventParseOptions opt = Options();
  std::vector<size_t> lines;
  StatusOr<std::vector<StoredEvent>> events = http::ParseEvents(body, format, opt, &lines);
  if (!events.ok()) {
    CheckRefusal(events.status(), "a body");
    return;
  }
  FUZZ_CHECK(!events->empty() && events->size() <= opt.max_events, "{} events accepted",
             events->size());
  if (format == http::EventFormat::kNdjson) {
    FUZZ_CHECK(lines.size() == events->size(), "{} lines for {} events", lines.size(),
               events->size());
    for (size_t i = 0; i < lines.size(); ++i) {
      FUZZ_CHECK(lines[i] >= 1 && (i == 0 || lines[i] > lines[i - 1]), "line {} is {}", i,
                 lines[i]);
    }
    const std::string named = http::NameLines(fmt::format("event {}: x", lines.size() - 1), lines);
    FUZZ_CHECK(named == fmt::format("line {}: x", lines.back()), "NameLines gave '{}'", named);
  } else {
    FUZZ_CHECK(lines.empty(), "a JSON body reports {} lines", lines.size());
  }
  for (const StoredEvent& e : *events) {
    FUZZ_CHECK(e.ts_assigned ? e.ts_ms == opt.now_ms
                             : e.ts_ms >= 0 && e.ts_ms <= opt.now_ms + opt.max_future_skew_ms,
               "{} passed the ts bounds", EventText(e));
    CheckJsonRoundTrip(e, opt);
    CheckCodecRoundTrip(e);
  }
}

void CheckItemMeta(std::string_view body) {
  StatusOr<engine::ItemMeta> meta = http::ParseItemMeta(body, 16);
  if (!meta.ok()) {
    CheckRefusal(meta.status(), "item metadata");
    return;
  }
  std::string record;
  storage::EncodeItemMeta(*meta, &record);
  engine::ItemMeta back;
  const Status st = storage::DecodeItemMeta(record, &back);
  FUZZ_CHECK(st.ok() && back == *meta, "item metadata does not survive the catalog codec: {}",
             st.ToString());
}

void CheckTime(std::string_view text) {
  const std::optional<int64_t> ms = http::ParseRfc3339Ms(text);
  if (!ms) return;
  const std::string formatted = http::FormatTimeMs(*ms);
  if (formatted.ends_with(" ms")) return;  // outside years 0001-9999
  const std::optional<int64_t> again = http::ParseRfc3339Ms(formatted);
  FUZZ_CHECK(again == ms, "'{}' is {} ms, formatted '{}', parsed again {}", text, *ms, formatted,
             again.value_or(-1));
}

}  // namespace
}  // namespace streamrec::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace streamrec;
  const std::string_view text = fuzz::AsText(data, size);
  fuzz::CheckEvents(text, http::EventFormat::kJson);
  fuzz::CheckEvents(text, http::EventFormat::kNdjson);
  fuzz::CheckItemMeta(text);
  fuzz::CheckTime(text);
  return 0;
}
