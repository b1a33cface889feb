// PgRows; see pg_rows.h. Used by one thread, inside its transaction.
#include "src/registry/postgres/pg_rows.h"

#include "absl/strings/str_cat.h"
#include "src/registry/legacy_json.h"
#include "src/registry/postgres/pg_audit.h"
#include "src/registry/postgres/pg_listener.h"
#include "src/registry/postgres/pg_session.h"
#include "src/registry/sql_rows.h"

namespace spatial::registry::pg {

using sql::kVersionColumns;

template <typename Fn>
auto PgRows::Guard(Fn&& fn) -> decltype(fn()) {
  using Result = decltype(fn());
  if (error_) return Result(absl::AbortedError("an earlier query failed"));
  try {
    return fn();
  } catch (const pqxx::integrity_constraint_violation&) {
    return Result(CurrentExceptionToStatus(what_, described_, conninfo_));
  } catch (...) {
    error_ = std::current_exception();
    return Result(CurrentExceptionToStatus(what_, described_, conninfo_));
  }
}

// One writer of history at a time, registry-wide: the seq each one draws
// while holding the lock is then its commit order, and the active version it
// reads cannot change before it commits. Readers are not blocked.
absl::Status PgRows::LockHistory() {
  return Guard([&] {
    tx_.exec("LOCK TABLE deployments IN EXCLUSIVE MODE");
    return absl::OkStatus();
  });
}

absl::StatusOr<bool> PgRows::VersionExists(const std::string& id) {
  return Guard([&]() -> absl::StatusOr<bool> {
    return !tx_.exec_params("SELECT 1 FROM versions WHERE id = $1", id).empty();
  });
}

// Takes the version's row lock first: two validations of one version then
// update its status one after the other, each seeing the other's record.
// NO KEY UPDATE, not UPDATE: a promotion's foreign-key check (KEY SHARE) on
// the same row must not wait for it, or the two could deadlock.
absl::StatusOr<bool> PgRows::LockVersion(const std::string& id) {
  return Guard([&]() -> absl::StatusOr<bool> {
    return !tx_.exec_params(
                   "SELECT 1 FROM versions WHERE id = $1 FOR NO KEY UPDATE", id)
                .empty();
  });
}

// A concurrent insert of the same id waits for the other transaction, so the
// answer is never a half-seen row.
absl::StatusOr<std::optional<std::string>> PgRows::InsertVersion(
    const ModelVersion& v) {
  using Out = std::optional<std::string>;
  return Guard([&]() -> absl::StatusOr<Out> {
    const sql::VersionColumns c = sql::ToColumns(v);
    pqxx::result r = tx_.exec_params(
        absl::StrCat(
            "INSERT INTO versions (", kVersionColumns,
            ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) "
            "ON CONFLICT (id) DO NOTHING RETURNING seq"),
        c.id, c.model_type, c.architecture, c.file_path, c.creation_date,
        c.checksum, c.size_bytes, c.metrics, c.compatibility, c.training_config,
        c.tags, c.validation_status, c.actor, c.is_directory);
    if (r.empty()) {
      pqxx::result e = tx_.exec_params(
          "SELECT checksum FROM versions WHERE id = $1", v.version_id);
      return Out(e.empty() ? std::string() : Text(e[0][0]));
    }
    for (const auto& f : v.files) {
      tx_.exec_params(
          "INSERT INTO artifact_files (version_id, path, sha256, size) VALUES "
          "($1,$2,$3,$4)",
          v.version_id, f.path, f.sha256, static_cast<int64_t>(f.size));
    }
    return Out();
  });
}

absl::StatusOr<bool> PgRows::EnvironmentExists(const std::string& name) {
  return Guard([&]() -> absl::StatusOr<bool> {
    return !tx_.exec_params("SELECT 1 FROM environments WHERE name = $1", name)
                .empty();
  });
}

absl::StatusOr<std::optional<std::string>> PgRows::LockEnvironmentSpec(
    const std::string& name) {
  using Out = std::optional<std::string>;
  return Guard([&]() -> absl::StatusOr<Out> {
    pqxx::result r = tx_.exec_params(
        "SELECT spec FROM environments WHERE name = $1 FOR UPDATE", name);
    if (r.empty()) return Out();
    return Out(Text(r[0][0]));
  });
}

absl::Status PgRows::UpsertEnvironment(const Environment& e) {
  return Guard([&] {
    tx_.exec_params(
        "INSERT INTO environments (name, spec) VALUES ($1, $2) "
        "ON CONFLICT (name) DO UPDATE SET spec = excluded.spec",
        e.name, EnvironmentToJson(e).dump());
    return absl::OkStatus();
  });
}

// FOR SHARE: a concurrent re-validation waits until this commits.
absl::StatusOr<std::optional<bool>> PgRows::ValidationPassed(
    const std::string& version_id, const std::string& environment) {
  using Out = std::optional<bool>;
  return Guard([&]() -> absl::StatusOr<Out> {
    pqxx::result v = tx_.exec_params(
        "SELECT valid FROM validations WHERE version_id = $1 AND "
        "environment = $2 FOR SHARE",
        version_id, environment);
    if (v.empty()) return Out();
    return Out(v[0][0].as<bool>());
  });
}

absl::Status PgRows::UpsertValidation(const ValidationRecord& r) {
  return Guard([&] {
    tx_.exec_params(
        "INSERT INTO validations (version_id, environment, valid, result, "
        "override_reason, actor, validated_at) VALUES ($1,$2,$3,$4,$5,$6,$7) "
        "ON CONFLICT (version_id, environment) DO UPDATE SET valid = "
        "excluded.valid, result = excluded.result, override_reason = "
        "excluded.override_reason, actor = excluded.actor, validated_at = "
        "excluded.validated_at",
        r.version_id, r.environment, r.valid, r.result.dump(),
        r.override_reason, r.actor, r.validated_at);
    tx_.exec_params(
        "UPDATE versions SET validation_status = CASE WHEN EXISTS ("
        "SELECT 1 FROM validations WHERE version_id = $1 AND valid) "
        "THEN 'validated' WHEN EXISTS (SELECT 1 FROM validations WHERE "
        "version_id = $1 AND (result::jsonb ->> 'imported') IS DISTINCT FROM "
        "'true') THEN 'failed' ELSE validation_status END WHERE id = $1",
        r.version_id);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::optional<std::string>> PgRows::LastActive(
    const std::string& environment) {
  using Out = std::optional<std::string>;
  return Guard([&]() -> absl::StatusOr<Out> {
    pqxx::result r = tx_.exec_params(
        "SELECT version_id FROM deployments WHERE environment = $1 "
        "ORDER BY seq DESC LIMIT 1",
        environment);
    if (r.empty()) return Out();
    return Out(Text(r[0][0]));
  });
}

// The caller holds the deployments table lock (LockHistory).
absl::StatusOr<int64_t> PgRows::InsertDeployment(const DeploymentEvent& e) {
  return Guard([&]() -> absl::StatusOr<int64_t> {
    return tx_
        .exec_params1(
            "INSERT INTO deployments (environment, version_id, "
            "previous_version_id, kind, actor, reason, created_at) "
            "VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING seq",
            e.environment, e.version_id, e.previous_version_id,
            std::string{ToString(e.kind)}, e.actor, e.reason, e.created_at)[0]
        .as<int64_t>();
  });
}

absl::Status PgRows::UpsertSignature(const StoredSignature& sig) {
  return Guard([&] {
    tx_.exec_params(
        "INSERT INTO signatures (version_id, key_id, envelope, actor, "
        "signed_at) VALUES ($1,$2,$3,$4,$5) ON CONFLICT (version_id, "
        "key_id) DO UPDATE SET envelope = excluded.envelope, actor = "
        "excluded.actor, signed_at = excluded.signed_at",
        sig.version_id, sig.key_id, sig.envelope, sig.actor, sig.signed_at);
    return absl::OkStatus();
  });
}

absl::Status PgRows::AppendAudit(const AuditNote& note,
                                 const std::vector<AuditedRow>& rows) {
  return Guard([&] {
    pg::AppendAudit(tx_, note, rows);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<std::string>> PgRows::VersionIds() {
  return Guard([&]() -> absl::StatusOr<std::vector<std::string>> {
    return Column(tx_, "SELECT id FROM versions ORDER BY seq");
  });
}

absl::StatusOr<std::vector<std::string>> PgRows::EnvironmentNames() {
  return Guard([&]() -> absl::StatusOr<std::vector<std::string>> {
    return Column(tx_,
                  "SELECT name FROM environments ORDER BY name COLLATE \"C\"");
  });
}

absl::Status PgRows::AnnounceChange(const std::string& environment) {
  return Guard([&] {
    NotifyChange(tx_, environment);  // delivered at commit
    return absl::OkStatus();
  });
}

}  // namespace spatial::registry::pg
