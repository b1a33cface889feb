// `spatial check`: the deployment checks (the seed's
// enhanced_spatial_deployment_tests with its flags).
#ifndef SPATIAL_CLI_CHECK_CMD_H_
#define SPATIAL_CLI_CHECK_CMD_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace spatial::cli {

void AddCheckCommand(CLI::App& app, CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_CHECK_CMD_H_
