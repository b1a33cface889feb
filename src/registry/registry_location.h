// Where a registry lives, parsed once: the one reading of a --registry value
// (or $SPATIAL_REGISTRY) for the CLI, backup, restore and the pipeline. Owns
// no connection and opens nothing (registry_open.h does that). Pure functions
// on values; thread-safe.
#ifndef SPATIAL_REGISTRY_REGISTRY_LOCATION_H_
#define SPATIAL_REGISTRY_REGISTRY_LOCATION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace spatial::registry {

enum class RegistryKind { kSqlite, kPostgres };

// "sqlite" or "postgresql", as backup files and messages name the kinds.
absl::string_view KindName(RegistryKind kind);

struct RegistryLocation {
  RegistryKind kind = RegistryKind::kSqlite;
  // kSqlite: the database file ("sqlite:" removed; may be ":memory:").
  std::string path;
  // kPostgres: the libpq URL as given, password included. Never print it:
  // print `masked`.
  std::string url;
  // For messages and reports: the SQLite path, or the URL with every
  // password masked (base::RedactLocation).
  std::string masked;

  bool is_sqlite() const { return kind == RegistryKind::kSqlite; }
  bool is_postgres() const { return kind == RegistryKind::kPostgres; }
  bool operator==(const RegistryLocation& o) const {
    return kind == o.kind && path == o.path && url == o.url;
  }
};

// Reads `location`: "postgresql://..." or "postgres://..." (libpq's two URI
// schemes) is PostgreSQL; "sqlite:PATH" and any other text are a SQLite file
// path. InvalidArgument, naming the accepted forms, for an empty location, an
// empty "sqlite:", a "postgres:"/"postgresql:" that lacks "//", and a URL of
// another scheme ("mysql://...") that would otherwise become a file path.
absl::StatusOr<RegistryLocation> ParseRegistryLocation(
    absl::string_view location);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_REGISTRY_LOCATION_H_
