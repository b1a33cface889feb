// Wires the concrete registry for a CLI command: resolves where the registry
// and the store live (flag, environment variable, default), opens it through
// the one registry opener (src/registry/open), loads the environments on first
// use and fills in the actor and host facts. Functions only (they read the
// process environment); thread-compatible. A RegistryContext owns its
// registry and service.
#ifndef SPATIAL_CLI_REGISTRY_CONTEXT_H_
#define SPATIAL_CLI_REGISTRY_CONTEXT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/registry/registry.h"
#include "src/registry/registry_location.h"
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

// $SPATIAL_REGISTRY, the one place it is read: nullopt when unset (set but
// empty is "").
std::optional<std::string> RegistryFromEnvironment();

// --registry, else $SPATIAL_REGISTRY; "" when neither names one.
std::string RegistryFlagOrEnvironment(const RegistryFlags& flags);

// Where the flags (or their defaults) put the registry and its store, without
// opening anything. InvalidArgument for a location ParseRegistryLocation
// refuses and for a PostgreSQL registry without --store.
struct ResolvedRegistry {
  std::string given;                    // as written: a path, sqlite:PATH, URL
  registry::RegistryLocation location;  // `given`, parsed
  std::string store;
};
absl::StatusOr<ResolvedRegistry> ResolveRegistryLocation(
    const RegistryFlags& flags);

// The environments file: --config, $SPATIAL_CONFIG, ./config/environments.json,
// else the copy built into the binary.
absl::StatusOr<std::vector<registry::Environment>> LoadEnvironments(
    const std::string& config_flag);

// What this host offers for the GPU rule (NVML when a driver is installed).
registry::HostFacts ProbeHost();

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_REGISTRY_CONTEXT_H_
