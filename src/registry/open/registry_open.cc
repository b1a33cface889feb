// Location -> adapter dispatch; see registry_open.h. Stateless, thread-safe.
#include "src/registry/open/registry_open.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/registry/open/open_postgres.h"
#include "src/registry/sqlite/sqlite_registry.h"

namespace spatial::registry {

absl::StatusOr<std::unique_ptr<Registry>> OpenRegistry(
    const RegistryLocation& where, bool create) {
  if (where.is_postgres()) return OpenPostgresRegistry(where);
  std::error_code ec;
  if (!create && !std::filesystem::exists(where.path, ec)) {
    return absl::NotFoundError(absl::StrCat("no registry at ", where.path));
  }
  if (create) RETURN_IF_ERROR(base::MakeDirs(base::DirName(where.path)));
  ASSIGN_OR_RETURN(
      auto reg, SqliteRegistry::Open({.path = where.path, .create = create}));
  return std::unique_ptr<Registry>(std::move(reg));
}

absl::StatusOr<std::unique_ptr<Registry>> OpenRegistry(
    absl::string_view location, bool create) {
  ASSIGN_OR_RETURN(RegistryLocation where, ParseRegistryLocation(location));
  return OpenRegistry(where, create);
}

}  // namespace spatial::registry
