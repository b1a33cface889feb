// The one place that turns a registry location into a Registry: SQLite or
// PostgreSQL by the location's kind. Used by the CLI, backup and restore (the
// pipeline only passes locations on to `spatial model`). Loads no
// environments. Holds no state; thread-safe. The Registry it returns is owned
// by the caller.
#ifndef SPATIAL_REGISTRY_OPEN_REGISTRY_OPEN_H_
#define SPATIAL_REGISTRY_OPEN_REGISTRY_OPEN_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/registry/registry.h"
#include "src/registry/registry_location.h"

namespace spatial::registry {

// Opens the registry at `where`. With `create` a missing SQLite file is made
// (and its directory); without, it is NotFound ("no registry at PATH").
absl::StatusOr<std::unique_ptr<Registry>> OpenRegistry(
    const RegistryLocation& where, bool create);

// The same for a location not yet parsed (ParseRegistryLocation's errors).
absl::StatusOr<std::unique_ptr<Registry>> OpenRegistry(
    absl::string_view location, bool create);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_OPEN_REGISTRY_OPEN_H_
