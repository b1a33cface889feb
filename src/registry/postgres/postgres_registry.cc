#include "src/registry/postgres/postgres_registry.h"

#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "src/base/secrets.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/legacy_json.h"
#include "src/registry/postgres/pg_audit.h"
#include "src/registry/postgres/pg_listener.h"
#include "src/registry/postgres/pg_schema.h"
#include "src/registry/postgres/pg_session.h"
#include "src/registry/sql_rows.h"

namespace spatial::registry {

using pg::AppendAudit;
using pg::Column;
using pg::PgSession;
using pg::Text;
using pg::TxKind;
using sql::kVersionColumns;
using sql::ParseStored;
using Tx = pqxx::transaction_base;

namespace {

// The table whose presence (with this row) marks a database as ours, as
// PRAGMA application_id does for SQLite.
constexpr const char* kMarkerTable = "spatial_deploy_registry";
constexpr const char* kApplication = "spatial-deploy";
// Serialises schema creation and migration between concurrent openers
// ("SPDR", the SQLite application_id).
constexpr int64_t kMigrationLockKey = 0x53504452;

std::string Now() { return base::FormatIso8601(absl::Now()); }

// Inserts `v` and its files. Returns the checksum of the version already
// holding the id (and inserts nothing), nullopt when it was inserted. A
// concurrent insert of the same id waits for the other transaction, so the
// answer is never a half-seen row.
std::optional<std::string> InsertVersion(Tx& tx, const ModelVersion& v) {
  const sql::VersionColumns c = sql::ToColumns(v);
  pqxx::result r = tx.exec_params(
      absl::StrCat("INSERT INTO versions (", kVersionColumns,
                   ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) "
                   "ON CONFLICT (id) DO NOTHING RETURNING seq"),
      c.id, c.model_type, c.architecture, c.file_path, c.creation_date,
      c.checksum, c.size_bytes, c.metrics, c.compatibility, c.training_config,
      c.tags, c.validation_status, c.actor, c.is_directory);
  if (r.empty()) {
    pqxx::result e = tx.exec_params(
        "SELECT checksum FROM versions WHERE id = $1", v.version_id);
    return e.empty() ? std::string() : Text(e[0][0]);
  }
  for (const auto& f : v.files) {
    tx.exec_params(
        "INSERT INTO artifact_files (version_id, path, sha256, size) VALUES "
        "($1,$2,$3,$4)",
        v.version_id, f.path, f.sha256, static_cast<int64_t>(f.size));
  }
  return std::nullopt;
}

void UpsertEnvironment(Tx& tx, const Environment& e) {
  tx.exec_params(
      "INSERT INTO environments (name, spec) VALUES ($1, $2) "
      "ON CONFLICT (name) DO UPDATE SET spec = excluded.spec",
      e.name, EnvironmentToJson(e).dump());
}

// One writer of history at a time, registry-wide: the seq each one draws
// while holding the lock is then its commit order, and the active version it
// reads cannot change before it commits. Readers are not blocked.
void LockDeployments(Tx& tx) {
  tx.exec("LOCK TABLE deployments IN EXCLUSIVE MODE");
}

// Takes the version's row lock first: two validations of one version then
// update its status one after the other, each seeing the other's record.
// NO KEY UPDATE, not UPDATE: a promotion's foreign-key check (KEY SHARE) on
// the same row must not wait for it, or the two could deadlock.
bool LockVersion(Tx& tx, const std::string& id) {
  return !tx.exec_params(
                "SELECT 1 FROM versions WHERE id = $1 FOR NO KEY UPDATE", id)
              .empty();
}

// An imported validation (result.imported) is history: it makes a version
// neither validated nor failed here.
void UpsertValidation(Tx& tx, const ValidationRecord& r) {
  tx.exec_params(
      "INSERT INTO validations (version_id, environment, valid, result, "
      "override_reason, actor, validated_at) VALUES ($1,$2,$3,$4,$5,$6,$7) "
      "ON CONFLICT (version_id, environment) DO UPDATE SET valid = "
      "excluded.valid, "
      "result = excluded.result, override_reason = excluded.override_reason, "
      "actor = excluded.actor, validated_at = excluded.validated_at",
      r.version_id, r.environment, r.valid, r.result.dump(), r.override_reason,
      r.actor, r.validated_at);
  tx.exec_params(
      "UPDATE versions SET validation_status = CASE WHEN EXISTS ("
      "SELECT 1 FROM validations WHERE version_id = $1 AND valid) "
      "THEN 'validated' WHEN EXISTS (SELECT 1 FROM validations WHERE "
      "version_id = $1 AND (result::jsonb ->> 'imported') IS DISTINCT FROM "
      "'true') THEN 'failed' ELSE validation_status END WHERE id = $1",
      r.version_id);
}

absl::Status NoSuchVersion(Tx& tx, absl::string_view id) {
  auto ids = Column(tx, "SELECT id FROM versions ORDER BY seq");
  return sql::UnknownVersion(id, ids);
}

absl::Status NoSuchEnvironment(Tx& tx, absl::string_view name) {
  auto names =
      Column(tx, "SELECT name FROM environments ORDER BY name COLLATE \"C\"");
  return sql::UnknownEnvironment(name, names);
}

// Appends `e` as it is (created_at included); returns its seq. The caller
// holds the deployments table lock (see Activate).
int64_t InsertDeployment(Tx& tx, const DeploymentEvent& e) {
  return tx
      .exec_params1(
          "INSERT INTO deployments (environment, version_id, "
          "previous_version_id, kind, actor, reason, created_at) "
          "VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING seq",
          e.environment, e.version_id, e.previous_version_id,
          std::string{ToString(e.kind)}, e.actor, e.reason, e.created_at)[0]
      .as<int64_t>();
}

std::optional<std::string> LastActive(Tx& tx, const std::string& environment) {
  pqxx::result r = tx.exec_params(
      "SELECT version_id FROM deployments WHERE environment = $1 "
      "ORDER BY seq DESC LIMIT 1",
      environment);
  if (r.empty()) return std::nullopt;
  return Text(r[0][0]);
}

void UpsertSignature(Tx& tx, const StoredSignature& sig) {
  tx.exec_params(
      "INSERT INTO signatures (version_id, key_id, envelope, actor, "
      "signed_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT (version_id, "
      "key_id) DO UPDATE SET envelope = excluded.envelope, actor = "
      "excluded.actor, signed_at = excluded.signed_at",
      sig.version_id, sig.key_id, sig.envelope, sig.actor, sig.signed_at);
}

}  // namespace

PostgresRegistry::PostgresRegistry(std::unique_ptr<pg::PgSession> session)
    : session_(std::move(session)),
      described_(session_->described()),
      conninfo_(session_->conninfo()) {}

PostgresRegistry::~PostgresRegistry() = default;

absl::StatusOr<std::unique_ptr<PostgresRegistry>> PostgresRegistry::Open(
    const Options& options) {
  if (options.url.empty()) {
    return absl::InvalidArgumentError("a PostgreSQL registry needs a URL");
  }
  ASSIGN_OR_RETURN(
      auto session,
      PgSession::Connect(options.url, base::RedactLocation(options.url)));
  std::unique_ptr<PostgresRegistry> reg(
      new PostgresRegistry(std::move(session)));
  absl::MutexLock lock(&reg->mu_);
  RETURN_IF_ERROR(reg->Migrate());
  return reg;
}

absl::Status PostgresRegistry::Migrate() {
  return session_->Run(
      "cannot open registry", TxKind::kWrite, [&](Tx& tx) -> absl::Status {
        tx.exec_params("SELECT pg_advisory_xact_lock($1)", kMigrationLockKey);
        bool ours = tx.exec_params("SELECT to_regclass($1) IS NOT NULL",
                                   kMarkerTable)[0][0]
                        .as<bool>();
        int version = 0;
        if (!ours) {
          auto tables = Column(
              tx,
              "SELECT c.relname FROM pg_class c JOIN pg_namespace n "
              "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
              "AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
              "ORDER BY c.relname COLLATE \"C\"");
          if (!tables.empty()) {
            return absl::FailedPreconditionError(absl::StrCat(
                described_,
                " is a PostgreSQL database of another application (tables: ",
                absl::StrJoin(tables, ", "),
                "), not a spatial-deploy registry"));
          }
          tx.exec(absl::StrCat("CREATE TABLE ", kMarkerTable,
                               " (key TEXT PRIMARY KEY, value TEXT NOT NULL)"));
          tx.exec(absl::StrCat("COMMENT ON TABLE ", kMarkerTable,
                               " IS 'marks a spatial-deploy model registry'"));
          tx.exec_params(absl::StrCat("INSERT INTO ", kMarkerTable,
                                      " VALUES ('application', $1)"),
                         kApplication);
        } else {
          pqxx::result app =
              tx.exec(absl::StrCat("SELECT value FROM ", kMarkerTable,
                                   " WHERE key = 'application'"));
          if (app.empty() || Text(app[0][0]) != kApplication) {
            return absl::FailedPreconditionError(
                absl::StrCat(described_, " has a ", kMarkerTable,
                             " table that does not name ", kApplication,
                             "; not a spatial-deploy registry"));
          }
          pqxx::result v = tx.exec("SELECT version FROM schema_version");
          if (v.empty()) {
            return absl::DataLossError(
                absl::StrCat(described_, ": schema_version is empty"));
          }
          version = v[0][0].as<int>();
        }
        if (version > kSchemaVersion) {
          return absl::FailedPreconditionError(
              absl::StrCat(described_, " has schema version ", version,
                           ", newer than this binary's ", kSchemaVersion,
                           "; upgrade spatial"));
        }
        for (int i = version; i < kSchemaVersion; ++i) {
          tx.exec(pg::Migration(i));
          if (i == 2) {
            tx.exec_params(absl::StrCat("INSERT INTO ", kMarkerTable,
                                        " VALUES ('registry_id', $1)"),
                           NewRegistryId());
            pg::AdoptExistingRows(tx);
          }
          tx.exec_params("UPDATE schema_version SET version = $1", i + 1);
        }
        return absl::OkStatus();
      });
}

std::string PostgresRegistry::Describe() const { return described_; }

absl::Status PostgresRegistry::AddVersion(const ModelVersion& v) {
  absl::MutexLock lock(&mu_);
  return session_->Run(
      "cannot add version", TxKind::kWrite, [&](Tx& tx) -> absl::Status {
        std::optional<std::string> existing = InsertVersion(tx, v);
        if (!existing) {
          AppendAudit(tx, sql::RegisterNote(v),
                      {AuditedRow::Version(v.version_id)});
          return absl::OkStatus();
        }
        return sql::AlreadyRegistered(v.version_id, *existing, v.checksum);
      });
}

absl::Status PostgresRegistry::PutEnvironment(const Environment& e) {
  absl::MutexLock lock(&mu_);
  return session_->Run("cannot store environment", TxKind::kWrite,
                       [&](Tx& tx) -> absl::Status {
                         UpsertEnvironment(tx, e);
                         AppendAudit(tx, sql::PutEnvironmentNote(e),
                                     {AuditedRow::Environment(e.name)});
                         return absl::OkStatus();
                       });
}

absl::StatusOr<Environment> PostgresRegistry::GetEnvironment(
    absl::string_view name_view) {
  absl::MutexLock lock(&mu_);
  const std::string name(name_view);
  return session_->Run(
      "cannot read environment", TxKind::kRead,
      [&](Tx& tx) -> absl::StatusOr<Environment> {
        pqxx::result r = tx.exec_params(
            "SELECT spec FROM environments WHERE name = $1", name);
        if (r.empty()) return NoSuchEnvironment(tx, name);
        return EnvironmentFromJson(ParseStored(Text(r[0][0])),
                                   absl::StrCat("environment ", name));
      });
}

absl::StatusOr<std::vector<Environment>> PostgresRegistry::ListEnvironments() {
  absl::MutexLock lock(&mu_);
  using Out = std::vector<Environment>;
  return session_->Run(
      "cannot list environments", TxKind::kRead,
      [&](Tx& tx) -> absl::StatusOr<Out> {
        Out out;
        for (const auto& row : tx.exec("SELECT name, spec FROM environments "
                                       "ORDER BY name COLLATE \"C\"")) {
          ASSIGN_OR_RETURN(
              Environment e,
              EnvironmentFromJson(ParseStored(Text(row[1])),
                                  absl::StrCat("environment ", Text(row[0]))));
          out.push_back(std::move(e));
        }
        return out;
      });
}

absl::Status PostgresRegistry::RecordValidation(const ValidationRecord& r) {
  absl::MutexLock lock(&mu_);
  return session_->Run(
      "cannot record validation", TxKind::kWrite, [&](Tx& tx) -> absl::Status {
        if (!LockVersion(tx, r.version_id)) {
          return NoSuchVersion(tx, r.version_id);
        }
        UpsertValidation(tx, r);
        AppendAudit(tx, sql::ValidateNote(r),
                    {AuditedRow::Validation(r.version_id, r.environment)});
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<ValidationRecord>> PostgresRegistry::ListValidations(
    absl::string_view version_id_view) {
  absl::MutexLock lock(&mu_);
  const std::string version_id(version_id_view);
  using Out = std::vector<ValidationRecord>;
  return session_->Run(
      "cannot list validations", TxKind::kRead,
      [&](Tx& tx) -> absl::StatusOr<Out> {
        Out out;
        for (const auto& row : tx.exec_params(
                 "SELECT version_id, environment, valid, result, "
                 "override_reason, actor, "
                 "validated_at FROM validations WHERE $1 = '' OR version_id = "
                 "$1 "
                 "ORDER BY version_id COLLATE \"C\", environment COLLATE \"C\"",
                 version_id)) {
          out.push_back({Text(row[0]), Text(row[1]), row[2].as<bool>(),
                         ParseStored(Text(row[3])), Text(row[4]), Text(row[5]),
                         Text(row[6])});
        }
        return out;
      });
}

absl::StatusOr<DeploymentEvent> PostgresRegistry::Activate(
    DeploymentEvent event) {
  absl::MutexLock lock(&mu_);
  return session_->Run(
      "cannot activate version", TxKind::kWrite,
      [&](Tx& tx) -> absl::StatusOr<DeploymentEvent> {
        LockDeployments(tx);
        DeploymentEvent e = event;
        if (tx.exec_params("SELECT 1 FROM versions WHERE id = $1", e.version_id)
                .empty()) {
          return NoSuchVersion(tx, e.version_id);
        }
        if (tx.exec_params("SELECT 1 FROM environments WHERE name = $1",
                           e.environment)
                .empty()) {
          return NoSuchEnvironment(tx, e.environment);
        }
        // FOR SHARE: a concurrent re-validation waits until this commits.
        pqxx::result v = tx.exec_params(
            "SELECT valid FROM validations WHERE version_id = $1 AND "
            "environment = $2 "
            "FOR SHARE",
            e.version_id, e.environment);
        bool found = !v.empty();
        if (!found || !v[0][0].as<bool>()) {
          return sql::NotValidated(e.version_id, e.environment, found);
        }
        e.previous_version_id = LastActive(tx, e.environment).value_or("");
        if (e.expect_active && *e.expect_active != e.previous_version_id) {
          return sql::ActiveChanged(e, e.previous_version_id);
        }
        if (e.previous_version_id == e.version_id) {
          return sql::AlreadyActive(e.version_id, e.environment);
        }
        e.created_at = Now();
        e.seq = InsertDeployment(tx, e);
        AppendAudit(
            tx, sql::ActivateNote(e),
            {AuditedRow::Deployment(e.seq, e.version_id, e.environment)});
        pg::NotifyChange(tx, e.environment);  // delivered at commit
        return e;
      });
}

absl::StatusOr<std::optional<std::string>> PostgresRegistry::ActiveVersion(
    absl::string_view environment_view) {
  absl::MutexLock lock(&mu_);
  const std::string environment(environment_view);
  using Out = std::optional<std::string>;
  return session_->Run("cannot read active version", TxKind::kRead,
                       [&](Tx& tx) -> absl::StatusOr<Out> {
                         return LastActive(tx, environment);
                       });
}

absl::StatusOr<std::vector<DeploymentEvent>> PostgresRegistry::History(
    absl::string_view environment_view) {
  absl::MutexLock lock(&mu_);
  const std::string environment(environment_view);
  using Out = std::vector<DeploymentEvent>;
  return session_->Run(
      "cannot read history", TxKind::kRead, [&](Tx& tx) -> absl::StatusOr<Out> {
        Out out;
        for (const auto& row :
             tx.exec_params("SELECT seq, environment, version_id, "
                            "previous_version_id, kind, actor, "
                            "reason, created_at FROM deployments WHERE $1 = '' "
                            "OR environment = $1 "
                            "ORDER BY seq",
                            environment)) {
          out.push_back({row[0].as<int64_t>(), Text(row[1]), Text(row[2]),
                         Text(row[3]),
                         Text(row[4]) == "rollback" ? DeploymentKind::kRollback
                                                    : DeploymentKind::kPromote,
                         Text(row[5]), Text(row[6]), Text(row[7])});
        }
        return out;
      });
}

absl::Status PostgresRegistry::Import(const RegistrySnapshot& snapshot) {
  absl::MutexLock lock(&mu_);
  return session_->Run(
      "cannot import", TxKind::kWrite, [&](Tx& tx) -> absl::Status {
        // Lock order as in Activate: the history first, then rows.
        if (!snapshot.deployments.empty()) LockDeployments(tx);
        std::vector<AuditedRow> rows;
        for (const auto& e : snapshot.environments) {
          UpsertEnvironment(tx, e);
          rows.push_back(AuditedRow::Environment(e.name));
        }
        std::vector<std::string> added;
        for (const auto& v : snapshot.versions) {
          std::optional<std::string> existing = InsertVersion(tx, v);
          if (existing && *existing != v.checksum) {
            return sql::ImportChecksumConflict(v.version_id, *existing,
                                               v.checksum);
          }
          if (!existing) {
            added.push_back(v.version_id);
            rows.push_back(AuditedRow::Version(v.version_id));
          }
        }
        for (const auto& r : snapshot.validations) {
          try {
            LockVersion(tx, r.version_id);
            UpsertValidation(tx, r);
            rows.push_back(AuditedRow::Validation(r.version_id, r.environment));
          } catch (const pqxx::integrity_constraint_violation&) {
            return sql::ImportValidationRefused(
                r,
                pg::CurrentExceptionToStatus("registry", described_, conninfo_)
                    .message());
          }
        }
        for (const auto& e : snapshot.deployments) {
          std::string active = LastActive(tx, e.environment).value_or("");
          if (active != e.previous_version_id) {
            return sql::ImportHistoryBreaksChain(e, active);
          }
          try {
            rows.push_back(AuditedRow::Deployment(InsertDeployment(tx, e),
                                                  e.version_id, e.environment));
          } catch (const pqxx::integrity_constraint_violation&) {
            return sql::ImportDeploymentRefused(
                e,
                pg::CurrentExceptionToStatus("registry", described_, conninfo_)
                    .message());
          }
        }
        for (const auto& sig : snapshot.signatures) {
          if (!LockVersion(tx, sig.version_id)) {
            return NoSuchVersion(tx, sig.version_id);
          }
          UpsertSignature(tx, sig);
          rows.push_back(AuditedRow::Signature(sig.version_id, sig.key_id));
        }
        AppendAudit(tx, sql::ImportNote(snapshot, added), rows);
        for (const auto& e : snapshot.deployments) {
          pg::NotifyChange(tx, e.environment);  // PostgreSQL folds duplicates
        }
        return absl::OkStatus();
      });
}

absl::Status PostgresRegistry::UpdateEnvironment(
    absl::string_view name_view,
    const std::function<absl::Status(Environment&)>& change,
    const AuditNote& note) {
  absl::MutexLock lock(&mu_);
  const std::string name(name_view);
  return session_->Run(
      "cannot update environment", TxKind::kWrite, [&](Tx& tx) -> absl::Status {
        pqxx::result r = tx.exec_params(
            "SELECT spec FROM environments WHERE name = $1 FOR UPDATE", name);
        if (r.empty()) return NoSuchEnvironment(tx, name);
        ASSIGN_OR_RETURN(
            Environment e,
            EnvironmentFromJson(ParseStored(Text(r[0][0])),
                                absl::StrCat("environment ", name)));
        RETURN_IF_ERROR(change(e));
        if (e.name != name) {
          return absl::InvalidArgumentError("an environment cannot be renamed");
        }
        UpsertEnvironment(tx, e);
        AppendAudit(tx, note, {AuditedRow::Environment(name)});
        return absl::OkStatus();
      });
}

absl::Status PostgresRegistry::AddSignature(const StoredSignature& sig) {
  absl::MutexLock lock(&mu_);
  return session_->Run(
      "cannot store signature", TxKind::kWrite, [&](Tx& tx) -> absl::Status {
        if (!LockVersion(tx, sig.version_id)) {
          return NoSuchVersion(tx, sig.version_id);
        }
        UpsertSignature(tx, sig);
        AppendAudit(tx, sql::SignNote(sig),
                    {AuditedRow::Signature(sig.version_id, sig.key_id)});
        return absl::OkStatus();
      });
}

absl::StatusOr<std::vector<StoredSignature>> PostgresRegistry::ListSignatures(
    absl::string_view version_id_view) {
  absl::MutexLock lock(&mu_);
  const std::string version_id(version_id_view);
  using Out = std::vector<StoredSignature>;
  return session_->Run(
      "cannot list signatures", TxKind::kRead,
      [&](Tx& tx) -> absl::StatusOr<Out> {
        Out out;
        for (const auto& row : tx.exec_params(
                 "SELECT version_id, key_id, envelope, actor, signed_at FROM "
                 "signatures WHERE version_id = $1 ORDER BY key_id COLLATE "
                 "\"C\"",
                 version_id)) {
          out.push_back({Text(row[0]), Text(row[1]), Text(row[2]), Text(row[3]),
                         Text(row[4])});
        }
        return out;
      });
}

absl::StatusOr<std::vector<AuditRecord>> PostgresRegistry::ListAudit() {
  absl::MutexLock lock(&mu_);
  using Out = std::vector<AuditRecord>;
  return session_->Run(
      "cannot read the audit log", TxKind::kRead,
      [&](Tx& tx) -> absl::StatusOr<Out> { return pg::ReadAudit(tx); });
}

absl::StatusOr<AuditSnapshot> PostgresRegistry::ReadAuditSnapshot() {
  absl::MutexLock lock(&mu_);
  return session_->Run(
      "cannot read the audit log", TxKind::kRead,
      [&](Tx& tx) -> absl::StatusOr<AuditSnapshot> {
        AuditSnapshot out;
        pqxx::result id = tx.exec(absl::StrCat(
            "SELECT value FROM ", kMarkerTable, " WHERE key = 'registry_id'"));
        if (id.empty()) {
          return absl::DataLossError(
              absl::StrCat(described_, " has no registry_id in ", kMarkerTable,
                           " (the row was deleted)"));
        }
        out.registry_id = Text(id[0][0]);
        out.records = pg::ReadAudit(tx);
        out.rows = pg::ReadAuditedRows(tx);
        return out;
      });
}

}  // namespace spatial::registry
