// `streamrec generate`: writes a synthetic event stream with planted
// structure (tools/data/synthetic.h), deterministic for a seed.
#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <iostream>
#include <optional>
#include <string>

#include "tools/cli/command_line.h"
#include "tools/commands/commands.h"
#include "tools/commands/synthetic_flags.h"
#include "tools/data/event_file.h"
#include "tools/data/synthetic.h"

namespace streamrec::tools {
namespace {

namespace po = boost::program_options;

constexpr std::string_view kGenerate = "generate";

struct GenerateFlags {
  SyntheticOptions stream;
  std::string out;  // event file, "-" for stdout
};

// Returns the exit code to stop with, or nullopt to go on.
std::optional<int> ParseGenerate(int argc, const char* const* argv, GenerateFlags* f) {
  po::options_description desc(
      "streamrec generate: write a synthetic event stream (deterministic for a seed)\n\n"
      "  streamrec generate --events 100000 --out demo.events\n\nOptions");
  desc.add_options()("help,h", "show this help")("out,o", po::value(&f->out),
                                                 "event file ('-': stdout)");
  AddSyntheticFlags(&desc, &f->stream);
  po::variables_map vm;
  return ParseCommandLine(kGenerate, argc, argv, desc, nullptr, &vm);
}

std::optional<int> ValidateGenerate(const GenerateFlags& f) {
  if (f.out.empty()) return Usage(kGenerate, "--out is required");
  if (f.stream.users == 0 || f.stream.items == 0 || f.stream.clusters == 0) {
    return Usage(kGenerate, "--users, --items and --clusters must be >= 1");
  }
  return std::nullopt;
}

}  // namespace

int RunGenerate(int argc, const char* const* argv) {
  GenerateFlags f;
  if (auto rc = ParseGenerate(argc, argv, &f)) return *rc;
  if (auto rc = ValidateGenerate(f)) return *rc;
  const auto events = GenerateSynthetic(f.stream);
  const Status st =
      f.out == "-" ? WriteEventFile(events, std::cout) : WriteEventFile(events, f.out);
  // Writing is the only thing that can fail: a runtime failure, exit 1.
  if (!st.ok()) return Failure(kGenerate, st.message());
  return kExitOk;
}

}  // namespace streamrec::tools
