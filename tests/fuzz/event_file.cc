// Fuzz target: the event file reader (tools/data/event_file.h), what `eval`,
// `bench` and `replay` read and `import` writes.
//
// Invariants besides "no crash, no sanitizer report, no exception":
// - a bad line is an InvalidArgument naming the file and the line;
// - what is read writes back (WriteEventFile validates with the reader's
//   rules) and reads again unchanged: reader and writer agree.
#include "tools/data/event_file.h"

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/event_file_round_trip.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace streamrec;
  constexpr const char* kName = "fuzz.events";
  std::istringstream in{std::string(fuzz::AsText(data, size))};
  StatusOr<std::vector<tools::EventRecord>> events = tools::ReadEventFile(in, kName);
  if (!events.ok()) {
    FUZZ_CHECK(events.status().code() == StatusCode::kInvalidArgument &&
                   events.status().message().starts_with(std::string(kName) + ":"),
               "an event file refused with {}", events.status().ToString());
    return 0;
  }
  fuzz::CheckEventFileRoundTrip(*events, "events read");
  return 0;
}
