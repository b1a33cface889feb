// The read-only `spatial model` commands: list, info, latest, test, history
// and environments. Each reads an opened registry and prints text or JSON;
// none changes the registry (`test` reads the store too). Stateless;
// thread-safe as far as the registry is.
#ifndef SPATIAL_CLI_MODEL_QUERY_H_
#define SPATIAL_CLI_MODEL_QUERY_H_

#include "cli/command.h"
#include "cli/model_flags.h"
#include "cli/registry_context.h"

namespace spatial::cli {

// Each returns kExitOk, or for `test` kExitFailed when an artifact is missing
// or altered; an error Status when the registry cannot answer.
CommandResult RunList(const ModelFlags& f, RegistryContext& ctx);
CommandResult RunInfo(const ModelFlags& f, RegistryContext& ctx);
CommandResult RunLatest(const ModelFlags& f, RegistryContext& ctx);
CommandResult RunTest(const ModelFlags& f, RegistryContext& ctx);
CommandResult RunHistory(const ModelFlags& f, RegistryContext& ctx);
CommandResult RunEnvironments(const ModelFlags& f, RegistryContext& ctx);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_MODEL_QUERY_H_
