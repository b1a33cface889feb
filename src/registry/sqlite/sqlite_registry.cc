// SqliteRegistry: opening and migrating the file, the reads, and the
// mutations (the shared write paths of sql_tx.h over SqliteRows) each in one
// transaction. Thread-safe: every method holds mu_ while it uses db_.
#include "src/registry/sqlite/sqlite_registry.h"

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/legacy_json.h"
#include "src/registry/sql_rows.h"
#include "src/registry/sql_tx.h"
#include "src/registry/sqlite/sqlite_audit.h"
#include "src/registry/sqlite/sqlite_db.h"
#include "src/registry/sqlite/sqlite_rows.h"
#include "src/registry/sqlite/sqlite_schema.h"

namespace spatial::registry {

using sql::kVersionColumns;
using sql::ParseStored;
using sqlite::Column;
using sqlite::Exec;
using sqlite::ReadVersionRow;
using sqlite::SqliteRows;
using sqlite::SqliteStatus;
using sqlite::Stmt;
using sqlite::Transaction;

namespace {

// Runs `fn(rows)`, one of the shared write paths of sql_tx.h, in a write
// transaction (BEGIN IMMEDIATE) that commits when it succeeds.
template <typename Fn>
auto InWriteTx(sqlite3* db, Fn fn)
    -> decltype(fn(std::declval<SqliteRows&>())) {
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db, true));
  SqliteRows rows(db);
  auto result = fn(rows);
  if (!result.ok()) return result;
  RETURN_IF_ERROR(tx.Commit());
  return result;
}

using Index = std::unordered_map<std::string, size_t>;

// Room for every version, so that a listing of 10,000 neither moves its
// versions as the vector grows nor rehashes the index.
absl::Status ReserveForVersions(sqlite3* db, Index& index,
                                std::vector<ModelVersion>& out) {
  Stmt c(db, "SELECT count(*) FROM versions");
  ASSIGN_OR_RETURN(bool row, c.Step());
  size_t n = row ? static_cast<size_t>(c.Int(0)) : 0;
  out.reserve(n);
  index.reserve(n);
  return absl::OkStatus();
}

// Fills deployment_environments of the versions in `out` (by id in `index`).
absl::Status AddValidatedEnvironments(sqlite3* db, const Index& index,
                                      std::vector<ModelVersion>& out) {
  Stmt e(db,
         "SELECT version_id, environment FROM validations WHERE valid = 1 "
         "ORDER BY version_id, environment");
  return e.ForEachRow([&]() -> absl::Status {
    auto it = index.find(e.Text(0));
    if (it != index.end())
      out[it->second].deployment_environments.push_back(e.Text(1));
    return absl::OkStatus();
  });
}

}  // namespace

SqliteRegistry::SqliteRegistry(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)) {}

SqliteRegistry::~SqliteRegistry() {
  absl::MutexLock lock(&mu_);
  sqlite3_close_v2(db_);
}

absl::StatusOr<std::unique_ptr<SqliteRegistry>> SqliteRegistry::Open(
    const Options& options) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
              (options.create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(options.path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = SqliteStatus(
        db, rc, absl::StrCat("cannot open registry ", options.path));
    sqlite3_close_v2(db);
    return s;
  }
  std::unique_ptr<SqliteRegistry> reg(new SqliteRegistry(db, options.path));
  sqlite3_busy_timeout(db, options.busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  absl::MutexLock lock(&reg->mu_);
  // Reading the header first tells a foreign file from ours before we write.
  int32_t app_id = 0;
  {
    Stmt app(db, "PRAGMA application_id");
    auto row = app.Step();
    if (!row.ok()) {
      // Only a file SQLite cannot read as a database is someone else's; a
      // disk that is full or failing is said as such.
      const auto code = row.status().code();
      if (code != absl::StatusCode::kFailedPrecondition &&
          code != absl::StatusCode::kDataLoss) {
        return absl::Status(
            code, absl::StrCat("cannot read registry ", options.path, ": ",
                               row.status().message()));
      }
      return absl::FailedPreconditionError(absl::StrCat(
          options.path, " is not a spatial-deploy registry (",
          row.status().message(), "); point --registry at another path"));
    }
    app_id = static_cast<int32_t>(app.Int(0));
  }
  if (app_id != 0 && app_id != sqlite::kApplicationId) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.path,
        " is a SQLite database of another application (application_id ", app_id,
        "), not a spatial-deploy registry"));
  }
  if (app_id == 0) {
    // Refuse another application's database before changing anything in it
    // (switching to WAL rewrites its header). Migrate() checks again under
    // lock.
    auto tables = Column(db, "SELECT name FROM sqlite_master");
    if (!tables.ok()) return tables.status();
    if (!tables->empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          options.path,
          " is a SQLite database of another application (tables: ",
          absl::StrJoin(*tables, ", "), "), not a spatial-deploy registry"));
    }
  }
  RETURN_IF_ERROR(
      Exec(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL"));
  if (options.path != ":memory:") {
    // Changing the journal mode does not wait on the busy handler: retry it
    // for as long as the busy timeout allows while another process writes.
    auto deadline = absl::Now() + absl::Milliseconds(options.busy_timeout_ms);
    absl::Status wal = Exec(db, "PRAGMA journal_mode = WAL");
    while (wal.code() == absl::StatusCode::kUnavailable &&
           absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(10));
      wal = Exec(db, "PRAGMA journal_mode = WAL");
    }
    RETURN_IF_ERROR(wal);
  }
  RETURN_IF_ERROR(reg->Migrate());
  return reg;
}

absl::Status SqliteRegistry::Migrate() {
  return sqlite::MigrateSchema(db_, path_, kSchemaVersion);
}

std::string SqliteRegistry::Describe() const {
  return absl::StrCat("sqlite:", path_);
}

absl::Status SqliteRegistry::AddVersion(const ModelVersion& v) {
  absl::MutexLock lock(&mu_);
  return InWriteTx(db_,
                   [&](SqliteRows& rows) { return sql::AddVersion(rows, v); });
}

absl::StatusOr<ModelVersion> SqliteRegistry::GetVersion(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_, false));
  Stmt s(db_, absl::StrCat("SELECT ", kVersionColumns,
                           " FROM versions WHERE id = ?"));
  s.Bind(1, id);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) {
    SqliteRows rows(db_);
    return sql::NoSuchVersion(rows, id);
  }
  ModelVersion v = ReadVersionRow(s);
  Stmt f(db_,
         "SELECT path, sha256, size FROM artifact_files WHERE version_id = ? "
         "ORDER BY path");
  f.Bind(1, id);
  RETURN_IF_ERROR(f.ForEachRow([&]() -> absl::Status {
    v.files.push_back({f.Text(0), f.Text(1), static_cast<uint64_t>(f.Int(2))});
    return absl::OkStatus();
  }));
  Stmt e(
      db_,
      "SELECT environment FROM validations WHERE version_id = ? AND valid = 1 "
      "ORDER BY environment");
  e.Bind(1, id);
  RETURN_IF_ERROR(e.ForEachRow([&]() -> absl::Status {
    v.deployment_environments.push_back(e.Text(0));
    return absl::OkStatus();
  }));
  return v;
}

absl::StatusOr<std::vector<ModelVersion>> SqliteRegistry::ListVersions() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_, false));
  std::vector<ModelVersion> out;
  Index index;
  RETURN_IF_ERROR(ReserveForVersions(db_, index, out));
  Stmt s(db_, absl::StrCat("SELECT ", kVersionColumns,
                           " FROM versions ORDER BY seq"));
  RETURN_IF_ERROR(s.ForEachRow([&]() -> absl::Status {
    index.emplace(s.Text(0), out.size());
    out.push_back(ReadVersionRow(s));
    return absl::OkStatus();
  }));
  Stmt f(db_,
         "SELECT version_id, path, sha256, size FROM artifact_files ORDER BY "
         "version_id, path");
  RETURN_IF_ERROR(f.ForEachRow([&]() -> absl::Status {
    auto it = index.find(f.Text(0));
    if (it != index.end()) {
      out[it->second].files.push_back(
          {f.Text(1), f.Text(2), static_cast<uint64_t>(f.Int(3))});
    }
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(AddValidatedEnvironments(db_, index, out));
  return out;
}

absl::StatusOr<std::vector<ModelVersion>>
SqliteRegistry::ListVersionSummaries() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_, false));
  std::vector<ModelVersion> out;
  Index index;
  RETURN_IF_ERROR(ReserveForVersions(db_, index, out));
  // No JSON columns: parsing them is most of the cost of a full listing.
  Stmt s(db_,
         "SELECT id, model_type, architecture, file_path, creation_date, "
         "checksum, "
         "size_bytes, validation_status, actor, is_directory FROM versions "
         "ORDER BY seq");
  RETURN_IF_ERROR(s.ForEachRow([&]() -> absl::Status {
    ModelVersion v;
    v.version_id = s.Text(0);
    v.model_type = s.Text(1);
    v.architecture = s.Text(2);
    v.file_path = s.Text(3);
    v.creation_date = s.Text(4);
    v.checksum = s.Text(5);
    v.size_bytes = static_cast<uint64_t>(s.Int(6));
    v.validation_status =
        ParseValidationStatus(s.Text(7)).value_or(ValidationStatus::kPending);
    v.actor = s.Text(8);
    v.is_directory = s.Int(9) != 0;
    index.emplace(v.version_id, out.size());
    out.push_back(std::move(v));
    return absl::OkStatus();
  }));
  RETURN_IF_ERROR(AddValidatedEnvironments(db_, index, out));
  return out;
}

absl::StatusOr<std::vector<std::string>> SqliteRegistry::ListVersionIds() {
  absl::MutexLock lock(&mu_);
  return Column(db_, "SELECT id FROM versions ORDER BY seq");
}

absl::Status SqliteRegistry::PutEnvironment(const Environment& e) {
  absl::MutexLock lock(&mu_);
  return InWriteTx(
      db_, [&](SqliteRows& rows) { return sql::PutEnvironment(rows, e); });
}

absl::StatusOr<Environment> SqliteRegistry::GetEnvironment(
    absl::string_view name) {
  absl::MutexLock lock(&mu_);
  Stmt s(db_, "SELECT spec FROM environments WHERE name = ?");
  s.Bind(1, name);
  ASSIGN_OR_RETURN(bool row, s.Step());
  if (!row) {
    SqliteRows rows(db_);
    return sql::NoSuchEnvironment(rows, name);
  }
  return EnvironmentFromJson(ParseStored(s.Text(0)),
                             absl::StrCat("environment ", name));
}

absl::StatusOr<std::vector<Environment>> SqliteRegistry::ListEnvironments() {
  absl::MutexLock lock(&mu_);
  Stmt s(db_, "SELECT name, spec FROM environments ORDER BY name");
  std::vector<Environment> out;
  RETURN_IF_ERROR(s.ForEachRow([&]() -> absl::Status {
    ASSIGN_OR_RETURN(
        Environment e,
        EnvironmentFromJson(ParseStored(s.Text(1)),
                            absl::StrCat("environment ", s.Text(0))));
    out.push_back(std::move(e));
    return absl::OkStatus();
  }));
  return out;
}

absl::Status SqliteRegistry::RecordValidation(const ValidationRecord& r) {
  absl::MutexLock lock(&mu_);
  return InWriteTx(
      db_, [&](SqliteRows& rows) { return sql::RecordValidation(rows, r); });
}

absl::StatusOr<std::vector<ValidationRecord>> SqliteRegistry::ListValidations(
    absl::string_view version_id) {
  absl::MutexLock lock(&mu_);
  Stmt s(
      db_,
      "SELECT version_id, environment, valid, result, override_reason, actor, "
      "validated_at FROM validations WHERE ?1 = '' OR version_id = ?1 "
      "ORDER BY version_id, environment");
  s.Bind(1, version_id);
  std::vector<ValidationRecord> out;
  RETURN_IF_ERROR(s.ForEachRow([&]() -> absl::Status {
    out.push_back({s.Text(0), s.Text(1), s.Int(2) != 0, ParseStored(s.Text(3)),
                   s.Text(4), s.Text(5), s.Text(6)});
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>>
SqliteRegistry::ListImportedValidations() {
  absl::MutexLock lock(&mu_);
  // Only a result whose text holds "imported", or a \u escape (the one way
  // JSON can spell a key's letters otherwise), can be an import: those few
  // are parsed and judged by IsImportedValidation, as every other reader
  // judges them; the rest are not parsed at all.
  Stmt s(db_,
         "SELECT version_id, environment, result FROM validations WHERE "
         "instr(result, 'imported') > 0 OR instr(result, '\\u') > 0 "
         "ORDER BY version_id, environment");
  std::vector<std::pair<std::string, std::string>> out;
  RETURN_IF_ERROR(s.ForEachRow([&]() -> absl::Status {
    if (IsImportedValidation(ParseStored(s.Text(2))))
      out.emplace_back(s.Text(0), s.Text(1));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<DeploymentEvent> SqliteRegistry::Activate(
    DeploymentEvent event) {
  absl::MutexLock lock(&mu_);
  return InWriteTx(db_, [&](SqliteRows& rows) {
    return sql::Activate(rows, std::move(event));
  });
}

absl::StatusOr<std::optional<std::string>> SqliteRegistry::ActiveVersion(
    absl::string_view environment) {
  absl::MutexLock lock(&mu_);
  return SqliteRows(db_).LastActive(std::string(environment));
}

absl::StatusOr<std::vector<DeploymentEvent>> SqliteRegistry::History(
    absl::string_view environment) {
  absl::MutexLock lock(&mu_);
  Stmt s(
      db_,
      "SELECT seq, environment, version_id, previous_version_id, kind, actor, "
      "reason, created_at FROM deployments WHERE ?1 = '' OR environment = ?1 "
      "ORDER BY seq");
  s.Bind(1, environment);
  std::vector<DeploymentEvent> out;
  RETURN_IF_ERROR(s.ForEachRow([&]() -> absl::Status {
    out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Text(3),
                   s.Text(4) == "rollback" ? DeploymentKind::kRollback
                                           : DeploymentKind::kPromote,
                   s.Text(5), s.Text(6), s.Text(7)});
    return absl::OkStatus();
  }));
  return out;
}

absl::Status SqliteRegistry::Import(const RegistrySnapshot& snapshot) {
  absl::MutexLock lock(&mu_);
  return InWriteTx(
      db_, [&](SqliteRows& rows) { return sql::Import(rows, snapshot); });
}

absl::Status SqliteRegistry::UpdateEnvironment(
    absl::string_view name,
    const std::function<absl::Status(Environment&)>& change,
    const AuditNote& note) {
  absl::MutexLock lock(&mu_);
  return InWriteTx(db_, [&](SqliteRows& rows) {
    return sql::UpdateEnvironment(rows, std::string(name), change, note);
  });
}

absl::Status SqliteRegistry::RecordEvent(const AuditNote& note) {
  absl::MutexLock lock(&mu_);
  return InWriteTx(
      db_, [&](SqliteRows& rows) { return sql::RecordEvent(rows, note); });
}

absl::Status SqliteRegistry::AddSignature(const StoredSignature& sig) {
  absl::MutexLock lock(&mu_);
  return InWriteTx(
      db_, [&](SqliteRows& rows) { return sql::AddSignature(rows, sig); });
}

absl::StatusOr<std::vector<StoredSignature>> SqliteRegistry::ListSignatures(
    absl::string_view version_id) {
  absl::MutexLock lock(&mu_);
  Stmt s(db_,
         "SELECT version_id, key_id, envelope, actor, signed_at FROM "
         "signatures WHERE version_id = ? ORDER BY key_id");
  s.Bind(1, version_id);
  std::vector<StoredSignature> out;
  RETURN_IF_ERROR(s.ForEachRow([&]() -> absl::Status {
    out.push_back({s.Text(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4)});
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<AuditRecord>> SqliteRegistry::ListAudit() {
  absl::MutexLock lock(&mu_);
  return sqlite::ReadAudit(db_);
}

absl::StatusOr<Registry::AuditPage> SqliteRegistry::ListAuditPage(
    size_t offset, size_t limit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_, false));
  return sqlite::ReadAuditPage(db_, offset, limit);
}

absl::StatusOr<AuditSnapshot> SqliteRegistry::ReadAuditSnapshot() {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(Transaction tx, Transaction::Begin(db_, false));
  return sqlite::ReadAuditSnapshot(db_);
}

}  // namespace spatial::registry
