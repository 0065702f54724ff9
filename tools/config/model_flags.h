// Command-line flags for the model and its training, shared by the
// subcommands that train (eval, demo). Defaults come from the engine's
// option structs, so the CLI never drifts from the library.
#pragma once

#include <boost/program_options.hpp>
#include <string>

#include "engine/core/status.h"
#include "engine/eval/evaluation.h"

namespace streamrec::tools {

struct ModelFlags {
  std::string algorithm = "als";
  engine::EvalOptions options;
};

// Registers --algo, --rank, --epochs, --lr, --reg, ... bound to `flags`.
void AddModelFlags(boost::program_options::options_description* desc, ModelFlags* flags);

// Scans argv for --config FILE (or --config=FILE) and, if present, loads it
// into `flags` so that the flags registered afterwards default to the
// file's values and the command line overrides them. Empty path: none.
Status ApplyConfigFromArgs(int argc, const char* const* argv, ModelFlags* flags,
                           std::string* config_path);

// Checks ranges and resolves the algorithm name into flags->options.
Status FinishModelFlags(ModelFlags* flags);

}  // namespace streamrec::tools
