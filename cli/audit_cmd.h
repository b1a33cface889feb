// `spatial audit list` and `spatial audit verify`: read the registry's
// hash-chained audit log and check that it is intact.
#ifndef SPATIAL_CLI_AUDIT_CMD_H_
#define SPATIAL_CLI_AUDIT_CMD_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace spatial::cli {

// Adds the `audit` subcommand tree to `app`; `*action` is set after parsing.
void AddAuditCommand(CLI::App& app, std::function<int()>* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_AUDIT_CMD_H_
