#include "tools/cli/command_line.h"

#include <fmt/format.h>

#include <iostream>
#include <map>
#include <utility>

#include "tools/text/text_parse.h"

namespace streamrec::tools {

namespace po = boost::program_options;

namespace {

// Reads the parts of an error_with_option_name that what() fills its
// template from; they are protected, and this class is never constructed.
struct ErrorParts : po::error_with_option_name {
  static const std::map<std::string, std::string>& Substitutions(
      const po::error_with_option_name& e) {
    return e.*(&ErrorParts::m_substitutions);
  }
  static const std::map<std::string, std::pair<std::string, std::string>>& Defaults(
      const po::error_with_option_name& e) {
    return e.*(&ErrorParts::m_substitution_defaults);
  }
  static std::string Prefix(const po::error_with_option_name& e) {
    return (e.*(&ErrorParts::get_canonical_option_prefix))();
  }
};

// What error_with_option_name::substitute_placeholders does, without
// looking at the text it has put in: the defaults (an absent value's
// phrase, e.g. "option '%canonical_option%'" -> "option") are applied to
// the template, which is Boost's own text; then each %name% of the result
// is replaced once, left to right.
std::string FillTemplate(const po::error_with_option_name& e) {
  std::map<std::string, std::string> values = ErrorParts::Substitutions(e);
  values["canonical_option"] = e.get_option_name();
  values["prefix"] = ErrorParts::Prefix(e);
  std::string message = e.m_error_template;
  for (const auto& [name, phrase] : ErrorParts::Defaults(e)) {
    const auto it = values.find(name);
    if (it != values.end() && !it->second.empty()) continue;
    const auto& [from, to] = phrase;
    if (from.empty()) continue;
    for (size_t p = message.find(from); p != std::string::npos; p = message.find(from, p)) {
      message.replace(p, from.size(), to);
      p += to.size();
    }
  }
  std::string out;
  size_t i = 0;
  while (i < message.size()) {
    const size_t end = message[i] == '%' ? message.find('%', i + 1) : std::string::npos;
    if (end != std::string::npos) {
      const auto it = values.find(message.substr(i + 1, end - i - 1));
      if (it != values.end()) {
        // The prefix ("--", "-") is Boost's; everything else may be the user's.
        out += it->first == "prefix" ? it->second : text::Shown(it->second);
        i = end + 1;
        continue;
      }
    }
    out += message[i++];
  }
  return out;
}

}  // namespace

int Usage(std::string_view command, std::string_view message) {
  fmt::print(stderr, "streamrec {}: {}\n", command, message);
  return kExitUsage;
}

int Failure(std::string_view command, std::string_view message) {
  fmt::print(stderr, "streamrec {}: {}\n", command, message);
  return kExitFailure;
}

int Fail(std::string_view command, const Status& st) {
  fmt::print(stderr, "streamrec {}: {}\n", command, st.message());
  return st.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

std::string ProgramOptionsMessage(const po::error& e) {
  const auto* named = dynamic_cast<const po::error_with_option_name*>(&e);
  if (named == nullptr) return e.what();  // no placeholders
  return FillTemplate(*named);
}

std::optional<int> ParseCommandLine(std::string_view command, int argc, const char* const* argv,
                                    const po::options_description& options,
                                    const po::positional_options_description* positional,
                                    po::variables_map* vm) {
  try {
    po::command_line_parser parser(argc, argv);
    parser.options(options);
    if (positional != nullptr) parser.positional(*positional);
    po::store(parser.run(), *vm);
    po::notify(*vm);
  } catch (const po::error& e) {
    return Usage(command, ProgramOptionsMessage(e));
  }
  if (vm->count("help") > 0) {
    std::cout << options << "\n";
    return kExitOk;
  }
  return std::nullopt;
}

}  // namespace streamrec::tools
