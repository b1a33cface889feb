// The migrations of both SQL adapters; see sql_schema.h. Pure; thread-safe.
#include "src/registry/sql_schema.h"

#include <iterator>

#include "absl/strings/str_replace.h"

namespace spatial::registry::sql {
namespace {

// Index i brings the schema from version i to i + 1. {serial}, {int},
// {bool}, {append_only} and {meta} are the dialect's.
constexpr const char* kTemplates[] = {
    R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (0);
CREATE TABLE environments (
  name TEXT PRIMARY KEY,
  spec TEXT NOT NULL
);
CREATE TABLE versions (
  seq {serial},
  id TEXT NOT NULL UNIQUE,
  model_type TEXT NOT NULL,
  architecture TEXT NOT NULL,
  file_path TEXT NOT NULL,
  creation_date TEXT NOT NULL,
  checksum TEXT NOT NULL,
  size_bytes {int} NOT NULL,
  metrics TEXT NOT NULL,
  compatibility TEXT NOT NULL,
  training_config TEXT NOT NULL,
  tags TEXT NOT NULL,
  validation_status TEXT NOT NULL,
  actor TEXT NOT NULL,
  is_directory {bool} NOT NULL
);
CREATE TABLE artifact_files (
  version_id TEXT NOT NULL REFERENCES versions(id),
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size {int} NOT NULL,
  PRIMARY KEY (version_id, path)
);
CREATE TABLE validations (
  version_id TEXT NOT NULL REFERENCES versions(id),
  environment TEXT NOT NULL REFERENCES environments(name),
  valid {bool} NOT NULL,
  result TEXT NOT NULL,
  override_reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  validated_at TEXT NOT NULL,
  PRIMARY KEY (version_id, environment)
);
CREATE TABLE deployments (
  seq {serial},
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
  seq {int} PRIMARY KEY,
  time TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
{append_only})sql",
    // Each audited row names the audit record that made or last changed it
    // (the adapters' AdoptExistingRows link the rows already there); the
    // registry gets an id.
    R"sql(
ALTER TABLE environments ADD COLUMN audit_seq {int};
ALTER TABLE versions ADD COLUMN audit_seq {int};
ALTER TABLE validations ADD COLUMN audit_seq {int};
ALTER TABLE deployments ADD COLUMN audit_seq {int};
ALTER TABLE signatures ADD COLUMN audit_seq {int};
{meta})sql",
};
static_assert(std::size(kTemplates) == kMigrations);

}  // namespace

const SqlDialect kSqlite = {
    .serial_key = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .integer = "INTEGER",
    .boolean = "INTEGER",
    .audit_log_append_only =
        "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log\n"
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;\n"
        "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log\n"
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;\n",
    // PostgreSQL keeps the registry id in its marker table instead.
    .meta_table =
        "CREATE TABLE registry_meta (\n"
        "  key TEXT PRIMARY KEY,\n"
        "  value TEXT NOT NULL\n"
        ");\n",
};

const SqlDialect kPostgres = {
    .serial_key = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
    .integer = "BIGINT",
    .boolean = "BOOLEAN",
    .audit_log_append_only =
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE "
        "plpgsql AS\n"
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$;\n"
        "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON "
        "audit_log\n"
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();\n",
    .meta_table = "",
};

std::string Migration(int i, const SqlDialect& d) {
  return absl::StrReplaceAll(kTemplates[i],
                             {{"{serial}", d.serial_key},
                              {"{int}", d.integer},
                              {"{bool}", d.boolean},
                              {"{append_only}", d.audit_log_append_only},
                              {"{meta}", d.meta_table}});
}

}  // namespace spatial::registry::sql
