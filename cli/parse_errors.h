// What `spatial` prints for an error of its command line (CLI11's parse
// errors), in the shape of every other error: "error: MESSAGE" with, for a
// mistyped command, the closest command names (base::DidYouMean, as the
// server's errors have it), and where the usage of the command reached is.
// Pure; thread-safe for a command tree nobody changes.
#ifndef SPATIAL_CLI_PARSE_ERRORS_H_
#define SPATIAL_CLI_PARSE_ERRORS_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace spatial::cli {

struct ParseErrorText {
  std::string message;  // without "error: "
  std::string command;  // the deepest command reached, e.g. "spatial model"
};

// The message for `error` (CLI11's `what`) of parsing `args` (without the
// program name) against `app`. A word where a subcommand was expected that
// names none becomes "unknown command 'WORD' for 'PATH' (did you mean: ...?)"
// when one is close.
ParseErrorText DescribeParseError(const CLI::App& app,
                                  const std::vector<std::string>& args,
                                  const std::string& error);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_PARSE_ERRORS_H_
