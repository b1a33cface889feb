// `spatial model backup` and `spatial model restore`: a consistent snapshot of
// a registry (SQLite's online backup API, or pg_dump for PostgreSQL) and the
// artifact blobs it references, in one file (backup_file.h), verified after
// writing; and its all-or-nothing restore, verified after restoring with the
// checks of `spatial model test` and `spatial audit verify`. Functions are
// thread-compatible (each call works on its own files and connections).
#ifndef SPATIAL_REGISTRY_BACKUP_BACKUP_H_
#define SPATIAL_REGISTRY_BACKUP_BACKUP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "src/registry/artifact_store.h"
#include "src/registry/registry.h"

namespace spatial::registry::backup {

struct BackupOptions {
  std::string registry;  // as ParseRegistryLocation reads it
  std::string store_root;
  std::string out_path;
  bool include_artifacts = true;  // false: --no-artifacts (manifest only)
  std::string spatial_version;
  std::string pg_bin_dir = "/usr/bin";  // pg_dump, psql
};

struct BackupSummary {
  std::string source_kind;
  std::vector<std::string> version_ids;  // in the registry part
  int64_t blobs = 0;                     // manifest entries
  int64_t blob_bytes = 0;                // their total size
  bool artifacts = true;                 // blob bytes included
  int64_t file_bytes = 0;                // size of the backup file
  int64_t audit_records = 0;  // chain verified (PostgreSQL: counted only)
  double seconds = 0;
};

// Writes the backup to a temp name beside out_path, fsyncs, renames it into
// place and verifies the result (VerifyBackup). The registry must exist
// (NotFound otherwise); a store blob that is missing or altered fails the
// backup (DataLoss) rather than producing one that cannot be restored.
absl::StatusOr<BackupSummary> CreateBackup(const BackupOptions& options);

// Reopens a backup and checks it whole: every blob against its sha256, the
// registry part against its own; a SQLite registry part must open, list its
// versions (each file in the manifest) and have an intact audit chain; a
// pg_dump must be complete, with every artifact_files digest in the manifest
// (its chain is verified when restored). Changes nothing.
absl::StatusOr<BackupSummary> VerifyBackup(const std::string& path);

struct RestoreOptions {
  std::string backup_path;
  std::string registry;  // the target, as ParseRegistryLocation reads it
  std::string store_root;
  bool force = false;  // replace a registry that has versions
  std::string pg_bin_dir = "/usr/bin";
};

struct RestoreSummary {
  std::string source_kind;
  std::vector<std::string> version_ids;
  int64_t blobs_written = 0;  // new in the store
  int64_t blobs_present = 0;  // already there, intact
  int64_t audit_records = 0;
  double seconds = 0;
};

// Checks the whole backup first, then puts its blobs into the store, then
// replaces the registry at once (SQLite: a temp file beside it renamed over
// it; PostgreSQL: psql --single-transaction). FailedPrecondition, with
// nothing changed, when the target has versions and `force` is false, when
// the backup is of the other kind of registry, or when a manifest-only
// backup's blobs are not in the store; DataLoss for a damaged backup.
absl::StatusOr<RestoreSummary> RestoreBackup(const RestoreOptions& options);

struct RegistryCheck {
  std::vector<std::string> version_ids;
  int64_t audit_records = 0;
};
// What `spatial model test` and `spatial audit verify` check: every file of
// every version present in `store` with its checksum, the audit chain intact
// and every row and its audit record pointing at each other. DataLoss naming
// the first problem.
absl::StatusOr<RegistryCheck> CheckRegistry(Registry& registry,
                                            const ArtifactStore& store);

}  // namespace spatial::registry::backup

#endif  // SPATIAL_REGISTRY_BACKUP_BACKUP_H_
