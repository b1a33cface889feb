// `spatial data render` (procedural pizza images) and `spatial data tensors`
// (the C++ preprocessing written as .npy for training).
#ifndef SPATIAL_CLI_DATA_CMD_H_
#define SPATIAL_CLI_DATA_CMD_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace spatial::cli {

void AddDataCommand(CLI::App& app, std::function<int()>* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_DATA_CMD_H_
