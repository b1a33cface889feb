#include "src/registry/postgres/pg_audit.h"

#include <optional>

#include "absl/time/clock.h"
#include "src/base/text.h"
#include "src/registry/postgres/pg_session.h"
#include "src/registry/sql_rows.h"

namespace spatial::registry::pg {
namespace {

using Tx = pqxx::transaction_base;

std::optional<int64_t> Seq(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<int64_t>();
}

void Link(Tx& tx, const AuditedRow& row, int64_t seq) {
  switch (row.kind) {
    case AuditedKind::kEnvironment:
      tx.exec_params("UPDATE environments SET audit_seq = $1 WHERE name = $2",
                     seq, row.environment);
      return;
    case AuditedKind::kVersion:
      tx.exec_params("UPDATE versions SET audit_seq = $1 WHERE id = $2", seq,
                     row.version_id);
      return;
    case AuditedKind::kValidation:
      tx.exec_params(
          "UPDATE validations SET audit_seq = $1 WHERE version_id = $2 AND "
          "environment = $3",
          seq, row.version_id, row.environment);
      return;
    case AuditedKind::kDeployment:
      tx.exec_params("UPDATE deployments SET audit_seq = $1 WHERE seq = $2",
                     seq, row.deployment_seq);
      return;
    case AuditedKind::kSignature:
      tx.exec_params(
          "UPDATE signatures SET audit_seq = $1 WHERE version_id = $2 AND "
          "key_id = $3",
          seq, row.version_id, row.key_id);
      return;
  }
}

}  // namespace

void AppendAudit(Tx& tx, const AuditNote& note,
                 const std::vector<AuditedRow>& rows) {
  tx.exec("LOCK TABLE audit_log IN EXCLUSIVE MODE");
  std::optional<AuditRecord> prev;
  pqxx::result last =
      tx.exec("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  if (!last.empty()) {
    prev.emplace();
    prev->seq = last[0][0].as<int64_t>();
    prev->hash = Text(last[0][1]);
  }
  AuditRecord r = NextAuditRecord(prev, WithRows(note, rows),
                                  base::FormatIso8601(absl::Now()));
  tx.exec_params(
      "INSERT INTO audit_log (seq, time, actor, action, subject, details, "
      "prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
      r.seq, r.time, r.actor, r.action, r.subject, r.details.dump(),
      r.prev_hash, r.hash);
  for (const auto& row : rows) Link(tx, row, r.seq);
}

std::vector<AuditRecord> ReadAudit(Tx& tx) {
  std::vector<AuditRecord> out;
  for (const auto& row :
       tx.exec("SELECT seq, time, actor, action, subject, details, "
               "prev_hash, hash FROM audit_log ORDER BY seq")) {
    out.push_back({row[0].as<int64_t>(), Text(row[1]), Text(row[2]),
                   Text(row[3]), Text(row[4]), sql::ParseStored(Text(row[5])),
                   Text(row[6]), Text(row[7])});
  }
  return out;
}

std::vector<AuditedRow> ReadAuditedRows(Tx& tx) {
  std::vector<AuditedRow> out;
  for (const auto& r : tx.exec("SELECT name, audit_seq FROM environments "
                               "ORDER BY name COLLATE \"C\"")) {
    out.push_back(AuditedRow::Environment(Text(r[0])));
    out.back().audit_seq = Seq(r[1]);
  }
  for (const auto& r :
       tx.exec("SELECT id, audit_seq FROM versions ORDER BY seq")) {
    out.push_back(AuditedRow::Version(Text(r[0])));
    out.back().audit_seq = Seq(r[1]);
  }
  for (const auto& r : tx.exec(
           "SELECT version_id, environment, audit_seq FROM validations "
           "ORDER BY version_id COLLATE \"C\", environment COLLATE \"C\"")) {
    out.push_back(AuditedRow::Validation(Text(r[0]), Text(r[1])));
    out.back().audit_seq = Seq(r[2]);
  }
  for (const auto& r :
       tx.exec("SELECT seq, version_id, environment, audit_seq FROM "
               "deployments ORDER BY seq")) {
    out.push_back(
        AuditedRow::Deployment(r[0].as<int64_t>(), Text(r[1]), Text(r[2])));
    out.back().audit_seq = Seq(r[3]);
  }
  for (const auto& r :
       tx.exec("SELECT version_id, key_id, audit_seq FROM signatures "
               "ORDER BY version_id COLLATE \"C\", key_id COLLATE \"C\"")) {
    out.push_back(AuditedRow::Signature(Text(r[0]), Text(r[1])));
    out.back().audit_seq = Seq(r[2]);
  }
  return out;
}

void AdoptExistingRows(Tx& tx) {
  std::vector<AuditedRow> rows = ReadAuditedRows(tx);
  if (!rows.empty()) AppendAudit(tx, AdoptNote(rows), rows);
}

}  // namespace spatial::registry::pg
