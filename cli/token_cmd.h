// `spatial token add`: makes a bearer token for the server's management API.
#ifndef SPATIAL_CLI_TOKEN_CMD_H_
#define SPATIAL_CLI_TOKEN_CMD_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace spatial::cli {

void AddTokenCommand(CLI::App& app, std::function<int()>* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_TOKEN_CMD_H_
