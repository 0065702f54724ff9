// The [drift] section of the configuration file (config/streamrec.conf
// documents it): its keys, registered with boost::program_options by
// LoadConfig next to the other sections', and their checks into
// storage::LiveDriftOptions. Internal to tools/config/config.cc.
//
// Thread-safety: pure functions.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <cstdint>
#include <string>

#include "engine/core/status.h"
#include "storage/live_drift.h"

namespace streamrec::tools {

// The values as written, wide and signed so that "-1" is refused rather
// than wrapped; checked by ApplyDriftSection.
struct DriftSection {
  bool enabled = true;
  int64_t reference_events = 0, window = 0, top_n = 0;
  double smoothing = 0.0, rating_step = 0.0;
};

// The section holding `defaults`' values.
DriftSection DriftSectionFrom(const storage::LiveDriftOptions& defaults);

// Registers drift.enabled, drift.reference_events, drift.window,
// drift.top_n, drift.smoothing and drift.rating_step, stored into *section.
void DescribeDriftSection(boost::program_options::options_description* d, DriftSection* section);

// Range-checks the section into *out. InvalidArgument names the file
// (`path`) and the key.
Status ApplyDriftSection(const std::string& path, const DriftSection& section,
                         storage::LiveDriftOptions* out);

}  // namespace streamrec::tools
