// `spatial audit list`, `verify` and `checkpoint`: read the registry's
// hash-chained audit log, check it (cli/audit_check.h) and sign checkpoints.
#ifndef SPATIAL_CLI_AUDIT_CMD_H_
#define SPATIAL_CLI_AUDIT_CMD_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace spatial::cli {

// Adds the `audit` subcommand tree to `app`; `*action` is set after parsing.
void AddAuditCommand(CLI::App& app, std::function<int()>* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_AUDIT_CMD_H_
