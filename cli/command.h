// The shell every `spatial` command runs in, as git's and MLflow's are: a
// command's action returns an exit code (kExitOk, or another one from
// cli/exit_codes.h for a failed check) or an error Status, and main() hands
// that result to Finish(), the one place that prints an error and maps it to
// an exit code. Errors print as "error: MESSAGE" on stderr, the message
// escaped for the terminal (it often quotes what a user or a file supplied).
// Stateless; as thread-safe as std::cerr.
#ifndef SPATIAL_CLI_COMMAND_H_
#define SPATIAL_CLI_COMMAND_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cli/exit_codes.h"

namespace spatial::cli {

// What a command returns: an exit code, or the error that ended it.
using CommandResult = absl::StatusOr<int>;
// What a subcommand's parse callback leaves for main() to run.
using CommandAction = std::function<CommandResult()>;

// kExitOk for OK, else the error itself: for commands that return a Status.
CommandResult ResultOf(const absl::Status& s);

// `s` with "CONTEXT: " before its message; same code, same pinned exit code.
absl::Status WithContext(absl::string_view context, const absl::Status& s);

// Prints `s` as Finish does, for an error a command reports and then goes on
// (a report that could not be written, a server that would not stop).
void PrintError(const absl::Status& s);
void PrintError(absl::string_view message);

// The exit code of `result`, its error printed with PrintError.
int Finish(const CommandResult& result);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_COMMAND_H_
