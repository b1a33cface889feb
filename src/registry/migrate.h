// Copying a registry whole from one store to another (SQLite to PostgreSQL
// when a team outgrows one machine, or back): environments, versions,
// validations, signatures and the full deployment history (not the audit
// log: the target's own chain starts with the import), in one transaction on
// the target, then read back and compared. Works on the Registry interface
// only; as thread-safe as the registries given. Writers to `from` should be
// stopped while it runs: it reads `from` with several calls, and the check
// compares the target with what it read.
#ifndef SPATIAL_REGISTRY_MIGRATE_H_
#define SPATIAL_REGISTRY_MIGRATE_H_

#include "absl/status/statusor.h"
#include "src/registry/registry.h"

namespace spatial::registry {

struct MigrationSummary {
  int environments = 0;
  int versions = 0;
  int validations = 0;
  int deployments = 0;
};

// Copies `from` into `to` and verifies the copy. FailedPrecondition (and
// nothing written) when `to` already holds versions or history: a migration
// never merges two registries. DataLoss naming the first difference when the
// copy does not read back equal (it stays written: the message says so).
// Artifacts are not copied: both registries name files by sha256 in the
// store the team shares.
absl::StatusOr<MigrationSummary> MigrateRegistry(Registry& from, Registry& to);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_MIGRATE_H_
