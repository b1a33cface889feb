#include "src/registry/sqlite/sqlite_audit.h"

#include <map>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/audit_digest.h"
#include "src/registry/sql_rows.h"
#include "src/registry/sqlite/sqlite_db.h"

namespace spatial::registry::sqlite {
namespace {

constexpr SqlDialect kDialect = SqlDialect::kSqlite;

std::vector<std::optional<std::string>> Cells(const Stmt& s, int columns) {
  std::vector<std::optional<std::string>> out;
  for (int i = 0; i < columns; ++i) {
    if (s.IsNull(i)) {
      out.push_back(std::nullopt);
    } else {
      out.push_back(s.Text(i));
    }
  }
  return out;
}

// Every row of `t`'s kind, or the one whose keys are `keys`.
absl::Status ReadTable(sqlite3* db, const AuditedTable& t,
                       const std::vector<std::string>* keys,
                       std::vector<AuditedRow>& out) {
  Stmt s(db, keys ? t.select_one : t.select_all);
  if (keys) {
    for (size_t i = 0; i < keys->size(); ++i) s.Bind(int(i) + 1, (*keys)[i]);
  }
  for (;;) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return absl::OkStatus();
    out.push_back(RowFromCells(t.kind, Cells(s, t.columns)));
  }
}

// Appends the artifact files of the versions in `rows` (all versions, or the
// one named by `version_id`) to their content.
absl::Status ReadFiles(sqlite3* db, const std::string* version_id,
                       std::vector<AuditedRow>& rows) {
  std::map<std::string, AuditedRow*> versions;
  for (auto& r : rows) {
    if (r.kind == AuditedKind::kVersion) versions[r.version_id] = &r;
  }
  if (versions.empty()) return absl::OkStatus();
  Stmt s(db, ArtifactFilesSql(kDialect, version_id != nullptr));
  if (version_id) s.Bind(1, *version_id);
  for (;;) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return absl::OkStatus();
    auto it = versions.find(s.Text(0));
    if (it == versions.end()) continue;
    AppendFileCells(*it->second, {s.Text(0), s.Text(1), s.Text(2), s.Text(3)});
  }
}

// `row` with its stored content, as the caller's transaction sees it.
absl::StatusOr<AuditedRow> WithContent(sqlite3* db, const AuditedRow& row) {
  std::vector<std::string> keys = KeyParams(row);
  std::vector<AuditedRow> found;
  RETURN_IF_ERROR(
      ReadTable(db, AuditedTableFor(kDialect, row.kind), &keys, found));
  if (found.size() != 1) {
    return absl::InternalError(
        absl::StrCat("audit: ", DescribeRow(row), " was not written"));
  }
  RETURN_IF_ERROR(ReadFiles(db, &row.version_id, found));
  return found.front();
}

absl::Status Link(sqlite3* db, const AuditedRow& row, int64_t seq) {
  Stmt s(db, AuditedTableFor(kDialect, row.kind).link);
  s.Bind(1, seq);
  std::vector<std::string> keys = KeyParams(row);
  for (size_t i = 0; i < keys.size(); ++i) s.Bind(int(i) + 2, keys[i]);
  return s.Run();
}

absl::StatusOr<std::vector<AuditedRow>> ReadRows(sqlite3* db) {
  std::vector<AuditedRow> out;
  for (const auto& t : AuditedTables(kDialect)) {
    RETURN_IF_ERROR(ReadTable(db, t, nullptr, out));
  }
  RETURN_IF_ERROR(ReadFiles(db, nullptr, out));
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
  std::vector<AuditedRow> read;
  for (const auto& row : rows) {
    ASSIGN_OR_RETURN(AuditedRow with, WithContent(db, row));
    read.push_back(std::move(with));
  }
  AuditRecord r = NextAuditRecord(prev, WithRows(note, read),
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

absl::StatusOr<Registry::AuditPage> ReadAuditPage(sqlite3* db, size_t offset,
                                                  size_t limit) {
  Registry::AuditPage page;
  Stmt count(db, "SELECT COUNT(*) FROM audit_log");
  ASSIGN_OR_RETURN(bool has, count.Step());
  if (has) page.total = count.Int(0);
  Stmt s(db,
         "SELECT seq, time, actor, action, subject, details, prev_hash, hash "
         "FROM audit_log ORDER BY seq DESC LIMIT ? OFFSET ?");
  s.Bind(1, static_cast<int64_t>(limit)).Bind(2, static_cast<int64_t>(offset));
  for (;;) {
    ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) break;
    page.records.push_back({s.Int(0), s.Text(1), s.Text(2), s.Text(3),
                            s.Text(4), sql::ParseStored(s.Text(5)), s.Text(6),
                            s.Text(7)});
  }
  return page;
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
