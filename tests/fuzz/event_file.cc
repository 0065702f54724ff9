// Fuzz target: the event file reader (tools/event_file.h), what `eval`,
// `bench` and `replay` read and `import` writes.
//
// Invariants besides "no crash, no sanitizer report, no exception":
// - a bad line is an InvalidArgument naming the file and the line;
// - what is read writes back (WriteEventFile validates with the reader's
//   rules) and reads again unchanged: reader and writer agree.
#include "tools/event_file.h"

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

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
  std::ostringstream out;
  const Status written = tools::WriteEventFile(*events, out);
  FUZZ_CHECK(written.ok(), "events read cannot be written: {}", written.ToString());
  std::istringstream back_in(out.str());
  StatusOr<std::vector<tools::EventRecord>> back = tools::ReadEventFile(back_in, "written");
  FUZZ_CHECK(back.ok(), "an event file written from one read is refused: {}",
             back.status().ToString());
  FUZZ_CHECK(*back == *events, "{} events read back as {} others", events->size(), back->size());
  return 0;
}
