// `spatial model ...`: the registry commands. Flags -> requests -> the
// RegistryService; output as text or JSON; status -> exit code.
#ifndef SPATIAL_CLI_MODEL_CMD_H_
#define SPATIAL_CLI_MODEL_CMD_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace spatial::cli {

// Adds the `model` subcommand tree to `app`. After parsing, `*action` holds
// the function to run (it returns the exit code).
void AddModelCommand(CLI::App& app, std::function<int()>* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_MODEL_CMD_H_
