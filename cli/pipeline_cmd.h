// `spatial pipeline run`: the seed's 8-stage deployment pipeline.
#ifndef SPATIAL_CLI_PIPELINE_CMD_H_
#define SPATIAL_CLI_PIPELINE_CMD_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace spatial::cli {

void AddPipelineCommand(CLI::App& app, CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_PIPELINE_CMD_H_
