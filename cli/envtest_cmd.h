// `spatial envtest`: starts a real `spatial serve` per environment on
// loopback, runs the API, classification and performance checks against that
// environment's thresholds, writes a JSON report (and JUnit XML), stops what
// it started, also on failure or SIGINT/SIGTERM. Exit 0 all passed, 1 a
// check failed or erred, 2 usage, 130 interrupted (cli/exit_codes.h).
#ifndef SPATIAL_CLI_ENVTEST_CMD_H_
#define SPATIAL_CLI_ENVTEST_CMD_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace spatial::cli {

void AddEnvtestCommand(CLI::App& app, CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_ENVTEST_CMD_H_
