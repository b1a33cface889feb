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
#include <utility>
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
  std::string store;   // --store; "" = "store" beside a SQLite registry
  std::string config;  // --config; "" = $SPATIAL_CONFIG,
                       // config/environments.json, built-in
  std::string actor;   // --actor; "" = $SPATIAL_ACTOR, else the OS user
  // A missing SQLite file is NotFound (naming it and how to make one), not
  // created. Set by every command that reads one (see CreatesRegistry for
  // the model subcommands that create one).
  bool must_exist = false;
  // --no-registry (serve, check, envtest): no registry, whatever
  // $SPATIAL_REGISTRY says.
  bool no_registry = false;
  // No "registry: ..." line on stderr (AnnounceRegistry): set with --json,
  // whose readers may merge stderr into what they parse.
  bool quiet = false;
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

// --registry, else $SPATIAL_REGISTRY; "" when neither names one (or with
// --no-registry).
std::string RegistryFlagOrEnvironment(const RegistryFlags& flags);

// Where a registry location came from, for the line that says so.
enum class RegistrySource { kNone, kFlag, kEnvironment, kDefault };

// "--registry", "$SPATIAL_REGISTRY", "the default" or "--no-registry".
const char* RegistrySourceName(RegistrySource source);

// --registry, else $SPATIAL_REGISTRY (unless --no-registry); kNone and ""
// when neither names one.
std::pair<std::string, RegistrySource> RegistryFlagOrEnvironmentSource(
    const RegistryFlags& flags);

// Prints, once per process, on stderr, "registry: LOCATION (from SOURCE)"
// for a registry the user did not name on the command line (from
// $SPATIAL_REGISTRY or the default): the one line that tells a user which
// registry a command reads or changes. `masked` carries no password. Nothing
// for kFlag (the user wrote it) or kNone.
void AnnounceRegistry(const std::string& masked, RegistrySource source);

// Whether the `spatial model` subcommand `name` may create a registry that
// does not exist yet (init, register, import); every other one refuses.
bool CreatesRegistry(const std::string& name);

// InvalidArgument (a usage error, exit 2) when `name` is not an environment
// of `reg`, naming the known ones and the closest; OK for "".
absl::Status RequireEnvironment(registry::Registry& reg,
                                const std::string& name);

// Where the flags (or their defaults) put the registry and its store, without
// opening anything; says where it came from (AnnounceRegistry). InvalidArgument
// for a location ParseRegistryLocation refuses and for a PostgreSQL registry
// without --store.
struct ResolvedRegistry {
  std::string given;                    // as written: a path, sqlite:PATH, URL
  registry::RegistryLocation location;  // `given`, parsed
  std::string store;
  RegistrySource source = RegistrySource::kDefault;
};
absl::StatusOr<ResolvedRegistry> ResolveRegistryLocation(
    const RegistryFlags& flags);

// Opens the registry `where` names; with `must_exist`, a SQLite file that
// does not exist is NotFound naming the path, where it came from and how to
// create one (nothing is created).
absl::StatusOr<std::unique_ptr<registry::Registry>> OpenResolvedRegistry(
    const ResolvedRegistry& where, bool must_exist);

// The environments file: --config, $SPATIAL_CONFIG, ./config/environments.json,
// else the copy built into the binary.
absl::StatusOr<std::vector<registry::Environment>> LoadEnvironments(
    const std::string& config_flag);

// What this host offers for the GPU rule (NVML when a driver is installed).
registry::HostFacts ProbeHost();

// The parts of the inference stack a registry command may call: the ONNX
// reader (`model register` records a graph's compatibility) and the measurer
// (`model validate` runs the model). `spatial-full`, the binary that links
// the inference stack, sets them in main() before any command runs; the light
// `spatial` leaves them empty and hands the commands that need them to
// spatial-full (cli/dispatch.h), so that no command it runs itself loads
// OpenCV, protobuf or libonnx. Not thread-safe: set once, before threads.
struct EngineHooks {
  registry::RegistryService::Inspector inspector;
  decltype(registry::RegistryService::Options::measure) measure;
};
void SetEngineHooks(EngineHooks hooks);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_REGISTRY_CONTEXT_H_
