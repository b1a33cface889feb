// OpenPostgresRegistry with the PostgreSQL adapter; see open_postgres.h.
#include "src/registry/open/open_postgres.h"

#include <utility>

#include "src/base/status_macros.h"
#include "src/registry/postgres/postgres_registry.h"

namespace spatial::registry {

absl::StatusOr<std::unique_ptr<Registry>> OpenPostgresRegistry(
    const RegistryLocation& where) {
  ASSIGN_OR_RETURN(auto reg, PostgresRegistry::Open({.url = where.url}));
  return std::unique_ptr<Registry>(std::move(reg));
}

}  // namespace spatial::registry
