// Helpers shared by backup.cc and restore.cc; not part of the interface.
// Thread-compatible (each call works on its own files).
#ifndef SPATIAL_REGISTRY_BACKUP_BACKUP_INTERNAL_H_
#define SPATIAL_REGISTRY_BACKUP_BACKUP_INTERNAL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "src/registry/sqlite/sqlite_registry.h"

namespace spatial::registry::backup::internal {

// A fresh name beside `path`: PATH.SUFFIX-PID-RANDOM.
std::string TempBeside(const std::string& path, const std::string& suffix);

// Removes a SQLite file and its -wal, -shm and -journal companions.
void RemoveSqliteFiles(const std::string& path);

// Writes a registry image to `path` (fsynced, `mode`) and opens it as a
// registry.
absl::StatusOr<std::unique_ptr<SqliteRegistry>> OpenImage(
    const std::string& image, const std::string& path, int mode = 0600);

}  // namespace spatial::registry::backup::internal

#endif  // SPATIAL_REGISTRY_BACKUP_BACKUP_INTERNAL_H_
