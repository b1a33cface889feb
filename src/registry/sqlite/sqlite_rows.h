// The one-row SQL of SqliteRegistry: reading a version row, and SqliteRows,
// sql::RowTx on one SQLite connection (inserting or upserting versions,
// environments, validations, deployments and signatures, each with its
// audit_seq), over which the shared write paths of sql_tx.h run. Each runs
// inside the caller's transaction. Not thread-safe; the caller holds the
// connection's mutex.
#ifndef SPATIAL_REGISTRY_SQLITE_SQLITE_ROWS_H_
#define SPATIAL_REGISTRY_SQLITE_SQLITE_ROWS_H_

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/registry/model_version.h"
#include "src/registry/sql_tx.h"
#include "src/registry/sqlite/sqlite_db.h"

namespace spatial::registry::sqlite {

// A row of `SELECT sql::kVersionColumns ...`.
ModelVersion ReadVersionRow(const Stmt& s);

// SQLite write transactions are exclusive (BEGIN IMMEDIATE), so the locking
// operations of RowTx only read.
class SqliteRows final : public sql::RowTx {
 public:
  explicit SqliteRows(sqlite3* db) : db_(db) {}

  absl::StatusOr<bool> VersionExists(const std::string& id) override;
  absl::StatusOr<bool> LockVersion(const std::string& id) override;
  absl::StatusOr<std::optional<std::string>> InsertVersion(
      const ModelVersion& v) override;
  absl::StatusOr<bool> EnvironmentExists(const std::string& name) override;
  absl::StatusOr<std::optional<std::string>> LockEnvironmentSpec(
      const std::string& name) override;
  absl::Status UpsertEnvironment(const Environment& e) override;
  absl::StatusOr<std::optional<bool>> ValidationPassed(
      const std::string& version_id, const std::string& environment) override;
  absl::Status UpsertValidation(const ValidationRecord& r) override;
  absl::StatusOr<std::optional<std::string>> LastActive(
      const std::string& environment) override;
  absl::StatusOr<int64_t> InsertDeployment(const DeploymentEvent& e) override;
  absl::Status UpsertSignature(const StoredSignature& sig) override;
  absl::Status AppendAudit(const AuditNote& note,
                           const std::vector<AuditedRow>& rows) override;
  absl::StatusOr<std::vector<std::string>> VersionIds() override;
  absl::StatusOr<std::vector<std::string>> EnvironmentNames() override;

 private:
  // Checksum of an existing version, nullopt when the id is free.
  absl::StatusOr<std::optional<std::string>> ExistingChecksum(
      absl::string_view id);

  sqlite3* db_;
};

}  // namespace spatial::registry::sqlite

#endif  // SPATIAL_REGISTRY_SQLITE_SQLITE_ROWS_H_
