// `spatial serve`: runs pizza-api-spatial until SIGTERM or SIGINT (SIGHUP
// re-reads the registry). Flags -> ServeConfig (cli/serve_config.h) ->
// ServeStack (cli/serve_wiring.h) -> the signal loop (serve_cmd.cc).
#ifndef SPATIAL_CLI_SERVE_CMD_H_
#define SPATIAL_CLI_SERVE_CMD_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace spatial::cli {

void AddServeCommand(CLI::App& app, CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_SERVE_CMD_H_
