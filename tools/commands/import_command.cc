// `streamrec import movielens|csv <path> --out FILE`: converts public rating
// data into a streamrec event file.
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tools/cli/command_line.h"
#include "tools/commands/commands.h"
#include "tools/data/dataset.h"
#include "tools/data/event_file.h"
#include "tools/data/importers.h"

namespace streamrec::tools {
namespace {

namespace po = boost::program_options;

constexpr std::string_view kImport = "import";

struct ImportFlags {
  std::string format;  // movielens | csv
  std::string path;    // a file, or a MovieLens directory
  std::string out;     // event file, "-" for stdout
};

// Returns the exit code to stop with, or nullopt to go on.
std::optional<int> ParseImport(int argc, const char* const* argv, ImportFlags* f) {
  po::options_description desc(
      "streamrec import: convert ratings into a streamrec event file\n\n"
      "  streamrec import movielens ../shared/data/ml-100k --out ml100k.events\n"
      "  streamrec import movielens ml-1m/ratings.dat --out ml1m.events\n"
      "  streamrec import csv ratings.csv --out ratings.events   (header names the columns)\n"
      "\nWith --out -, the events go to standard output.\n\nOptions");
  desc.add_options()("help,h", "show this help")("format", po::value(&f->format),
                                                 "movielens | csv")(
      "path", po::value(&f->path),
      "a file, or a MovieLens directory (u.data / ratings.dat / "
      "ratings.csv inside)")("out,o", po::value(&f->out), "event file to write ('-' for stdout)");
  po::positional_options_description pos;
  pos.add("format", 1).add("path", 1);
  po::variables_map vm;
  return ParseCommandLine(kImport, argc, argv, desc, &pos, &vm);
}

Status ValidateImport(const ImportFlags& f) {
  if (f.format != "movielens" && f.format != "csv") {
    return Status::InvalidArgument(
        fmt::format("format must be 'movielens' or 'csv', got '{}'", f.format));
  }
  if (f.path.empty()) return Status::InvalidArgument("a path to import is required");
  if (f.out.empty()) return Status::InvalidArgument("--out is required ('-' for standard output)");
  return Status::OK();
}

// movielens: u.data, ratings.dat or (20M+) ratings.csv, told apart by
// their content; csv: strictly a CSV with a header naming the columns.
StatusOr<std::vector<EventRecord>> ReadImport(const ImportFlags& f) {
  std::string file = f.path;
  std::error_code ec;
  if (std::filesystem::is_directory(f.path, ec)) {
    StatusOr<std::string> found = FindRatingsFile(f.path);
    if (!found.ok()) return found.status();
    file = *found;
  }
  return ReadRatingsFile(file, f.format == "csv" ? RatingsFormat::kCsv : RatingsFormat::kAuto);
}

// Distinct users and items of `events`.
std::pair<size_t, size_t> CountIds(const std::vector<EventRecord>& events) {
  engine::IdMap u, i;
  for (const auto& e : events) {
    u.GetOrAdd(e.user);
    i.GetOrAdd(e.item);
  }
  return {u.size(), i.size()};
}

int ExecuteImport(const ImportFlags& f) {
  StatusOr<std::vector<EventRecord>> events = ReadImport(f);
  // Unreadable input, whatever the error, is bad input (exit 2).
  if (!events.ok()) return Usage(kImport, events.status().message());
  Status st = f.out == "-" ? WriteEventFile(*events, std::cout) : WriteEventFile(*events, f.out);
  if (!st.ok()) return Failure(kImport, st.message());
  const auto [users, items] = CountIds(*events);
  fmt::print(stderr, "imported {} events ({} users, {} items) from {} into {}\n", events->size(),
             users, items, f.path, f.out);
  return kExitOk;
}

}  // namespace

int RunImport(int argc, const char* const* argv) {
  ImportFlags f;
  if (auto rc = ParseImport(argc, argv, &f)) return *rc;
  if (Status st = ValidateImport(f); !st.ok()) return Fail(kImport, st);
  return ExecuteImport(f);
}

}  // namespace streamrec::tools
