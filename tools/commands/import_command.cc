// `streamrec import FORMAT PATH --out FILE`: converts a public data set
// (tools/data/public_datasets.h; `streamrec datasets` lists them) or a
// ratings CSV into a streamrec event file.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
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
  std::string format;  // movielens | csv | a data set's format (ImportFormats())
  std::string path;    // a file, or a directory as the data set unpacks
  std::string out;     // event file, "-" for stdout
};

// The data sets' formats: ImportFormats() after movielens and csv.
std::span<const std::string_view> DatasetFormats() {
  return std::span<const std::string_view>(ImportFormats()).subspan(2);
}

// The data sets' formats for --help, comma-separated, wrapped and indented.
std::string WrappedDatasetFormats() {
  std::string out = "  ";
  size_t line_start = 0;
  for (std::string_view name : DatasetFormats()) {
    if (out.size() > 2) out += ",";
    if (out.size() - line_start + name.size() + 2 > 80) {
      line_start = out.size() + 1;
      out += "\n  ";
    } else if (out.size() > 2) {
      out += " ";
    }
    out += name;
  }
  return out;
}

// Returns the exit code to stop with, or nullopt to go on.
std::optional<int> ParseImport(int argc, const char* const* argv, ImportFlags* f) {
  const std::string intro = fmt::format(
      "streamrec import: convert a public data set or ratings into a streamrec event file\n\n"
      "  streamrec import movielens ../shared/data/ml-100k --out ml100k.events\n"
      "  streamrec import movielens ml-1m/ratings.dat --out ml1m.events\n"
      "  streamrec import csv ratings.csv --out ratings.events   (header names the columns)\n"
      "  streamrec import retailrocket events.csv --out retailrocket.events\n"
      "  streamrec import netflix netflix-prize-data --out netflix.events\n"
      "\nFORMAT is movielens (u.data, ratings.dat or ratings.csv, told apart by content), csv,\n"
      "or a data set's own format (`streamrec datasets` says what each is, its license and\n"
      "where to get it):\n{}\n\nWith --out -, the events go to standard output.\n\nOptions",
      WrappedDatasetFormats());
  po::options_description desc(intro);
  desc.add_options()("help,h", "show this help")("format", po::value(&f->format),
                                                 "movielens | csv | a data set's format")(
      "path", po::value(&f->path),
      "a file, or a directory as the data set unpacks (ml-100k, ml-1m, the Netflix "
      "training_set, ...)")("out,o", po::value(&f->out), "event file to write ('-' for stdout)");
  po::positional_options_description pos;
  pos.add("format", 1).add("path", 1);
  po::variables_map vm;
  return ParseCommandLine(kImport, argc, argv, desc, &pos, &vm);
}

Status ValidateImport(const ImportFlags& f) {
  const std::vector<std::string_view>& known = ImportFormats();
  if (std::find(known.begin(), known.end(), f.format) == known.end()) {
    return Status::InvalidArgument(fmt::format(
        "format must be 'movielens' or 'csv', got '{}' (or a data set's: {}; see `streamrec "
        "datasets`)",
        f.format, fmt::join(DatasetFormats(), ", ")));
  }
  if (f.path.empty()) return Status::InvalidArgument("a path to import is required");
  if (f.out.empty()) return Status::InvalidArgument("--out is required ('-' for standard output)");
  return Status::OK();
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
  StatusOr<std::vector<EventRecord>> events = ImportPath(f.format, f.path);
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
