// `spatial serve`: runs pizza-api-spatial.
#ifndef SPATIAL_CLI_SERVE_CMD_H_
#define SPATIAL_CLI_SERVE_CMD_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace spatial::cli {

void AddServeCommand(CLI::App& app, std::function<int()>* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_SERVE_CMD_H_
