// The `streamrec` subcommands. Each takes the arguments after its name and
// returns the process exit code: 0 success, 1 a runtime failure, 2 bad usage
// or bad input (with a message on stderr).
#pragma once

namespace streamrec::tools {

int RunImport(int argc, const char* const* argv);
int RunDatasets(int argc, const char* const* argv);
int RunEval(int argc, const char* const* argv);
int RunBench(int argc, const char* const* argv);
int RunDemo(int argc, const char* const* argv);
int RunGenerate(int argc, const char* const* argv);
int RunLog(int argc, const char* const* argv);
int RunReplay(int argc, const char* const* argv);
int RunServe(int argc, const char* const* argv);

}  // namespace streamrec::tools
