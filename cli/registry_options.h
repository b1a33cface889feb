// The registry flags (--registry, --store, --config, --actor) for commands
// outside `spatial model` that open the registry (keys, audit).
#ifndef SPATIAL_CLI_REGISTRY_OPTIONS_H_
#define SPATIAL_CLI_REGISTRY_OPTIONS_H_

#include "CLI/CLI.hpp"
#include "cli/registry_context.h"

namespace spatial::cli {

inline void AddRegistryOptions(CLI::App& app, RegistryFlags& flags) {
  app.add_option("--registry", flags.registry,
                 "Registry: a SQLite path, sqlite:PATH or "
                 "postgresql://USER@HOST/DB (default $SPATIAL_REGISTRY, else "
                 "var/registry.db)");
  app.add_option("--store", flags.store,
                 "Artifact store directory (default: 'store' beside a SQLite "
                 "registry; required with PostgreSQL)");
  app.add_option("--config", flags.config,
                 "Environments file loaded on first use (default "
                 "$SPATIAL_CONFIG, else config/environments.json, else built "
                 "in)");
  app.add_option("--actor", flags.actor,
                 "Who is acting, for the audit log (default $SPATIAL_ACTOR, "
                 "else the OS user)");
}

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_REGISTRY_OPTIONS_H_
