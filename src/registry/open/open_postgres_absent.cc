// OpenPostgresRegistry in a program linked without the PostgreSQL client
// (the light `spatial`); see open_postgres.h.
#include "absl/strings/str_cat.h"
#include "src/registry/open/open_postgres.h"

namespace spatial::registry {

absl::StatusOr<std::unique_ptr<Registry>> OpenPostgresRegistry(
    const RegistryLocation& where) {
  return absl::UnimplementedError(absl::StrCat(
      "this program is linked without the PostgreSQL client and cannot open ",
      where.masked, "; run the same command with spatial-full"));
}

}  // namespace spatial::registry
