// Wires the concrete registry for a CLI command: resolves where the registry
// and the store live (flag, environment variable, default), opens the adapter,
// loads the environments on first use and fills in the actor and host facts.
#ifndef SPATIAL_CLI_REGISTRY_CONTEXT_H_
#define SPATIAL_CLI_REGISTRY_CONTEXT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "src/registry/registry.h"
#include "src/registry/registry_service.h"

namespace spatial::cli {

// Flags shared by every command that touches the registry.
struct RegistryFlags {
  std::string
      registry;  // --registry; "" = $SPATIAL_REGISTRY, else var/registry.db
  std::string store;        // --store; "" = "store" beside a SQLite registry
  std::string config;       // --config; "" = $SPATIAL_CONFIG,
                            // config/environments.json, built-in
  std::string actor;        // --actor; "" = $SPATIAL_ACTOR, else the OS user
  bool must_exist = false;  // a missing SQLite file is NotFound, not created
};

struct RegistryContext {
  std::unique_ptr<registry::Registry> registry;
  std::unique_ptr<registry::RegistryService> service;
  std::string actor;
  std::string location;  // for messages, no secrets
};

absl::StatusOr<RegistryContext> OpenRegistryContext(const RegistryFlags& flags);

// Where the flags (or their defaults) put the registry and its store, without
// opening anything. InvalidArgument for a PostgreSQL registry without --store.
struct RegistryLocation {
  std::string location;  // as given: a path, sqlite:PATH or a URL
  std::string store;
};
absl::StatusOr<RegistryLocation> ResolveRegistryLocation(
    const RegistryFlags& flags);

// Opens the registry at `location`: a postgresql:// or postgres:// URL,
// sqlite:PATH or a plain path. Loads no environments. With `create` false a
// missing SQLite file is NotFound rather than a new, empty registry.
absl::StatusOr<std::unique_ptr<registry::Registry>> OpenRegistry(
    std::string location, bool create);

// The environments file: --config, $SPATIAL_CONFIG, ./config/environments.json,
// else the copy built into the binary.
absl::StatusOr<std::vector<registry::Environment>> LoadEnvironments(
    const std::string& config_flag);

// What this host offers for the GPU rule (NVML when a driver is installed).
registry::HostFacts ProbeHost();

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_REGISTRY_CONTEXT_H_
