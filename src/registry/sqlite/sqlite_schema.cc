#include "src/registry/sqlite/sqlite_schema.h"

#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/base/status_macros.h"
#include "src/registry/sqlite/sqlite_audit.h"
#include "src/registry/sqlite/sqlite_db.h"
#include "src/registry/sqlite/sqlite_registry.h"

namespace spatial::registry::sqlite {
namespace {

// Migrations: index i brings the schema from version i to i + 1.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (0);
CREATE TABLE environments (
  name TEXT PRIMARY KEY,
  spec TEXT NOT NULL
);
CREATE TABLE versions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  model_type TEXT NOT NULL,
  architecture TEXT NOT NULL,
  file_path TEXT NOT NULL,
  creation_date TEXT NOT NULL,
  checksum TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  metrics TEXT NOT NULL,
  compatibility TEXT NOT NULL,
  training_config TEXT NOT NULL,
  tags TEXT NOT NULL,
  validation_status TEXT NOT NULL,
  actor TEXT NOT NULL,
  is_directory INTEGER NOT NULL
);
CREATE TABLE artifact_files (
  version_id TEXT NOT NULL REFERENCES versions(id),
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (version_id, path)
);
CREATE TABLE validations (
  version_id TEXT NOT NULL REFERENCES versions(id),
  environment TEXT NOT NULL REFERENCES environments(name),
  valid INTEGER NOT NULL,
  result TEXT NOT NULL,
  override_reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  validated_at TEXT NOT NULL,
  PRIMARY KEY (version_id, environment)
);
CREATE TABLE deployments (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  environment TEXT NOT NULL REFERENCES environments(name),
  version_id TEXT NOT NULL REFERENCES versions(id),
  previous_version_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX deployments_by_env ON deployments (environment, seq);
)sql",
    R"sql(
CREATE TABLE signatures (
  version_id TEXT NOT NULL REFERENCES versions(id),
  key_id TEXT NOT NULL,
  envelope TEXT NOT NULL,
  actor TEXT NOT NULL,
  signed_at TEXT NOT NULL,
  PRIMARY KEY (version_id, key_id)
);
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  time TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
)sql",
    // Each audited row names the audit record that made or last changed it;
    // the registry gets an id (AdoptExistingRows fills both in).
    R"sql(
ALTER TABLE environments ADD COLUMN audit_seq INTEGER;
ALTER TABLE versions ADD COLUMN audit_seq INTEGER;
ALTER TABLE validations ADD COLUMN audit_seq INTEGER;
ALTER TABLE deployments ADD COLUMN audit_seq INTEGER;
ALTER TABLE signatures ADD COLUMN audit_seq INTEGER;
CREATE TABLE registry_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql",
};
static_assert(std::size(kMigrations) == SqliteRegistry::kSchemaVersion);

}  // namespace

absl::Status MigrateSchema(sqlite3* db, absl::string_view path, int target) {
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db, /*write=*/true));
  int32_t app_id = 0;
  {
    Stmt app(db, "PRAGMA application_id");
    ASSIGN_OR_RETURN(bool got, app.Step());
    if (got) app_id = static_cast<int32_t>(app.Int(0));
  }
  int version = 0;
  if (app_id == 0) {
    ASSIGN_OR_RETURN(auto tables, Column(db, "SELECT name FROM sqlite_master"));
    if (!tables.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, " is a SQLite database of another application (tables: ",
          absl::StrJoin(tables, ", "), "), not a spatial-deploy registry"));
    }
    RETURN_IF_ERROR(
        Exec(db, absl::StrCat("PRAGMA application_id = ", kApplicationId)));
  } else {
    Stmt v(db, "SELECT version FROM schema_version");
    ASSIGN_OR_RETURN(bool has, v.Step());
    if (!has)
      return absl::DataLossError(
          absl::StrCat(path, ": schema_version is empty"));
    version = static_cast<int>(v.Int(0));
  }
  if (version > target) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " has schema version ", version, ", newer than this binary's ",
        target, "; upgrade spatial"));
  }
  for (int i = version; i < target; ++i) {
    RETURN_IF_ERROR(Exec(db, kMigrations[i]));
    if (i == 2) RETURN_IF_ERROR(AdoptExistingRows(db));
    RETURN_IF_ERROR(
        Exec(db, absl::StrCat("UPDATE schema_version SET version = ", i + 1)));
  }
  return tx.Commit();
}

}  // namespace spatial::registry::sqlite
