// `spatial model status`: one view of what is deployed where. Per
// environment: the active version, when, by whom and how it became active
// (from the deployment history, which the audit log records), its
// validation for that environment and the state of its signature (checked
// against the environment's trusted keys where one is required). Reads
// only; stateless; thread-safe as far as the registry is. Also `model init`,
// the command that makes the empty registry the read commands require.
#ifndef SPATIAL_CLI_MODEL_STATUS_H_
#define SPATIAL_CLI_MODEL_STATUS_H_

#include "CLI/CLI.hpp"
#include "cli/command.h"
#include "cli/model_flags.h"
#include "cli/registry_context.h"

namespace spatial::cli {

// `spatial model init`: creates the registry (and its store's directory) if
// it does not exist and loads the environments into it; says what it holds.
// Idempotent: an existing registry is left as it is.
CommandResult RunInit(const ModelFlags& f, RegistryContext& ctx);

// Prints the table (or with --json an array, one object per environment);
// kExitOk, or the error that kept the registry from answering.
CommandResult RunStatus(const ModelFlags& f, RegistryContext& ctx);

// The status subcommand's own flags (--environment, --json) on `status`.
void AddStatusCommand(CLI::App* status, ModelFlags& f);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_MODEL_STATUS_H_
