// `spatial keys ...`: generate a signing key pair; trust or untrust a public
// key in an environment; list the trusted keys. Key material is read from
// files only and never printed.
#ifndef SPATIAL_CLI_KEYS_CMD_H_
#define SPATIAL_CLI_KEYS_CMD_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace spatial::cli {

// Adds the `keys` subcommand tree to `app`; `*action` is set after parsing.
void AddKeysCommand(CLI::App& app, CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_KEYS_CMD_H_
