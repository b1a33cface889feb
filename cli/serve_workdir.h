// Where `spatial serve` unpacks registry versions: $TMPDIR/spatial-serve-PID,
// removed at a clean stop. A server killed with SIGKILL cannot clean up, so
// each start first removes the directories of servers that are gone.
#ifndef SPATIAL_CLI_SERVE_WORKDIR_H_
#define SPATIAL_CLI_SERVE_WORKDIR_H_

#include <string>
#include <vector>

namespace spatial::cli {

// Removes every `spatial-serve-PID` directory in `parent` whose process no
// longer exists (a live PID, ours or another's, is left alone; so is anything
// else). Returns the paths removed. Errors are ignored: this is tidying.
std::vector<std::string> SweepStaleServeDirs(const std::string& parent);

// The work directory of this process (not created), after sweeping stale ones
// beside it.
std::string ServeWorkDir();

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_SERVE_WORKDIR_H_
