// Importers for public rating data sets into EventRecords (type "rating").
//
// Supported inputs:
// - MovieLens 100K: u.data and its splits u1.base .. u5.test, ua/ub:
//   "user \t item \t rating \t unix_seconds" per line.
// - MovieLens 1M/10M ratings.dat: "user::item::rating::unix_seconds".
// - CSV with a header naming the columns (MovieLens 20M/25M ratings.csv:
//   "userId,movieId,rating,timestamp"); the header may name the columns in
//   any order; user, item and rating columns are required, timestamp is
//   optional (then ts 0). Column name aliases: user|userId|user_id,
//   item|movieId|item_id|itemId, rating|value, timestamp|ts.
//
// Timestamps in seconds become ts_ms = seconds * 1000.
// A malformed line (wrong field count, non-numeric rating or time, empty id,
// rating not finite) is an InvalidArgument whose message names the file and
// the 1-based line: "u.data:17: expected 4 tab-separated fields, got 3".
// Never a crash, whatever the bytes.
//
// Thread-safety: free functions; no shared state.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "engine/core/status.h"
#include "tools/data/event_file.h"

namespace streamrec::tools {

enum class RatingsFormat { kAuto, kMovieLens100K, kMovieLensDat, kCsv };

// Parses `in`; `name` is used in error messages. kAuto picks by the first
// line: a tab → 100K, "::" → dat, otherwise CSV with header.
StatusOr<std::vector<EventRecord>> ParseRatings(std::istream& in, const std::string& name,
                                                RatingsFormat format = RatingsFormat::kAuto);
// Opens and parses a file (NotFound/IOError if it cannot be read).
StatusOr<std::vector<EventRecord>> ReadRatingsFile(const std::string& path,
                                                   RatingsFormat format = RatingsFormat::kAuto);

// MovieLens directory helpers: the 100K layout has u.data plus
// u{1..5}.base/.test; the 1M/10M layout has ratings.dat; 20M+ ratings.csv.
// Returns the path of the full ratings file in `dir` (NotFound if none).
StatusOr<std::string> FindRatingsFile(const std::string& dir);

}  // namespace streamrec::tools
