#include "tools/commands/synthetic_flags.h"

#include <boost/program_options.hpp>

#include "tools/cli/command_line.h"

namespace streamrec::tools {

namespace po = boost::program_options;

void AddSyntheticFlags(po::options_description* desc, SyntheticOptions* s) {
  desc->add_options()("users", Defaulted(&s->users), "number of users")(
      "items", Defaulted(&s->items), "number of items")(
      "events", Defaulted(&s->events), "number of events")("clusters", Defaulted(&s->clusters),
                                                           "item clusters (tastes)")(
      "data-seed", Defaulted(&s->seed), "seed of the stream");
}

}  // namespace streamrec::tools
