// `spatial console`: serves the operator console (src/serving/console) and
// the management API over a registry, without loading a model, until SIGTERM
// or SIGINT.
#ifndef SPATIAL_CLI_CONSOLE_CMD_H_
#define SPATIAL_CLI_CONSOLE_CMD_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace spatial::cli {

void AddConsoleCommand(CLI::App& app, CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_CONSOLE_CMD_H_
