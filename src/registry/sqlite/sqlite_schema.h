// The SQLite registry's schema: the migrations that build it, and running
// them on open. Internal to src/registry/sqlite/; the caller holds the
// connection's mutex.
#ifndef SPATIAL_REGISTRY_SQLITE_SQLITE_SCHEMA_H_
#define SPATIAL_REGISTRY_SQLITE_SQLITE_SCHEMA_H_

#include <sqlite3.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace spatial::registry::sqlite {

// "SPDR": marks the file as a spatial-deploy registry (PRAGMA application_id).
inline constexpr int32_t kApplicationId = 0x53504452;

// Brings the schema of the database at `path` (for messages) to `target`
// in one write transaction: creates it in an empty file, migrates an older
// one. FailedPrecondition for another application's database or a newer
// schema; DataLoss when schema_version is empty.
absl::Status MigrateSchema(sqlite3* db, absl::string_view path, int target);

}  // namespace spatial::registry::sqlite

#endif  // SPATIAL_REGISTRY_SQLITE_SQLITE_SCHEMA_H_
