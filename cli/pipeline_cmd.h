// `spatial pipeline run`: the seed's 8-stage deployment pipeline.
#ifndef SPATIAL_CLI_PIPELINE_CMD_H_
#define SPATIAL_CLI_PIPELINE_CMD_H_

#include <functional>

#include "CLI/CLI.hpp"

namespace spatial::cli {

void AddPipelineCommand(CLI::App& app, std::function<int()>* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_PIPELINE_CMD_H_
