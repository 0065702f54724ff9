#include "tools/commands/synthetic_flags.h"

#include <boost/program_options.hpp>

namespace streamrec::tools {

namespace po = boost::program_options;

void AddSyntheticFlags(po::options_description* desc, SyntheticOptions* s) {
  desc->add_options()("users", po::value(&s->users)->default_value(s->users), "number of users")(
      "items", po::value(&s->items)->default_value(s->items), "number of items")(
      "events", po::value(&s->events)->default_value(s->events), "number of events")(
      "clusters", po::value(&s->clusters)->default_value(s->clusters), "item clusters (tastes)")(
      "data-seed", po::value(&s->seed)->default_value(s->seed), "seed of the stream");
}

}  // namespace streamrec::tools
