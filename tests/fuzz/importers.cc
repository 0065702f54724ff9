// Fuzz target: the rating importers' line parsers (tools/data/importers.h):
// ParseRatings in each format, MovieLens 100K (tab-separated), MovieLens
// 1M/10M ratings.dat ('::') and CSV with a header, and in kAuto, which
// picks one from the first line, as `streamrec import` does.
//
// Invariants besides "no crash, no sanitizer report, no exception":
// - a bad line is an InvalidArgument naming the file and the line;
// - what is imported can be written as an event file and read back
//   unchanged (importers.cc promises every imported id can be written):
//   type "rating", finite values, ids the event file accepts.
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

}  // namespace
}  // namespace streamrec::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using streamrec::tools::RatingsFormat;
  const std::string_view text = streamrec::fuzz::AsText(data, size);
  for (RatingsFormat f : {RatingsFormat::kAuto, RatingsFormat::kMovieLens100K,
                          RatingsFormat::kMovieLensDat, RatingsFormat::kCsv}) {
    streamrec::fuzz::Import(text, f);
  }
  return 0;
}
