// The SQL adapters' write paths over RowTx; see sql_tx.h. Stateless; each
// call uses only the RowTx it is given.
#include "src/registry/sql_tx.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/legacy_json.h"
#include "src/registry/sql_rows.h"

namespace spatial::registry::sql {

absl::Status NoSuchVersion(RowTx& tx, absl::string_view id) {
  auto ids = tx.VersionIds();
  return UnknownVersion(id, ids.ok() ? *ids : std::vector<std::string>());
}

absl::Status NoSuchEnvironment(RowTx& tx, absl::string_view name) {
  auto names = tx.EnvironmentNames();
  return UnknownEnvironment(name,
                            names.ok() ? *names : std::vector<std::string>());
}

absl::Status AddVersion(RowTx& tx, const ModelVersion& v) {
  ASSIGN_OR_RETURN(std::optional<std::string> existing, tx.InsertVersion(v));
  if (existing) return AlreadyRegistered(v.version_id, *existing, v.checksum);
  return tx.AppendAudit(RegisterNote(v), {AuditedRow::Version(v.version_id)});
}

absl::Status PutEnvironment(RowTx& tx, const Environment& e) {
  RETURN_IF_ERROR(tx.UpsertEnvironment(e));
  return tx.AppendAudit(PutEnvironmentNote(e),
                        {AuditedRow::Environment(e.name)});
}

absl::Status RecordValidation(RowTx& tx, const ValidationRecord& r) {
  ASSIGN_OR_RETURN(bool found, tx.LockVersion(r.version_id));
  if (!found) return NoSuchVersion(tx, r.version_id);
  RETURN_IF_ERROR(tx.UpsertValidation(r));
  return tx.AppendAudit(ValidateNote(r),
                        {AuditedRow::Validation(r.version_id, r.environment)});
}

absl::StatusOr<DeploymentEvent> Activate(RowTx& tx, DeploymentEvent e) {
  RETURN_IF_ERROR(tx.LockHistory());
  ASSIGN_OR_RETURN(bool version, tx.VersionExists(e.version_id));
  if (!version) return NoSuchVersion(tx, e.version_id);
  ASSIGN_OR_RETURN(bool environment, tx.EnvironmentExists(e.environment));
  if (!environment) return NoSuchEnvironment(tx, e.environment);
  ASSIGN_OR_RETURN(std::optional<bool> passed,
                   tx.ValidationPassed(e.version_id, e.environment));
  if (!passed.value_or(false)) {
    return NotValidated(e.version_id, e.environment, passed.has_value());
  }
  ASSIGN_OR_RETURN(std::optional<std::string> current,
                   tx.LastActive(e.environment));
  e.previous_version_id = current.value_or("");
  if (e.expect_active && *e.expect_active != e.previous_version_id) {
    return ActiveChanged(e, e.previous_version_id);
  }
  if (e.previous_version_id == e.version_id) {
    return AlreadyActive(e.version_id, e.environment);
  }
  e.created_at = base::FormatIso8601(absl::Now());
  ASSIGN_OR_RETURN(e.seq, tx.InsertDeployment(e));
  RETURN_IF_ERROR(tx.AppendAudit(
      ActivateNote(e),
      {AuditedRow::Deployment(e.seq, e.version_id, e.environment)}));
  RETURN_IF_ERROR(tx.AnnounceChange(e.environment));
  return e;
}

absl::Status Import(RowTx& tx, const RegistrySnapshot& snapshot) {
  // Lock order as in Activate: the history first, then rows.
  if (!snapshot.deployments.empty()) RETURN_IF_ERROR(tx.LockHistory());
  std::vector<AuditedRow> rows;
  for (const auto& e : snapshot.environments) {
    RETURN_IF_ERROR(tx.UpsertEnvironment(e));
    rows.push_back(AuditedRow::Environment(e.name));
  }
  std::vector<std::string> added;
  for (const auto& v : snapshot.versions) {
    ASSIGN_OR_RETURN(std::optional<std::string> existing, tx.InsertVersion(v));
    if (existing && *existing != v.checksum) {
      return ImportChecksumConflict(v.version_id, *existing, v.checksum);
    }
    if (!existing) {
      added.push_back(v.version_id);
      rows.push_back(AuditedRow::Version(v.version_id));
    }
  }
  for (const auto& r : snapshot.validations) {
    // A missing version is the foreign key's to report, as refused.
    RETURN_IF_ERROR(tx.LockVersion(r.version_id).status());
    absl::Status s = tx.UpsertValidation(r);
    if (!s.ok()) return ImportValidationRefused(r, s.message());
    rows.push_back(AuditedRow::Validation(r.version_id, r.environment));
  }
  for (const auto& e : snapshot.deployments) {
    ASSIGN_OR_RETURN(std::optional<std::string> current,
                     tx.LastActive(e.environment));
    if (current.value_or("") != e.previous_version_id) {
      return ImportHistoryBreaksChain(e, current.value_or(""));
    }
    absl::StatusOr<int64_t> seq = tx.InsertDeployment(e);
    if (!seq.ok()) return ImportDeploymentRefused(e, seq.status().message());
    rows.push_back(AuditedRow::Deployment(*seq, e.version_id, e.environment));
  }
  for (const auto& sig : snapshot.signatures) {
    ASSIGN_OR_RETURN(bool found, tx.LockVersion(sig.version_id));
    if (!found) return NoSuchVersion(tx, sig.version_id);
    RETURN_IF_ERROR(tx.UpsertSignature(sig));
    rows.push_back(AuditedRow::Signature(sig.version_id, sig.key_id));
  }
  RETURN_IF_ERROR(tx.AppendAudit(ImportNote(snapshot, added), rows));
  for (const auto& e : snapshot.deployments) {
    RETURN_IF_ERROR(tx.AnnounceChange(e.environment));
  }
  return absl::OkStatus();
}

absl::Status RecordEvent(RowTx& tx, const AuditNote& note) {
  if (note.action.empty() || note.actor.empty()) {
    return absl::InvalidArgumentError(
        "an audit record needs an actor and an action");
  }
  return tx.AppendAudit(note, {});
}

absl::Status UpdateEnvironment(
    RowTx& tx, const std::string& name,
    const std::function<absl::Status(Environment&)>& change,
    const AuditNote& note) {
  ASSIGN_OR_RETURN(std::optional<std::string> spec,
                   tx.LockEnvironmentSpec(name));
  if (!spec) return NoSuchEnvironment(tx, name);
  ASSIGN_OR_RETURN(Environment e,
                   EnvironmentFromJson(ParseStored(*spec),
                                       absl::StrCat("environment ", name)));
  RETURN_IF_ERROR(change(e));
  if (e.name != name) {
    return absl::InvalidArgumentError("an environment cannot be renamed");
  }
  RETURN_IF_ERROR(tx.UpsertEnvironment(e));
  return tx.AppendAudit(note, {AuditedRow::Environment(name)});
}

absl::Status AddSignature(RowTx& tx, const StoredSignature& sig) {
  ASSIGN_OR_RETURN(bool found, tx.LockVersion(sig.version_id));
  if (!found) return NoSuchVersion(tx, sig.version_id);
  RETURN_IF_ERROR(tx.UpsertSignature(sig));
  return tx.AppendAudit(SignNote(sig),
                        {AuditedRow::Signature(sig.version_id, sig.key_id)});
}

}  // namespace spatial::registry::sql
