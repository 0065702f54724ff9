// The flags of the synthetic stream, shared by `generate` and `demo`.
//
// Thread-safety: a free function.
#pragma once

#include <boost/program_options/options_description.hpp>

#include "tools/data/synthetic.h"

namespace streamrec::tools {

// Adds --users, --items, --events, --clusters and --data-seed, read into *s
// (whose values are the defaults shown in --help).
void AddSyntheticFlags(boost::program_options::options_description* desc, SyntheticOptions* s);

}  // namespace streamrec::tools
