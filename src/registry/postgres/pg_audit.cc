#include "src/registry/postgres/pg_audit.h"

#include <map>
#include <optional>
#include <stdexcept>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/base/text.h"
#include "src/registry/audit_digest.h"
#include "src/registry/postgres/pg_session.h"
#include "src/registry/sql_rows.h"

namespace spatial::registry::pg {
namespace {

using Tx = pqxx::transaction_base;

constexpr SqlDialect kDialect = SqlDialect::kPostgres;

// Every row of `t`'s kind, or the one whose keys are `keys`.
void ReadTable(Tx& tx, const AuditedTable& t,
               const std::vector<std::string>* keys,
               std::vector<AuditedRow>& out) {
  pqxx::result rows =
      keys ? tx.exec_params(t.select_one,
                            pqxx::prepare::make_dynamic_params(*keys))
           : tx.exec(t.select_all);
  for (const auto& r : rows) {
    std::vector<std::optional<std::string>> cells;
    for (int i = 0; i < t.columns; ++i) {
      if (r[i].is_null()) {
        cells.push_back(std::nullopt);
      } else {
        cells.push_back(Text(r[i]));
      }
    }
    out.push_back(RowFromCells(t.kind, cells));
  }
}

// Appends the artifact files of the versions in `rows` (all versions, or the
// one named by `version_id`) to their content.
void ReadFiles(Tx& tx, const std::string* version_id,
               std::vector<AuditedRow>& rows) {
  std::map<std::string, AuditedRow*> versions;
  for (auto& r : rows) {
    if (r.kind == AuditedKind::kVersion) versions[r.version_id] = &r;
  }
  if (versions.empty()) return;
  std::string sql = ArtifactFilesSql(kDialect, version_id != nullptr);
  pqxx::result files =
      version_id ? tx.exec_params(sql, *version_id) : tx.exec(sql);
  for (const auto& f : files) {
    auto it = versions.find(Text(f[0]));
    if (it == versions.end()) continue;
    AppendFileCells(*it->second,
                    {Text(f[0]), Text(f[1]), Text(f[2]), Text(f[3])});
  }
}

// `row` with its stored content, as the transaction sees it.
AuditedRow WithContent(Tx& tx, const AuditedRow& row) {
  std::vector<std::string> keys = KeyParams(row);
  std::vector<AuditedRow> found;
  ReadTable(tx, AuditedTableFor(kDialect, row.kind), &keys, found);
  if (found.size() != 1) {
    throw std::runtime_error(
        absl::StrCat("audit: ", DescribeRow(row), " was not written"));
  }
  ReadFiles(tx, &row.version_id, found);
  return found.front();
}

void Link(Tx& tx, const AuditedRow& row, int64_t seq) {
  std::vector<std::string> args = {absl::StrCat(seq)};
  for (auto& k : KeyParams(row)) args.push_back(std::move(k));
  tx.exec_params(AuditedTableFor(kDialect, row.kind).link,
                 pqxx::prepare::make_dynamic_params(args));
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
  std::vector<AuditedRow> read;
  for (const auto& row : rows) read.push_back(WithContent(tx, row));
  AuditRecord r = NextAuditRecord(prev, WithRows(note, read),
                                  base::FormatIso8601(absl::Now()));
  tx.exec_params(
      "INSERT INTO audit_log (seq, time, actor, action, subject, details, "
      "prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
      r.seq, r.time, r.actor, r.action, r.subject, r.details.dump(),
      r.prev_hash, r.hash);
  for (const auto& row : rows) Link(tx, row, r.seq);
}

namespace {

AuditRecord AuditRecordOf(const pqxx::row& row) {
  return {row[0].as<int64_t>(), Text(row[1]), Text(row[2]),
          Text(row[3]),         Text(row[4]), sql::ParseStored(Text(row[5])),
          Text(row[6]),         Text(row[7])};
}

}  // namespace

std::vector<AuditRecord> ReadAudit(Tx& tx) {
  std::vector<AuditRecord> out;
  for (const auto& row :
       tx.exec("SELECT seq, time, actor, action, subject, details, "
               "prev_hash, hash FROM audit_log ORDER BY seq")) {
    out.push_back(AuditRecordOf(row));
  }
  return out;
}

Registry::AuditPage ReadAuditPage(Tx& tx, size_t offset, size_t limit) {
  Registry::AuditPage page;
  page.total = tx.exec("SELECT COUNT(*) FROM audit_log")[0][0].as<int64_t>();
  for (const auto& row : tx.exec_params(
           "SELECT seq, time, actor, action, subject, details, prev_hash, "
           "hash FROM audit_log ORDER BY seq DESC LIMIT $1 OFFSET $2",
           static_cast<int64_t>(limit), static_cast<int64_t>(offset))) {
    page.records.push_back(AuditRecordOf(row));
  }
  return page;
}

std::vector<AuditedRow> ReadAuditedRows(Tx& tx) {
  std::vector<AuditedRow> out;
  for (const auto& t : AuditedTables(kDialect)) ReadTable(tx, t, nullptr, out);
  ReadFiles(tx, nullptr, out);
  return out;
}

void AdoptExistingRows(Tx& tx) {
  std::vector<AuditedRow> rows = ReadAuditedRows(tx);
  if (!rows.empty()) AppendAudit(tx, AdoptNote(rows), rows);
}

}  // namespace spatial::registry::pg
