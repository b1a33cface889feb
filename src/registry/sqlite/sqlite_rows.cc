// SqliteRows and version rows; see sqlite_rows.h. Not thread-safe: the
// caller holds the connection's mutex and a transaction.
#include "src/registry/sqlite/sqlite_rows.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "src/base/status_macros.h"
#include "src/registry/legacy_json.h"
#include "src/registry/sql_rows.h"
#include "src/registry/sqlite/sqlite_audit.h"

namespace spatial::registry::sqlite {

using sql::kVersionColumns;
using sql::ParseStored;

ModelVersion ReadVersionRow(const Stmt& s) {
  return sql::FromColumns({s.Text(0), s.Text(1), s.Text(2), s.Text(3),
                           s.Text(4), s.Text(5), s.Int(6), s.Text(7), s.Text(8),
                           s.Text(9), s.Text(10), s.Text(11), s.Text(12),
                           s.Int(13) != 0});
}

absl::StatusOr<std::optional<std::string>> SqliteRows::InsertVersion(
    const ModelVersion& v) {
  ASSIGN_OR_RETURN(auto existing, ExistingChecksum(v.version_id));
  if (existing) return existing;
  const sql::VersionColumns c = sql::ToColumns(v);
  Stmt s(db_, absl::StrCat("INSERT INTO versions (", kVersionColumns,
                           ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  s.Bind(1, c.id)
      .Bind(2, c.model_type)
      .Bind(3, c.architecture)
      .Bind(4, c.file_path)
      .Bind(5, c.creation_date)
      .Bind(6, c.checksum)
      .Bind(7, c.size_bytes)
      .Bind(8, c.metrics)
      .Bind(9, c.compatibility)
      .Bind(10, c.training_config)
      .Bind(11, c.tags)
      .Bind(12, c.validation_status)
      .Bind(13, c.actor)
      .Bind(14, static_cast<int64_t>(c.is_directory ? 1 : 0));
  RETURN_IF_ERROR(s.Run());
  for (const auto& f : v.files) {
    Stmt fs(db_,
            "INSERT INTO artifact_files (version_id, path, sha256, size) "
            "VALUES (?,?,?,?)");
    fs.Bind(1, v.version_id)
        .Bind(2, f.path)
        .Bind(3, f.sha256)
        .Bind(4, static_cast<int64_t>(f.size));
    RETURN_IF_ERROR(fs.Run());
  }
  return std::optional<std::string>();
}

absl::StatusOr<std::optional<std::string>> SqliteRows::ExistingChecksum(
    absl::string_view id) {
  Stmt s(db_, "SELECT checksum FROM versions WHERE id = ?");
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

absl::StatusOr<bool> SqliteRows::VersionExists(const std::string& id) {
  ASSIGN_OR_RETURN(auto existing, ExistingChecksum(id));
  return existing.has_value();
}

absl::StatusOr<bool> SqliteRows::LockVersion(const std::string& id) {
  return VersionExists(id);
}

absl::StatusOr<bool> SqliteRows::EnvironmentExists(const std::string& name) {
  Stmt e(db_, "SELECT 1 FROM environments WHERE name = ?");
  e.Bind(1, name);
  return e.Step();
}

absl::StatusOr<std::optional<std::string>> SqliteRows::LockEnvironmentSpec(
    const std::string& name) {
  Stmt s(db_, "SELECT spec FROM environments WHERE name = ?");
  s.Bind(1, name);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

absl::Status SqliteRows::UpsertEnvironment(const Environment& e) {
  Stmt s(db_,
         "INSERT INTO environments (name, spec) VALUES (?, ?) "
         "ON CONFLICT(name) DO UPDATE SET spec = excluded.spec");
  s.Bind(1, e.name).Bind(2, EnvironmentToJson(e).dump());
  return s.Run();
}

// An imported validation (result.imported) is history: it makes a version
// neither validated nor failed here.
absl::StatusOr<std::optional<bool>> SqliteRows::ValidationPassed(
    const std::string& version_id, const std::string& environment) {
  Stmt v(db_,
         "SELECT valid FROM validations WHERE version_id = ? AND environment "
         "= ?");
  v.Bind(1, version_id).Bind(2, environment);
  ASSIGN_OR_RETURN(bool found, v.Step());
  if (!found) return std::optional<bool>();
  return std::optional<bool>(v.Int(0) != 0);
}

absl::Status SqliteRows::UpsertValidation(const ValidationRecord& r) {
  Stmt s(
      db_,
      "INSERT OR REPLACE INTO validations (version_id, environment, valid, "
      "result, override_reason, actor, validated_at) VALUES (?,?,?,?,?,?,?)");
  s.Bind(1, r.version_id)
      .Bind(2, r.environment)
      .Bind(3, int64_t{r.valid ? 1 : 0})
      .Bind(4, r.result.dump())
      .Bind(5, r.override_reason)
      .Bind(6, r.actor)
      .Bind(7, r.validated_at);
  RETURN_IF_ERROR(s.Run());
  Stmt u(db_,
         "UPDATE versions SET validation_status = CASE WHEN EXISTS ("
         "SELECT 1 FROM validations WHERE version_id = ?1 AND valid = 1) "
         "THEN 'validated' WHEN EXISTS (SELECT 1 FROM validations WHERE "
         "version_id = ?1 AND json_extract(result, '$.imported') IS NOT 1) "
         "THEN 'failed' ELSE validation_status END WHERE id = ?1");
  u.Bind(1, r.version_id);
  return u.Run();
}

absl::StatusOr<std::optional<std::string>> SqliteRows::LastActive(
    const std::string& environment) {
  Stmt s(db_,
         "SELECT version_id FROM deployments WHERE environment = ? "
         "ORDER BY seq DESC LIMIT 1");
  s.Bind(1, environment);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

absl::StatusOr<int64_t> SqliteRows::InsertDeployment(const DeploymentEvent& e) {
  Stmt ins(
      db_,
      "INSERT INTO deployments (environment, version_id, previous_version_id, "
      "kind, actor, reason, created_at) VALUES (?,?,?,?,?,?,?)");
  ins.Bind(1, e.environment)
      .Bind(2, e.version_id)
      .Bind(3, e.previous_version_id)
      .Bind(4, ToString(e.kind))
      .Bind(5, e.actor)
      .Bind(6, e.reason)
      .Bind(7, e.created_at);
  RETURN_IF_ERROR(ins.Run());
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

absl::Status SqliteRows::UpsertSignature(const StoredSignature& sig) {
  Stmt s(db_,
         "INSERT OR REPLACE INTO signatures (version_id, key_id, envelope, "
         "actor, signed_at) VALUES (?,?,?,?,?)");
  s.Bind(1, sig.version_id)
      .Bind(2, sig.key_id)
      .Bind(3, sig.envelope)
      .Bind(4, sig.actor)
      .Bind(5, sig.signed_at);
  return s.Run();
}

absl::Status SqliteRows::AppendAudit(const AuditNote& note,
                                     const std::vector<AuditedRow>& rows) {
  return sqlite::AppendAudit(db_, note, rows);
}

absl::StatusOr<std::vector<std::string>> SqliteRows::VersionIds() {
  return Column(db_, "SELECT id FROM versions ORDER BY seq");
}

absl::StatusOr<std::vector<std::string>> SqliteRows::EnvironmentNames() {
  return Column(db_, "SELECT name FROM environments ORDER BY name");
}

}  // namespace spatial::registry::sqlite
