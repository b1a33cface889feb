// `spatial audit list`, `verify` and `checkpoint`: read the registry's
// hash-chained audit log, check it (cli/audit_check.h) and sign checkpoints.
#ifndef SPATIAL_CLI_AUDIT_CMD_H_
#define SPATIAL_CLI_AUDIT_CMD_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace spatial::cli {

// Adds the `audit` subcommand tree to `app`; `*action` is set after parsing.
void AddAuditCommand(CLI::App& app, CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_AUDIT_CMD_H_
