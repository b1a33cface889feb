// `spatial model sign` and `spatial model verify`: sign a registered version
// (the envelope goes into the registry) or a bundle directory (PATH/model.sig),
// and verify either against a public key.
#ifndef SPATIAL_CLI_SIGN_CMD_H_
#define SPATIAL_CLI_SIGN_CMD_H_

#include <memory>

#include "CLI/CLI.hpp"
#include "cli/command.h"
#include "cli/registry_context.h"

namespace spatial::cli {

// Adds `sign` and `verify` under `model`, using the model command's registry
// flags `reg` (filled by parsing).
void AddSignCommands(CLI::App& model, std::shared_ptr<RegistryFlags> reg,
                     CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_SIGN_CMD_H_
