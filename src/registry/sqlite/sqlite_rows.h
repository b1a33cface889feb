// The one-row SQL of SqliteRegistry: reading a version row, inserting or
// upserting versions, environments, validations, deployments and signatures
// (each with its audit_seq), and the NotFound errors that name close matches.
// Each runs inside the caller's transaction. Not thread-safe; the caller holds
// the connection's mutex.
#ifndef SPATIAL_REGISTRY_SQLITE_SQLITE_ROWS_H_
#define SPATIAL_REGISTRY_SQLITE_SQLITE_ROWS_H_

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/registry/model_version.h"
#include "src/registry/sqlite/sqlite_db.h"

namespace spatial::registry::sqlite {

ModelVersion ReadVersionRow(const Stmt& s);
absl::Status InsertVersion(sqlite3* db, const ModelVersion& v);
absl::StatusOr<std::optional<std::string>> ExistingChecksum(
    sqlite3* db, absl::string_view id);
absl::Status UpsertEnvironment(sqlite3* db, const Environment& e);
absl::Status UpsertValidation(sqlite3* db, const ValidationRecord& r);
absl::StatusOr<std::optional<std::string>> LastActive(
    sqlite3* db, absl::string_view environment);
absl::StatusOr<int64_t> InsertDeployment(sqlite3* db, const DeploymentEvent& e);
absl::Status UpsertSignature(sqlite3* db, const StoredSignature& sig);
absl::Status NoSuchVersion(sqlite3* db, absl::string_view id);
absl::Status NoSuchEnvironment(sqlite3* db, absl::string_view name);

}  // namespace spatial::registry::sqlite

#endif  // SPATIAL_REGISTRY_SQLITE_SQLITE_ROWS_H_
