// PostgresRegistry: connecting and migrating (under an advisory lock), the
// reads of environments, validations, history, signatures and the audit log,
// and the mutations (the shared write paths of sql_tx.h over PgRows), each in
// one PgSession transaction. Thread-safe: every method holds mu_ while it
// uses the session. The reads of versions are in postgres_versions.cc.
#include "src/registry/postgres/postgres_registry.h"

#include <map>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/base/secrets.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/legacy_json.h"
#include "src/registry/postgres/pg_audit.h"
#include "src/registry/postgres/pg_listener.h"
#include "src/registry/postgres/pg_rows.h"
#include "src/registry/postgres/pg_session.h"
#include "src/registry/sql_rows.h"
#include "src/registry/sql_schema.h"
#include "src/registry/sql_tx.h"

namespace spatial::registry {

using pg::Column;
using pg::PgRows;
using pg::PgSession;
using pg::Text;
using pg::TxKind;
using sql::kVersionColumns;
using sql::ParseStored;
static_assert(sql::kMigrations == PostgresRegistry::kSchemaVersion);
using Tx = pqxx::transaction_base;

namespace {

// The table whose presence (with this row) marks a database as ours, as
// PRAGMA application_id does for SQLite.
constexpr const char* kMarkerTable = "spatial_deploy_registry";
constexpr const char* kApplication = "spatial-deploy";
// Serialises schema creation and migration between concurrent openers
// ("SPDR", the SQLite application_id).
constexpr int64_t kMigrationLockKey = 0x53504452;

// Runs `fn(rows)`, one of the shared write paths of sql_tx.h, in a write
// transaction of `session`; `what` words its errors.
template <typename Fn>
auto InWriteTx(pg::PgSession& session, const char* what, Fn fn)
    -> decltype(fn(std::declval<PgRows&>())) {
  return session.Run(what, TxKind::kWrite,
                     [&](Tx& tx) -> decltype(fn(std::declval<PgRows&>())) {
                       PgRows rows(tx, what, session.described(),
                                   session.conninfo());
                       return rows.Finish(fn(rows));
                     });
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
          tx.exec(sql::Migration(i, sql::kPostgres));
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
  return InWriteTx(*session_, "cannot add version",
                   [&](PgRows& rows) { return sql::AddVersion(rows, v); });
}

absl::Status PostgresRegistry::PutEnvironment(const Environment& e) {
  absl::MutexLock lock(&mu_);
  return InWriteTx(*session_, "cannot store environment",
                   [&](PgRows& rows) { return sql::PutEnvironment(rows, e); });
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
        if (r.empty()) {
          PgRows rows(tx, "cannot read environment", described_, conninfo_);
          return rows.Finish(sql::NoSuchEnvironment(rows, name));
        }
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
  return InWriteTx(*session_, "cannot record validation", [&](PgRows& rows) {
    return sql::RecordValidation(rows, r);
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
  // A copy per attempt: PgSession::Run may run it again.
  return InWriteTx(*session_, "cannot activate version",
                   [&](PgRows& rows) { return sql::Activate(rows, event); });
}

absl::StatusOr<std::optional<std::string>> PostgresRegistry::ActiveVersion(
    absl::string_view environment_view) {
  absl::MutexLock lock(&mu_);
  const std::string environment(environment_view);
  using Out = std::optional<std::string>;
  return session_->Run("cannot read active version", TxKind::kRead,
                       [&](Tx& tx) -> absl::StatusOr<Out> {
                         PgRows rows(tx, "cannot read active version",
                                     described_, conninfo_);
                         return rows.Finish(rows.LastActive(environment));
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
  return session_->Run("cannot import", TxKind::kWrite,
                       [&](Tx& tx) -> absl::Status {
                         // "registry": the context of a refused row's message,
                         // as before.
                         PgRows rows(tx, "registry", described_, conninfo_);
                         return rows.Finish(sql::Import(rows, snapshot));
                       });
}

absl::Status PostgresRegistry::RecordEvent(const AuditNote& note) {
  absl::MutexLock lock(&mu_);
  return InWriteTx(*session_, "cannot record an audit event",
                   [&](PgRows& rows) { return sql::RecordEvent(rows, note); });
}

absl::Status PostgresRegistry::UpdateEnvironment(
    absl::string_view name_view,
    const std::function<absl::Status(Environment&)>& change,
    const AuditNote& note) {
  absl::MutexLock lock(&mu_);
  const std::string name(name_view);
  return InWriteTx(*session_, "cannot update environment", [&](PgRows& rows) {
    return sql::UpdateEnvironment(rows, name, change, note);
  });
}

absl::Status PostgresRegistry::AddSignature(const StoredSignature& sig) {
  absl::MutexLock lock(&mu_);
  return InWriteTx(*session_, "cannot store signature",
                   [&](PgRows& rows) { return sql::AddSignature(rows, sig); });
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

absl::StatusOr<Registry::AuditPage> PostgresRegistry::ListAuditPage(
    size_t offset, size_t limit) {
  absl::MutexLock lock(&mu_);
  return session_->Run("cannot read the audit log", TxKind::kRead,
                       [&](Tx& tx) -> absl::StatusOr<AuditPage> {
                         return pg::ReadAuditPage(tx, offset, limit);
                       });
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
