// Where `spatial serve` copies the bundles and registry versions it loads: a
// private directory $TMPDIR/spatial-serve-PID-XXXXXX made by mkdtemp (mode
// 0700; its name cannot be guessed or created first by another local user),
// removed at a clean stop. A server killed with SIGKILL cannot clean up, so
// each start first removes the directories of servers that are gone.
#ifndef SPATIAL_CLI_SERVE_WORKDIR_H_
#define SPATIAL_CLI_SERVE_WORKDIR_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spatial::cli {

// Removes every `spatial-serve-PID` or `spatial-serve-PID-SUFFIX` directory
// in `parent` whose process no longer exists. Left alone: a live PID (ours
// or another's), a symbolic link, anything not a directory, and any directory
// owned by another user. Returns the paths removed. Errors are ignored: this
// is tidying.
std::vector<std::string> SweepStaleServeDirs(const std::string& parent);

// Makes this process's private work directory in `parent` ("" = $TMPDIR,
// else /tmp), after sweeping stale ones beside it.
absl::StatusOr<std::string> MakeServeWorkDir(const std::string& parent = "");

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_SERVE_WORKDIR_H_
