// Runs the PostgreSQL client tools (pg_dump, psql) for backup and restore
// through base::Subprocess (no shell): stdin from /dev/null, stdout to a file
// only its owner may read, stderr captured for the error message.
// Thread-safe.
#ifndef SPATIAL_REGISTRY_BACKUP_TOOL_RUN_H_
#define SPATIAL_REGISTRY_BACKUP_TOOL_RUN_H_

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace spatial::registry::backup {

// Runs argv (argv[0] a path) with stdin from /dev/null and stdout written to
// `stdout_path` ("" = /dev/null). OK when it exits 0; otherwise Internal
// (Unavailable when the tool cannot be started) naming `what`, the exit code
// and the last lines of its stderr.
absl::Status RunTool(const std::vector<std::string>& argv,
                     const std::string& stdout_path, const std::string& what);

}  // namespace spatial::registry::backup

#endif  // SPATIAL_REGISTRY_BACKUP_TOOL_RUN_H_
