// `spatial completion bash|man`: a bash completion script and a man page,
// both generated from the command tree itself (every subcommand and flag
// `--help` lists), so that neither can fall behind the binary.
#ifndef SPATIAL_CLI_COMPLETION_CMD_H_
#define SPATIAL_CLI_COMPLETION_CMD_H_

#include <string>

#include "CLI/CLI.hpp"
#include "cli/command.h"

namespace spatial::cli {

// Adds `completion` to `app`; add it last. `app` must outlive the action.
void AddCompletionCommand(CLI::App& app, CommandAction* action);

// The bash completion script for the tree under `app` (complete -F).
std::string BashCompletion(const CLI::App& app);
// A man page (roff, section 1) for the tree under `app`.
std::string ManPage(const CLI::App& app);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_COMPLETION_CMD_H_
