// `streamrec datasets [--json]`: the public interaction data sets `import`
// reads, with size, license terms, where to get them and the import
// command (tools/data/public_datasets.h). Downloads nothing.
#include <fmt/format.h>

#include <boost/json.hpp>
#include <boost/program_options.hpp>
#include <cstdio>
#include <optional>
#include <string>

#include "tools/cli/command_line.h"
#include "tools/commands/commands.h"
#include "tools/data/public_datasets.h"

namespace streamrec::tools {
namespace {

namespace po = boost::program_options;
namespace json = boost::json;

constexpr std::string_view kDatasets = "datasets";

// Returns the exit code to stop with, or nullopt to go on.
std::optional<int> ParseDatasets(int argc, const char* const* argv, bool* as_json) {
  po::options_description desc(
      "streamrec datasets: the public interaction data sets streamrec imports, with their size,\n"
      "license terms, where to get them and the import command. Read each data set's own terms\n"
      "before use; none is downloaded or redistributed by streamrec.\n\n"
      "  streamrec datasets\n"
      "  streamrec datasets --json\n\nOptions");
  desc.add_options()("help,h", "show this help")(
      "json", po::bool_switch(as_json), "a JSON array, one object per data set, instead of text");
  po::variables_map vm;
  return ParseCommandLine(kDatasets, argc, argv, desc, nullptr, &vm);
}

json::array DatasetsJson() {
  json::array out;
  for (const PublicDataset& d : PublicDatasets()) {
    out.push_back(json::object{{"name", d.name},
                               {"title", d.title},
                               {"size", d.size},
                               {"events", d.events},
                               {"license", d.license},
                               {"url", d.url},
                               {"import", ImportCommand(d)}});
  }
  return out;
}

void PrintDatasets() {
  fmt::print(
      "Public data sets `streamrec import FORMAT PATH --out FILE` reads (FORMAT is the name "
      "before the colon).\nSummaries, not legal advice: read each one's terms before use.\n");
  for (const PublicDataset& d : PublicDatasets()) {
    fmt::print("\n{}: {}\n", d.name, d.title);
    fmt::print("  size     {}\n  events   {}\n  license  {}\n  get      {}\n  import   {}\n",
               d.size, d.events, d.license, d.url, ImportCommand(d));
  }
}

}  // namespace

int RunDatasets(int argc, const char* const* argv) {
  bool as_json = false;
  if (auto rc = ParseDatasets(argc, argv, &as_json)) return *rc;
  if (as_json) {
    fmt::print("{}\n", json::serialize(DatasetsJson()));
  } else {
    PrintDatasets();
  }
  if (std::fflush(stdout) != 0) return Failure(kDatasets, "cannot write to standard output");
  return kExitOk;
}

}  // namespace streamrec::tools
