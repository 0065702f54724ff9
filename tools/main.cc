// streamrec: the command-line entry point. Dispatches to one subcommand.
#include <fmt/format.h>

#include <cstring>
#include <string_view>

#include "storage/memory_release.h"
#include "tools/commands/commands.h"

namespace {

constexpr const char* kUsage = R"(streamrec: a real-time recommendation engine

usage: streamrec <command> [options]    (streamrec <command> --help for its options)

commands:
  serve     run the engine as an HTTP service (recommendations, ingest, admin)
  import    convert a public data set (MovieLens, Amazon, Netflix...) into an event file
  datasets  the public data sets import reads: size, license, where to get them
  eval      train offline and report RMSE/MAE and ranking metrics (folds or a split)
  bench     measure the learner, top-N, the log, and the server over HTTP
  generate  write a synthetic event stream with planted structure (fixed seed)
  demo      offline demo: generate, train, evaluate, print sample recommendations
  log       inspect, load or check a database: stats, dump (JSON lines), append, verify
  replay    rebuild the model from a database's log; snapshot or evaluate it
)";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    // Asked for help: stdout, success. No command at all: a usage error.
    fmt::print(argc < 2 ? stderr : stdout, "{}", kUsage);
    return argc < 2 ? 2 : 0;
  }
  // Before any thread starts: the thresholds every heap will follow.
  (void)streamrec::storage::SetHeapPolicy();
  const std::string_view cmd = argv[1];
  // Subcommands parse argv[1..]: their own name is argv[0] for them.
  const int sub_argc = argc - 1;
  const char* const* sub_argv = argv + 1;
  using namespace streamrec::tools;
  if (cmd == "serve") return RunServe(sub_argc, sub_argv);
  if (cmd == "import") return RunImport(sub_argc, sub_argv);
  if (cmd == "datasets") return RunDatasets(sub_argc, sub_argv);
  if (cmd == "eval") return RunEval(sub_argc, sub_argv);
  if (cmd == "bench") return RunBench(sub_argc, sub_argv);
  if (cmd == "generate") return RunGenerate(sub_argc, sub_argv);
  if (cmd == "demo") return RunDemo(sub_argc, sub_argv);
  if (cmd == "log") return RunLog(sub_argc, sub_argv);
  if (cmd == "replay") return RunReplay(sub_argc, sub_argv);
  fmt::print(stderr, "streamrec: unknown command '{}'\n\n{}", cmd, kUsage);
  return 2;
}
