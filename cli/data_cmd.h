// `spatial data render` (procedural pizza images) and `spatial data tensors`
// (the C++ preprocessing written as .npy for training).
#ifndef SPATIAL_CLI_DATA_CMD_H_
#define SPATIAL_CLI_DATA_CMD_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace spatial::cli {

void AddDataCommand(CLI::App& app, CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_DATA_CMD_H_
