// Shared by the event_file and importers fuzz targets: events that were
// read (from an event file or a ratings import) write as an event file and
// read back unchanged, so the reader and the writer agree.
#pragma once

#include <sstream>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "tools/data/event_file.h"

namespace streamrec::fuzz {

// `what` names the events in a failure ("events read", "imported events").
inline void CheckEventFileRoundTrip(const std::vector<tools::EventRecord>& events,
                                    std::string_view what) {
  std::ostringstream out;
  const Status written = tools::WriteEventFile(events, out);
  FUZZ_CHECK(written.ok(), "{} cannot be written: {}", what, written.ToString());
  std::istringstream back_in(out.str());
  StatusOr<std::vector<tools::EventRecord>> back = tools::ReadEventFile(back_in, "written");
  FUZZ_CHECK(back.ok(), "the event file written from {} is refused: {}", what,
             back.status().ToString());
  FUZZ_CHECK(*back == events, "{} {} read back as {} others", events.size(), what, back->size());
}

}  // namespace streamrec::fuzz
