// The registry flags (--registry, --store, --config, --actor), declared and
// worded once for every command that takes them: `spatial model`, keys,
// audit, check, serve and `pipeline run`. What the values mean (and the one
// read of $SPATIAL_REGISTRY) is in registry_context.h. Declaration only, at
// start-up; not thread-safe (CLI11 apps are not).
#ifndef SPATIAL_CLI_REGISTRY_OPTIONS_H_
#define SPATIAL_CLI_REGISTRY_OPTIONS_H_

#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "cli/registry_context.h"

namespace spatial::cli {

// --registry. `purpose` starts the help line; `fallback` says what is used
// when neither the flag nor $SPATIAL_REGISTRY names a registry.
inline CLI::Option* AddRegistryFlag(
    CLI::App& app, std::string& registry,
    absl::string_view purpose = "Registry",
    absl::string_view fallback = "var/registry.db") {
  return app
      .add_option(
          "--registry", registry,
          absl::StrCat(
              purpose,
              ": a SQLite path, sqlite:PATH or postgresql://USER@HOST/DB "
              "(password from ~/.pgpass or PGPASSFILE; default "
              "$SPATIAL_REGISTRY, else ",
              fallback, "; a registry not named here is shown on stderr)"))
      // "" would silently mean "the variable, else the default": refuse it.
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            if (!value.empty()) return "";
            return "an empty --registry names no registry: leave the flag out "
                   "for $SPATIAL_REGISTRY or the default, or give "
                   "--no-registry where a registry is optional (serve, check, "
                   "envtest)";
          },
          "", "not empty"));
}

// --no-registry, for the commands whose registry is optional (serve, check,
// envtest): none, whatever $SPATIAL_REGISTRY says.
inline CLI::Option* AddNoRegistryFlag(CLI::App& app, bool& no_registry,
                                      CLI::Option* registry_flag) {
  CLI::Option* o =
      app.add_flag("--no-registry", no_registry,
                   "Use no registry, even when $SPATIAL_REGISTRY is set");
  if (registry_flag != nullptr) o->excludes(registry_flag);
  return o;
}

// --store.
inline CLI::Option* AddStoreFlag(CLI::App& app, std::string& store) {
  return app.add_option("--store", store,
                        "Artifact store directory (default $SPATIAL_STORE, "
                        "else 'store' beside a SQLite registry; required with "
                        "PostgreSQL)");
}

// --config.
inline CLI::Option* AddConfigFlag(CLI::App& app, std::string& config) {
  return app.add_option("--config", config,
                        "Environments file loaded on first use (default "
                        "$SPATIAL_CONFIG, else config/environments.json, else "
                        "built in)");
}

// All four, into `flags`.
inline void AddRegistryOptions(CLI::App& app, RegistryFlags& flags) {
  AddRegistryFlag(app, flags.registry);
  AddStoreFlag(app, flags.store);
  AddConfigFlag(app, flags.config);
  app.add_option("--actor", flags.actor,
                 "Who is acting, for the history and the audit log (default "
                 "$SPATIAL_ACTOR, else the OS user)");
}

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_REGISTRY_OPTIONS_H_
