// `streamrec import movielens|csv <path> --out FILE`: converts public rating
// data into a streamrec event file.
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>

#include "tools/cli/command_line.h"
#include "tools/commands/commands.h"
#include "tools/data/dataset.h"
#include "tools/data/event_file.h"
#include "tools/data/importers.h"

namespace streamrec::tools {

namespace po = boost::program_options;

int RunImport(int argc, const char* const* argv) {
  std::string format, path, out;
  po::options_description desc(
      "streamrec import: convert ratings into a streamrec event file\n\n"
      "  streamrec import movielens ../shared/data/ml-100k --out ml100k.events\n"
      "  streamrec import movielens ml-1m/ratings.dat --out ml1m.events\n"
      "  streamrec import csv ratings.csv --out ratings.events   (header names the columns)\n"
      "\nWith --out -, the events go to standard output.\n\nOptions");
  desc.add_options()("help,h", "show this help")("format", po::value(&format), "movielens | csv")(
      "path", po::value(&path),
      "a file, or a MovieLens directory (u.data / ratings.dat / "
      "ratings.csv inside)")("out,o", po::value(&out), "event file to write ('-' for stdout)");
  po::positional_options_description pos;
  pos.add("format", 1).add("path", 1);
  po::variables_map vm;
  if (auto rc = ParseCommandLine("import", argc, argv, desc, &pos, &vm)) return *rc;
  auto fail = [](const std::string& msg) {
    fmt::print(stderr, "streamrec import: {}\n", msg);
    return 2;
  };
  if (format != "movielens" && format != "csv") {
    return fail(fmt::format("format must be 'movielens' or 'csv', got '{}'", format));
  }
  if (path.empty()) return fail("a path to import is required");
  if (out.empty()) return fail("--out is required ('-' for standard output)");
  // movielens: u.data, ratings.dat or (20M+) ratings.csv, told apart by
  // their content; csv: strictly a CSV with a header naming the columns.
  std::string file = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    StatusOr<std::string> found = FindRatingsFile(path);
    if (!found.ok()) return fail(found.status().message());
    file = *found;
  }
  StatusOr<std::vector<EventRecord>> events =
      ReadRatingsFile(file, format == "csv" ? RatingsFormat::kCsv : RatingsFormat::kAuto);
  if (!events.ok()) return fail(events.status().message());
  Status st = out == "-" ? WriteEventFile(*events, std::cout) : WriteEventFile(*events, out);
  if (!st.ok()) {
    fmt::print(stderr, "streamrec import: {}\n", st.message());
    return 1;
  }
  size_t users = 0, items = 0;
  {
    engine::IdMap u, i;
    for (const auto& e : *events) {
      u.GetOrAdd(e.user);
      i.GetOrAdd(e.item);
    }
    users = u.size();
    items = i.size();
  }
  fmt::print(stderr, "imported {} events ({} users, {} items) from {} into {}\n", events->size(),
             users, items, path, out);
  return 0;
}

}  // namespace streamrec::tools
