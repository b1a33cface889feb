// `spatial model ...`: the registry commands. Flags -> requests -> the
// RegistryService; output as text or JSON; errors go back to the shell
// (cli/command.h), which prints and maps them.
#ifndef SPATIAL_CLI_MODEL_CMD_H_
#define SPATIAL_CLI_MODEL_CMD_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace spatial::cli {

// Adds the `model` subcommand tree to `app`. After parsing, `*action` holds
// the function to run (it returns the exit code).
void AddModelCommand(CLI::App& app, CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_MODEL_CMD_H_
