// Field parsing the importers share (importers.cc, log_importers.cc):
// ids, ratings, epoch times and line ends, each failing with
// "FILE:LINE: ..." (text::LineError). Internal to tools/data.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/status.h"

namespace streamrec::tools::import_fields {

inline constexpr int64_t kMsPerSecond = 1000;

// `s` without leading and trailing spaces.
std::string_view Trim(std::string_view s);
// `line` cut at every `sep` into *out (cleared first).
void Split(std::string_view line, std::string_view sep, std::vector<std::string_view>* out);
// `count` units of `ms_per_unit` ms as ms; false if that overflows.
bool ScaleToMs(int64_t count, int64_t ms_per_unit, int64_t* ts_ms);
// An integer time since the epoch in seconds (ms_per_unit 1000) or
// milliseconds (1).
Status ParseEpoch(std::string_view s, int64_t ms_per_unit, const std::string& name, size_t lineno,
                  int64_t* ts_ms);
// Same rule as the event file, so every imported id can be written out.
Status CheckIds(std::string_view user, std::string_view item, const std::string& name,
                size_t lineno);
// A finite rating.
Status ParseRating(std::string_view r, const std::string& name, size_t lineno, float* value);
// A line without its CR and, on line 1, a UTF-8 byte order mark.
std::string_view StripLineEnd(const std::string& line, size_t lineno);

}  // namespace streamrec::tools::import_fields
