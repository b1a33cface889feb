// `spatial model backup --out FILE` and `spatial model restore FILE`: thin
// wiring of src/registry/backup/backup.h to the model command's registry
// flags.
#ifndef SPATIAL_CLI_BACKUP_CMD_H_
#define SPATIAL_CLI_BACKUP_CMD_H_

#include <memory>

#include "CLI/CLI.hpp"
#include "cli/command.h"
#include "cli/registry_context.h"

namespace spatial::cli {

// Adds `backup` and `restore` under `model`, using the model command's
// registry flags `reg` (filled by parsing).
void AddBackupCommands(CLI::App& model, std::shared_ptr<RegistryFlags> reg,
                       CommandAction* action);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_BACKUP_CMD_H_
