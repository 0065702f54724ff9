// What every subcommand does with its argv and its errors: parse the flags
// (printing --help), word Boost.Program_options errors safely, and map a
// Status to the exit code (commands.h: 0 success, 1 a runtime failure, 2
// bad usage or bad input). Messages go to stderr as
// "streamrec <command>: <message>".
//
// Thread-safety: free functions; they write to stdout/stderr.
#pragma once

#include <fmt/format.h>

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/status.h"

namespace streamrec::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // a runtime failure
inline constexpr int kExitUsage = 2;    // bad usage or bad input

// A flag bound to *target whose default is the value *target holds, shown
// in --help as people write it ("0.1", where Boost's own text for a float
// is "0.100000001").
template <class T>
boost::program_options::typed_value<T>* Defaulted(T* target) {
  return boost::program_options::value(target)->default_value(*target, fmt::format("{}", *target));
}

// Prints "streamrec <command>: <message>"; returns kExitUsage.
int Usage(std::string_view command, std::string_view message);

// Prints "streamrec <command>: <message>"; returns kExitFailure.
int Failure(std::string_view command, std::string_view message);

// Prints `st` as Usage does; returns kExitUsage for InvalidArgument (bad
// input: malformed data, bad flag values) and kExitFailure for anything
// else (I/O, corruption, a failed training run).
int Fail(std::string_view command, const Status& st);

// The message of a Boost.Program_options error, as what() words it but
// safe on user text. what() fills its template's placeholders
// ("the argument ('%value%') for option '%canonical_option%' ...") by
// replacing each until none is left, so a value, option name or config line
// that itself holds a placeholder never finishes (or is reworded): `serve
// --config` hung on such a file (found by the config fuzz target). Here the
// template is filled in one pass and the user's text is escaped
// (text::Shown: non-printable bytes, at most 40 of them).
std::string ProgramOptionsMessage(const boost::program_options::error& e);

// Parses argv (argv[0] is the command's name, as main passes it) against
// `options` and `positional` (may be null) into *vm and runs the notifiers.
// Returns the exit code to stop with: kExitUsage after printing the error,
// kExitOk after printing `options` to stdout for --help (when `options`
// has "help"); nullopt to go on.
std::optional<int> ParseCommandLine(
    std::string_view command, int argc, const char* const* argv,
    const boost::program_options::options_description& options,
    const boost::program_options::positional_options_description* positional,
    boost::program_options::variables_map* vm);

}  // namespace streamrec::tools
