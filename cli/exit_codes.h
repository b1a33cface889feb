// Every exit code of `spatial`, and the one mapping from a Status to an exit
// code. Pure; thread-safe.
//
// The process helpers in src/ have codes of their own that are not ours to
// choose: 126 / 127 from a child that could not run (the shell's convention),
// and src/pipeline's run verdict, which says 130 for an interrupted run as
// kExitInterrupted does here.
#ifndef SPATIAL_CLI_EXIT_CODES_H_
#define SPATIAL_CLI_EXIT_CODES_H_

#include "absl/status/status.h"

namespace spatial::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // a refused operation or a failed check
constexpr int kExitUsage = 2;   // bad flags or arguments
// `spatial bench`: a threshold was crossed (k6's exit code for it).
constexpr int kExitThresholdFailed = 99;
// `spatial envtest` stopped by SIGINT or SIGTERM (128 + SIGINT, as a shell
// reports a child killed by Ctrl-C).
constexpr int kExitInterrupted = 130;

// InvalidArgument is a usage error (2); every other error is a refusal (1);
// unless the command pinned another code with WithExitCode.
int ExitCodeFor(const absl::Status& s);

// `s` exiting with `code` whatever its canonical code says: for an error that
// is the outcome of a command rather than a mistake in its use (a report that
// could not be written fails the run: exit 1, even when the path was bad).
absl::Status WithExitCode(absl::Status s, int code);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_EXIT_CODES_H_
