#include "src/registry/sqlite/sqlite_audit.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/sql_rows.h"
#include "src/registry/sqlite/sqlite_db.h"

namespace spatial::registry::sqlite {
namespace {

std::optional<int64_t> SeqColumn(const Stmt& s, int col) {
  if (s.IsNull(col)) return std::nullopt;
  return s.Int(col);
}

absl::Status Link(sqlite3* db, const AuditedRow& row, int64_t seq) {
  switch (row.kind) {
    case AuditedKind::kEnvironment: {
      Stmt s(db, "UPDATE environments SET audit_seq = ? WHERE name = ?");
      return s.Bind(1, seq).Bind(2, row.environment).Run();
    }
    case AuditedKind::kVersion: {
      Stmt s(db, "UPDATE versions SET audit_seq = ? WHERE id = ?");
      return s.Bind(1, seq).Bind(2, row.version_id).Run();
    }
    case AuditedKind::kValidation: {
      Stmt s(db,
             "UPDATE validations SET audit_seq = ? WHERE version_id = ? AND "
             "environment = ?");
      return s.Bind(1, seq)
          .Bind(2, row.version_id)
          .Bind(3, row.environment)
          .Run();
    }
    case AuditedKind::kDeployment: {
      Stmt s(db, "UPDATE deployments SET audit_seq = ? WHERE seq = ?");
      return s.Bind(1, seq).Bind(2, row.deployment_seq).Run();
    }
    case AuditedKind::kSignature: {
      Stmt s(db,
             "UPDATE signatures SET audit_seq = ? WHERE version_id = ? AND "
             "key_id = ?");
      return s.Bind(1, seq).Bind(2, row.version_id).Bind(3, row.key_id).Run();
    }
  }
  return absl::InternalError("unknown audited row kind");
}

absl::StatusOr<std::vector<AuditedRow>> ReadRows(sqlite3* db) {
  std::vector<AuditedRow> out;
  auto each = [&](const char* sql, auto make) -> absl::Status {
    Stmt s(db, sql);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return absl::OkStatus();
      out.push_back(make(s));
    }
  };
  RETURN_IF_ERROR(each("SELECT name, audit_seq FROM environments ORDER BY name",
                       [](const Stmt& s) {
                         AuditedRow r = AuditedRow::Environment(s.Text(0));
                         r.audit_seq = SeqColumn(s, 1);
                         return r;
                       }));
  RETURN_IF_ERROR(each("SELECT id, audit_seq FROM versions ORDER BY seq",
                       [](const Stmt& s) {
                         AuditedRow r = AuditedRow::Version(s.Text(0));
                         r.audit_seq = SeqColumn(s, 1);
                         return r;
                       }));
  RETURN_IF_ERROR(each(
      "SELECT version_id, environment, audit_seq FROM validations ORDER BY "
      "version_id, environment",
      [](const Stmt& s) {
        AuditedRow r = AuditedRow::Validation(s.Text(0), s.Text(1));
        r.audit_seq = SeqColumn(s, 2);
        return r;
      }));
  RETURN_IF_ERROR(each(
      "SELECT seq, version_id, environment, audit_seq FROM deployments ORDER "
      "BY seq",
      [](const Stmt& s) {
        AuditedRow r = AuditedRow::Deployment(s.Int(0), s.Text(1), s.Text(2));
        r.audit_seq = SeqColumn(s, 3);
        return r;
      }));
  RETURN_IF_ERROR(
      each("SELECT version_id, key_id, audit_seq FROM signatures ORDER BY "
           "version_id, key_id",
           [](const Stmt& s) {
             AuditedRow r = AuditedRow::Signature(s.Text(0), s.Text(1));
             r.audit_seq = SeqColumn(s, 2);
             return r;
           }));
  return out;
}

}  // namespace

absl::Status AppendAudit(sqlite3* db, const AuditNote& note,
                         const std::vector<AuditedRow>& rows) {
  std::optional<AuditRecord> prev;
  {
    Stmt last(db, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    ASSIGN_OR_RETURN(bool row, last.Step());
    if (row) {
      prev.emplace();
      prev->seq = last.Int(0);
      prev->hash = last.Text(1);
    }
  }
  AuditRecord r = NextAuditRecord(prev, WithRows(note, rows),
                                  base::FormatIso8601(absl::Now()));
  Stmt ins(db,
           "INSERT INTO audit_log (seq, time, actor, action, subject, details, "
           "prev_hash, hash) VALUES (?,?,?,?,?,?,?,?)");
  ins.Bind(1, r.seq)
      .Bind(2, r.time)
      .Bind(3, r.actor)
      .Bind(4, r.action)
      .Bind(5, r.subject)
      .Bind(6, r.details.dump())
      .Bind(7, r.prev_hash)
      .Bind(8, r.hash);
  RETURN_IF_ERROR(ins.Run());
  for (const auto& row : rows) RETURN_IF_ERROR(Link(db, row, r.seq));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AuditRecord>> ReadAudit(sqlite3* db) {
  Stmt s(db,
         "SELECT seq, time, actor, action, subject, details, prev_hash, hash "
         "FROM audit_log ORDER BY seq");
  std::vector<AuditRecord> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    out.push_back({s.Int(0), s.Text(1), s.Text(2), s.Text(3), s.Text(4),
                   sql::ParseStored(s.Text(5)), s.Text(6), s.Text(7)});
  }
  return out;
}

absl::StatusOr<AuditSnapshot> ReadAuditSnapshot(sqlite3* db) {
  AuditSnapshot out;
  {
    Stmt id(db, "SELECT value FROM registry_meta WHERE key = 'registry_id'");
    ASSIGN_OR_RETURN(bool row, id.Step());
    if (!row) {
      return absl::DataLossError(
          "the registry has no registry_id in registry_meta (the row was "
          "deleted)");
    }
    out.registry_id = id.Text(0);
  }
  ASSIGN_OR_RETURN(out.records, ReadAudit(db));
  ASSIGN_OR_RETURN(out.rows, ReadRows(db));
  return out;
}

absl::Status AdoptExistingRows(sqlite3* db) {
  Stmt id(db,
          "INSERT INTO registry_meta (key, value) VALUES ('registry_id', ?)");
  RETURN_IF_ERROR(id.Bind(1, NewRegistryId()).Run());
  ASSIGN_OR_RETURN(std::vector<AuditedRow> rows, ReadRows(db));
  if (rows.empty()) return absl::OkStatus();
  return AppendAudit(db, AdoptNote(rows), rows);
}

}  // namespace spatial::registry::sqlite
