#include "src/registry/postgres/pg_schema.h"

#include <iterator>

#include "src/registry/postgres/postgres_registry.h"

namespace spatial::registry::pg {
namespace {

// Migrations: index i brings the schema from version i to i + 1. The tables
// mirror SqliteRegistry's; JSON stays TEXT so that it reads back byte-exact.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (0);
CREATE TABLE environments (
  name TEXT PRIMARY KEY,
  spec TEXT NOT NULL
);
CREATE TABLE versions (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  model_type TEXT NOT NULL,
  architecture TEXT NOT NULL,
  file_path TEXT NOT NULL,
  creation_date TEXT NOT NULL,
  checksum TEXT NOT NULL,
  size_bytes BIGINT NOT NULL,
  metrics TEXT NOT NULL,
  compatibility TEXT NOT NULL,
  training_config TEXT NOT NULL,
  tags TEXT NOT NULL,
  validation_status TEXT NOT NULL,
  actor TEXT NOT NULL,
  is_directory BOOLEAN NOT NULL
);
CREATE TABLE artifact_files (
  version_id TEXT NOT NULL REFERENCES versions(id),
  path TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  size BIGINT NOT NULL,
  PRIMARY KEY (version_id, path)
);
CREATE TABLE validations (
  version_id TEXT NOT NULL REFERENCES versions(id),
  environment TEXT NOT NULL REFERENCES environments(name),
  valid BOOLEAN NOT NULL,
  result TEXT NOT NULL,
  override_reason TEXT NOT NULL,
  actor TEXT NOT NULL,
  validated_at TEXT NOT NULL,
  PRIMARY KEY (version_id, environment)
);
CREATE TABLE deployments (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
  seq BIGINT PRIMARY KEY,
  time TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
)sql",
    // Each audited row names the audit record that made or last changed it
    // (pg::AdoptExistingRows links the rows already there); the registry id
    // goes into the marker table.
    R"sql(
ALTER TABLE environments ADD COLUMN audit_seq BIGINT;
ALTER TABLE versions ADD COLUMN audit_seq BIGINT;
ALTER TABLE validations ADD COLUMN audit_seq BIGINT;
ALTER TABLE deployments ADD COLUMN audit_seq BIGINT;
ALTER TABLE signatures ADD COLUMN audit_seq BIGINT;
)sql",
};
static_assert(std::size(kMigrations) == PostgresRegistry::kSchemaVersion);

}  // namespace

const char* Migration(int i) { return kMigrations[i]; }

}  // namespace spatial::registry::pg
