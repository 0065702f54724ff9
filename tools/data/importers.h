// Importers for public interaction data sets into EventRecords: the rating
// files in importers.cc, the event logs in log_importers.cc, ImportPath in
// import_path.cc, the field parsing they share in import_fields.h.
//
// Rating files (ParseRatings, type "rating"):
// - MovieLens 100K: u.data and its splits u1.base .. u5.test, ua/ub:
//   "user \t item \t rating \t unix_seconds" per line.
// - MovieLens 1M/10M ratings.dat: "user::item::rating::unix_seconds".
// - CSV with a header naming the columns (MovieLens 20M/25M ratings.csv:
//   "userId,movieId,rating,timestamp"); the header may name the columns in
//   any order; user, item and rating columns are required, timestamp is
//   optional (then ts 0). Column name aliases: user|userId|user_id,
//   item|movieId|item_id|itemId, rating|value, timestamp|ts.
//
// Event logs of other data sets (ParseLog; LogFormat says what each reads
// and how its events map onto the default types view, click, cart,
// purchase and rating; tools/data/public_datasets.h says where to get them).
//
// Timestamps become ms since the Unix epoch (seconds * 1000; ISO 8601 times
// are UTC). Events keep file order, which is not time order for most of
// these files (`replay --sort-by-time`, `eval`'s time split sorts).
// A malformed line (wrong field count, non-numeric rating or time, empty id,
// rating not finite) is an InvalidArgument whose message names the file and
// the 1-based line: "u.data:17: expected 4 tab-separated fields, got 3".
// Every imported id passes text::FieldProblem, so it can be written to an
// event file. Never a crash, whatever the bytes.
//
// Thread-safety: free functions; no shared state.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
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

enum class LogFormat {
  // Amazon Reviews "ratings only" CSV without a header, 2018 layout:
  // "item,user,rating,unix_seconds" → rating. A file whose first line is
  // the 2023 pure-ID header "user_id,parent_asin,rating,timestamp" is read
  // in that layout instead (timestamp in ms).
  kAmazonRatings,
  // The 2014 "ratings only" CSV: "user,item,rating,unix_seconds" → rating
  // (the same 2023 header switches layout as above).
  kAmazonRatings2014,
  // Amazon Reviews JSON lines, one review object a line → rating. 2014 and
  // 2018: reviewerID, asin, overall, unixReviewTime (seconds); 2023:
  // user_id, parent_asin (else asin), rating, timestamp (ms). Told apart
  // per line; other members are ignored.
  kAmazonReviews,
  // RetailRocket events.csv: the header
  // "timestamp,visitorid,event,itemid,transactionid", then ms timestamps;
  // event view → view, addtocart → cart, transaction → purchase.
  kRetailRocket,
  // Netflix Prize combined_data_N.txt or training_set/mv_NNNNNNN.txt:
  // "MovieID:" lines, each followed by "CustomerID,Rating,YYYY-MM-DD" lines
  // → rating (item = MovieID, at midnight UTC of the date).
  kNetflix,
  // YOOCHOOSE (RecSys Challenge 2015), user = the session id.
  // yoochoose-clicks.dat "SessionID,Timestamp,ItemID,Category" → click;
  // yoochoose-buys.dat "SessionID,Timestamp,ItemID,Price,Quantity" →
  // purchase (price and quantity dropped). Told apart by the first line's
  // field count; Timestamp is ISO 8601 UTC ("2014-04-07T10:51:09.277Z").
  kYoochoose,
  // Last.fm 1K userid-timestamp-artid-artname-traid-traname.tsv: "userid \t
  // ISO 8601 time \t artist mbid \t artist name \t track mbid \t track
  // name", each play → view. Item = the track mbid, or "artist name - track
  // name" when the mbid is empty.
  kLastFm1K,
};

// Parses `in` in `format`, appending to *events (on an error, *events
// holds the lines before it; callers drop it). `name` is used in messages.
[[nodiscard]] Status ParseLog(std::istream& in, const std::string& name, LogFormat format,
                              std::vector<EventRecord>* events);

// The format names `streamrec import` accepts: "movielens" (a MovieLens
// file or directory, layout from its content), "csv" (a CSV with a header),
// then one per data set of tools/data/public_datasets.h.
const std::vector<std::string_view>& ImportFormats();

// Reads `path` in the named format: a file, or a directory laid out as the
// data set unpacks (MovieLens: u.data / ratings.dat / ratings.csv;
// RetailRocket: events.csv; Netflix: every combined_data_*.txt or
// mv_*.txt, by name; Yoochoose: yoochoose-clicks.dat then
// yoochoose-buys.dat, those present; Last.fm 1K: its .tsv). InvalidArgument
// for an unknown format or bad data, NotFound/IOError if it cannot be read.
StatusOr<std::vector<EventRecord>> ImportPath(std::string_view format, const std::string& path);

}  // namespace streamrec::tools
