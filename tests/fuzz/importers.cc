// Fuzz target: the importers' line parsers (tools/data/importers.h):
// ParseRatings in each format, MovieLens 100K (tab-separated), MovieLens
// 1M/10M ratings.dat ('::') and CSV with a header, and in kAuto, which
// picks one from the first line, as `streamrec import` does; and ParseLog
// in each public data set's format (Amazon CSV and JSON lines,
// RetailRocket, Netflix, Yoochoose, Last.fm), the same bytes through each.
//
// Invariants besides "no crash, no sanitizer report, no exception":
// - a bad line is an InvalidArgument naming the file and the line;
// - what is imported can be written as an event file and read back
//   unchanged (importers.cc promises every imported id can be written):
//   a type the format maps to, finite values, ids the event file accepts.
#include "tools/data/importers.h"

#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/event_file_round_trip.h"
#include "tests/fuzz/fuzz_check.h"

namespace streamrec::fuzz {
namespace {

constexpr const char* kName = "fuzz.data";

void Import(std::string_view text, tools::RatingsFormat format) {
  std::istringstream in{std::string(text)};
  StatusOr<std::vector<tools::EventRecord>> events = tools::ParseRatings(in, kName, format);
  if (!events.ok()) {
    FUZZ_CHECK(events.status().code() == StatusCode::kInvalidArgument &&
                   events.status().message().starts_with(std::string(kName) + ":"),
               "a ratings file refused with {}", events.status().ToString());
    return;
  }
  for (const tools::EventRecord& e : *events) {
    FUZZ_CHECK(e.type == "rating" && std::isfinite(e.value) && e.ts_ms % 1000 == 0,
               "imported type '{}' value {} ts {}", e.type, e.value, e.ts_ms);
  }
  CheckEventFileRoundTrip(*events, "imported events");
}

void ImportLog(std::string_view text, tools::LogFormat format) {
  std::istringstream in{std::string(text)};
  std::vector<tools::EventRecord> events;
  const Status st = tools::ParseLog(in, kName, format, &events);
  if (!st.ok()) {
    FUZZ_CHECK(st.code() == StatusCode::kInvalidArgument &&
                   st.message().starts_with(std::string(kName) + ":"),
               "a log file refused with {}", st.ToString());
    return;
  }
  for (const tools::EventRecord& e : events) {
    FUZZ_CHECK((e.type == "rating" || e.type == "view" || e.type == "cart" ||
                e.type == "purchase" || e.type == "click") &&
                   std::isfinite(e.value),
               "imported type '{}' value {}", e.type, e.value);
  }
  CheckEventFileRoundTrip(events, "imported log events");
}

}  // namespace
}  // namespace streamrec::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using streamrec::tools::RatingsFormat;
  const std::string_view text = streamrec::fuzz::AsText(data, size);
  for (RatingsFormat f : {RatingsFormat::kAuto, RatingsFormat::kMovieLens100K,
                          RatingsFormat::kMovieLensDat, RatingsFormat::kCsv}) {
    streamrec::fuzz::Import(text, f);
  }
  using streamrec::tools::LogFormat;
  for (LogFormat f : {LogFormat::kAmazonRatings, LogFormat::kAmazonRatings2014,
                      LogFormat::kAmazonReviews, LogFormat::kRetailRocket, LogFormat::kNetflix,
                      LogFormat::kYoochoose, LogFormat::kLastFm1K}) {
    streamrec::fuzz::ImportLog(text, f);
  }
  return 0;
}
