// ProgramOptionsMessage (tools/cli/command_line.h): Boost's own wording for
// ordinary errors, and a clean message, escaped and never looping, when
// the user's text holds one of Boost's placeholders.
#include "tools/cli/command_line.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace streamrec::tools {
namespace {

namespace po = boost::program_options;

// Parses `args` against a few typical flags; the message of the error
// thrown, or "" if none was.
std::string ErrorOf(std::vector<const char*> args, bool use_what) {
  int n = 0;
  std::string s;
  po::options_description d;
  d.add_options()("count", po::value(&n))("name", po::value(&s))("flag", po::bool_switch())(
      "need", po::value<int>()->required());
  args.insert(args.begin(), "cmd");
  try {
    po::variables_map vm;
    po::store(po::command_line_parser(static_cast<int>(args.size()), args.data()).options(d).run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return use_what ? e.what() : ProgramOptionsMessage(e);
  }
  return "";
}

TEST(ProgramOptionsMessageTest, OrdinaryErrorsKeepBoostsWording) {
  const std::vector<std::vector<const char*>> cases = {
      {"--no-such", "--need", "1"},                   // unrecognised option
      {"--count", "x", "--need", "1"},                // invalid value
      {"--need", "1", "--count"},                     // missing argument
      {"--name", "a", "--name", "b", "--need", "1"},  // given twice
      {"--count", "1"},                               // required option missing
  };
  for (const auto& args : cases) {
    const std::string want = ErrorOf(args, /*use_what=*/true);
    ASSERT_NE(want, "") << args.back();
    EXPECT_EQ(ErrorOf(args, /*use_what=*/false), want);
  }
}

TEST(ProgramOptionsMessageTest, PlaceholdersInUserTextAreShownAsWritten) {
  EXPECT_EQ(ErrorOf({"--%canonical_option%", "--need", "1"}, false),
            "unrecognised option '--%canonical_option%'");
  EXPECT_EQ(ErrorOf({"--count", "%canonical_option%%value%", "--need", "1"}, false),
            "the argument ('%canonical_option%%value%') for option '--count' is invalid");
  EXPECT_EQ(ErrorOf({"--count", "\x1b[2J", "--need", "1"}, false),
            "the argument ('\\x1b[2J') for option '--count' is invalid");
}

}  // namespace
}  // namespace streamrec::tools
