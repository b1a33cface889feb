// `spatial check`: the deployment checks (the seed's
// enhanced_spatial_deployment_tests with its flags).
#ifndef SPATIAL_CLI_CHECK_CMD_H_
#define SPATIAL_CLI_CHECK_CMD_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace spatial::cli {

void AddCheckCommand(CLI::App& app, std::function<int()>* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_CHECK_CMD_H_
