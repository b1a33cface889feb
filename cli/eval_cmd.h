// `spatial eval`: accuracy, per-class precision/recall/F1, confusion matrix
// and per-image latency of a model bundle on a labelled folder.
#ifndef SPATIAL_CLI_EVAL_CMD_H_
#define SPATIAL_CLI_EVAL_CMD_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace spatial::cli {

void AddEvalCommand(CLI::App& app, CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_EVAL_CMD_H_
