#include "src/registry/sqlite/sqlite_rows.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "src/base/status_macros.h"
#include "src/registry/legacy_json.h"
#include "src/registry/sql_rows.h"

namespace spatial::registry::sqlite {

using sql::kVersionColumns;
using sql::ParseStored;

ModelVersion ReadVersionRow(const Stmt& s) {
  return sql::FromColumns({s.Text(0), s.Text(1), s.Text(2), s.Text(3),
                           s.Text(4), s.Text(5), s.Int(6), s.Text(7), s.Text(8),
                           s.Text(9), s.Text(10), s.Text(11), s.Text(12),
                           s.Int(13) != 0});
}

absl::Status InsertVersion(sqlite3* db, const ModelVersion& v) {
  const sql::VersionColumns c = sql::ToColumns(v);
  Stmt s(db, absl::StrCat("INSERT INTO versions (", kVersionColumns,
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
    Stmt fs(db,
            "INSERT INTO artifact_files (version_id, path, sha256, size) "
            "VALUES (?,?,?,?)");
    fs.Bind(1, v.version_id)
        .Bind(2, f.path)
        .Bind(3, f.sha256)
        .Bind(4, static_cast<int64_t>(f.size));
    RETURN_IF_ERROR(fs.Run());
  }
  return absl::OkStatus();
}

// Checksum of an existing version, nullopt when the id is free.
absl::StatusOr<std::optional<std::string>> ExistingChecksum(
    sqlite3* db, absl::string_view id) {
  Stmt s(db, "SELECT checksum FROM versions WHERE id = ?");
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

absl::Status UpsertEnvironment(sqlite3* db, const Environment& e) {
  Stmt s(db,
         "INSERT INTO environments (name, spec) VALUES (?, ?) "
         "ON CONFLICT(name) DO UPDATE SET spec = excluded.spec");
  s.Bind(1, e.name).Bind(2, EnvironmentToJson(e).dump());
  return s.Run();
}

// An imported validation (result.imported) is history: it makes a version
// neither validated nor failed here.
absl::Status UpsertValidation(sqlite3* db, const ValidationRecord& r) {
  Stmt s(
      db,
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
  Stmt u(db,
         "UPDATE versions SET validation_status = CASE WHEN EXISTS ("
         "SELECT 1 FROM validations WHERE version_id = ?1 AND valid = 1) "
         "THEN 'validated' WHEN EXISTS (SELECT 1 FROM validations WHERE "
         "version_id = ?1 AND json_extract(result, '$.imported') IS NOT 1) "
         "THEN 'failed' ELSE validation_status END WHERE id = ?1");
  u.Bind(1, r.version_id);
  return u.Run();
}

// The version active in `environment`, nullopt when none ever was.
absl::StatusOr<std::optional<std::string>> LastActive(
    sqlite3* db, absl::string_view environment) {
  Stmt s(db,
         "SELECT version_id FROM deployments WHERE environment = ? "
         "ORDER BY seq DESC LIMIT 1");
  s.Bind(1, environment);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(s.Text(0));
}

// Appends `e` as it is (created_at included); returns its seq.
absl::StatusOr<int64_t> InsertDeployment(sqlite3* db,
                                         const DeploymentEvent& e) {
  Stmt ins(
      db,
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
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db));
}

absl::Status UpsertSignature(sqlite3* db, const StoredSignature& sig) {
  Stmt s(db,
         "INSERT OR REPLACE INTO signatures (version_id, key_id, envelope, "
         "actor, signed_at) VALUES (?,?,?,?,?)");
  s.Bind(1, sig.version_id)
      .Bind(2, sig.key_id)
      .Bind(3, sig.envelope)
      .Bind(4, sig.actor)
      .Bind(5, sig.signed_at);
  return s.Run();
}

absl::Status NoSuchVersion(sqlite3* db, absl::string_view id) {
  auto ids = Column(db, "SELECT id FROM versions ORDER BY seq");
  return sql::UnknownVersion(id, ids.ok() ? *ids : std::vector<std::string>());
}

absl::Status NoSuchEnvironment(sqlite3* db, absl::string_view name) {
  auto names = Column(db, "SELECT name FROM environments ORDER BY name");
  return sql::UnknownEnvironment(
      name, names.ok() ? *names : std::vector<std::string>());
}

}  // namespace spatial::registry::sqlite
