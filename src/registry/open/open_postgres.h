// The PostgreSQL half of the registry opener (registry_open.h), in a file of
// its own so that a program can be linked without the PostgreSQL client:
// spatial_registry_open links open_postgres.cc (libpqxx, libpq and with
// them Kerberos, LDAP and GnuTLS: about 25 libraries the loader maps at
// every start), spatial_registry_open_sqlite links open_postgres_absent.cc.
// The light `spatial` (cli/main.cc) links the latter and hands a command
// that names a PostgreSQL registry to spatial-full before it gets here.
// Functions only; thread-safe.
#ifndef SPATIAL_REGISTRY_OPEN_OPEN_POSTGRES_H_
#define SPATIAL_REGISTRY_OPEN_OPEN_POSTGRES_H_

#include <memory>

#include "absl/status/statusor.h"
#include "src/registry/registry.h"
#include "src/registry/registry_location.h"

namespace spatial::registry {

// Opens the PostgreSQL registry at `where` (is_postgres()).
absl::StatusOr<std::unique_ptr<Registry>> OpenPostgresRegistry(
    const RegistryLocation& where);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_OPEN_OPEN_POSTGRES_H_
