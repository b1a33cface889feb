// `spatial token add`: makes a bearer token for the server's management API.
#ifndef SPATIAL_CLI_TOKEN_CMD_H_
#define SPATIAL_CLI_TOKEN_CMD_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace spatial::cli {

void AddTokenCommand(CLI::App& app, CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_TOKEN_CMD_H_
