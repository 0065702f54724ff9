// `streamrec import FORMAT PATH`: which parser and which files of a
// directory each format reads (importers.h).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <boost/json/parser.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <istream>
#include <iterator>
#include <limits>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

#include "tools/data/importers.h"
#include "tools/text/text_parse.h"

namespace streamrec::tools {
namespace {

using text::Shown;

// How `streamrec import` reads one format.
struct ImportSpec {
  std::string_view name;
  std::variant<RatingsFormat, LogFormat> parser;
  std::string_view kind;  // what a file is, for "'p' is a directory, not <kind>"
  // In a directory, the files to read; '*' matches any run of characters
  // (those files in name order); "" pads. Empty: a directory is refused.
  std::array<std::string_view, 3> files;
  bool all_files;  // read every one present; else only the first found
};

constexpr std::string_view kRatingsKind = "a ratings file";
constexpr std::array<std::string_view, 3> kAnyRatings{"u.data", "ratings.dat", "ratings.csv"};
constexpr std::array<std::string_view, 3> kRatingsDat{"ratings.dat", "", ""};
constexpr std::array<std::string_view, 3> kRatingsCsv{"ratings.csv", "", ""};
constexpr std::array<std::string_view, 3> kNoFiles{"", "", ""};
constexpr std::array<std::string_view, 3> kEventsCsv{"events.csv", "", ""};
constexpr std::array<std::string_view, 3> kNetflixFiles{"combined_data_*.txt", "mv_*.txt", ""};
constexpr std::array<std::string_view, 3> kYoochooseFiles{"yoochoose-clicks.dat",
                                                          "yoochoose-buys.dat", ""};
constexpr std::array<std::string_view, 3> kLastFmFiles{
    "userid-timestamp-artid-artname-traid-traname.tsv", "", ""};

constexpr std::array<ImportSpec, 17> kImportSpecs{{
    {"movielens", RatingsFormat::kAuto, kRatingsKind, kAnyRatings, false},
    {"csv", RatingsFormat::kCsv, kRatingsKind, kAnyRatings, false},
    {"movielens-100k", RatingsFormat::kMovieLens100K, kRatingsKind, {"u.data", "", ""}, false},
    {"movielens-1m", RatingsFormat::kMovieLensDat, kRatingsKind, kRatingsDat, false},
    {"movielens-10m", RatingsFormat::kMovieLensDat, kRatingsKind, kRatingsDat, false},
    {"movielens-20m", RatingsFormat::kCsv, kRatingsKind, kRatingsCsv, false},
    {"movielens-25m", RatingsFormat::kCsv, kRatingsKind, kRatingsCsv, false},
    {"movielens-32m", RatingsFormat::kCsv, kRatingsKind, kRatingsCsv, false},
    {"movielens-latest-small", RatingsFormat::kCsv, kRatingsKind, kRatingsCsv, false},
    {"movielens-latest", RatingsFormat::kCsv, kRatingsKind, kRatingsCsv, false},
    {"amazon-ratings", LogFormat::kAmazonRatings, "an Amazon ratings CSV file", kNoFiles, false},
    {"amazon-ratings-2014", LogFormat::kAmazonRatings2014, "an Amazon ratings CSV file", kNoFiles,
     false},
    {"amazon-reviews", LogFormat::kAmazonReviews, "an Amazon reviews JSON lines file", kNoFiles,
     false},
    {"retailrocket", LogFormat::kRetailRocket, "a RetailRocket events file", kEventsCsv, false},
    {"netflix", LogFormat::kNetflix, "a Netflix Prize ratings file", kNetflixFiles, true},
    {"yoochoose", LogFormat::kYoochoose, "a Yoochoose clicks or buys file", kYoochooseFiles, true},
    {"lastfm-1k", LogFormat::kLastFm1K, "a Last.fm 1K listening log", kLastFmFiles, false},
}};

bool Matches(std::string_view pattern, std::string_view file) {
  const size_t star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == file;
  return file.size() >= pattern.size() - 1 && file.starts_with(pattern.substr(0, star)) &&
         file.ends_with(pattern.substr(star + 1));
}

// "a", "a or b", "a, b or c".
std::string JoinOr(const std::array<std::string_view, 3>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && !names[i].empty(); ++i) {
    const bool last = i + 1 == names.size() || names[i + 1].empty();
    if (i > 0) out += last ? " or " : ", ";
    out += names[i];
  }
  return out;
}

// The files of `pattern` in `dir`, appended to *out in name order.
Status AddMatches(const std::filesystem::path& dir, std::string_view pattern,
                  std::vector<std::string>* out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (pattern.find('*') == std::string_view::npos) {
    const fs::path p = dir / pattern;
    if (fs::is_regular_file(p, ec)) out->push_back(p.string());
    return Status::OK();
  }
  std::vector<std::string> found;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (Matches(pattern, it->path().filename().string()) && it->is_regular_file(ec)) {
      found.push_back(it->path().string());
    }
  }
  if (ec) return Status::IOError(fmt::format("cannot list '{}': {}", dir.string(), ec.message()));
  std::sort(found.begin(), found.end());
  out->insert(out->end(), std::make_move_iterator(found.begin()),
              std::make_move_iterator(found.end()));
  return Status::OK();
}

// What to read for `path`: itself, or for a directory the data set's files.
StatusOr<std::vector<std::string>> InputFiles(const ImportSpec& spec, const std::string& path) {
  std::error_code ec;
  if (spec.files[0].empty() || !std::filesystem::is_directory(path, ec)) {
    return std::vector<std::string>{path};
  }
  std::vector<std::string> files;
  for (std::string_view pattern : spec.files) {
    if (pattern.empty() || (!spec.all_files && !files.empty())) break;
    STREAMREC_RETURN_IF_ERROR(AddMatches(path, pattern, &files));
  }
  if (files.empty()) {
    return Status::NotFound(fmt::format("no {} in '{}'", JoinOr(spec.files), path));
  }
  return files;
}

}  // namespace

const std::vector<std::string_view>& ImportFormats() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> v;
    for (const ImportSpec& spec : kImportSpecs) v.push_back(spec.name);
    return v;
  }();
  return names;
}

StatusOr<std::vector<EventRecord>> ImportPath(std::string_view format, const std::string& path) {
  const auto spec = std::find_if(kImportSpecs.begin(), kImportSpecs.end(),
                                 [&](const ImportSpec& s) { return s.name == format; });
  if (spec == kImportSpecs.end()) {
    return Status::InvalidArgument(fmt::format("unknown format '{}' (known: {})", Shown(format),
                                               fmt::join(ImportFormats(), ", ")));
  }
  StatusOr<std::vector<std::string>> files = InputFiles(*spec, path);
  if (!files.ok()) return files.status();
  std::vector<EventRecord> events;
  for (const std::string& file : *files) {
    std::ifstream in;
    STREAMREC_RETURN_IF_ERROR(text::OpenInput(file, spec->kind, &in));
    if (const auto* ratings = std::get_if<RatingsFormat>(&spec->parser)) {
      // A ratings format reads one file (all_files is false for them).
      StatusOr<std::vector<EventRecord>> read = ParseRatings(in, file, *ratings);
      if (!read.ok()) return read.status();
      events = std::move(read).value();
    } else {
      STREAMREC_RETURN_IF_ERROR(ParseLog(in, file, std::get<LogFormat>(spec->parser), &events));
    }
  }
  return events;
}

}  // namespace streamrec::tools
