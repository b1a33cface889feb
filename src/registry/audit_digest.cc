#include "src/registry/audit_digest.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/base/sha256.h"

namespace spatial::registry {
namespace {

// One kind's table: its key columns (the ones AuditedRow's factory takes, and
// the subset that identifies the row), and the content columns. A boolean is
// read as 0/1 in both dialects.
struct TableSpec {
  AuditedKind kind;
  const char* table;
  std::vector<const char*> keys;   // selected first
  std::vector<const char*> where;  // the keys that identify one row
  std::vector<const char*> content;
  std::vector<const char*> order;  // text columns are ordered byte-wise
};

const std::vector<TableSpec>& Specs() {
  static const auto* specs = new std::vector<TableSpec>{
      {AuditedKind::kEnvironment,
       "environments",
       {"name"},
       {"name"},
       {"spec"},
       {"name"}},
      {AuditedKind::kVersion,
       "versions",
       {"id"},
       {"id"},
       {"seq", "model_type", "architecture", "file_path", "creation_date",
        "checksum", "size_bytes", "metrics", "compatibility", "training_config",
        "tags", "actor", "CASE WHEN is_directory THEN 1 ELSE 0 END"},
       {"seq"}},
      {AuditedKind::kValidation,
       "validations",
       {"version_id", "environment"},
       {"version_id", "environment"},
       {"CASE WHEN valid THEN 1 ELSE 0 END", "result", "override_reason",
        "actor", "validated_at"},
       {"version_id", "environment"}},
      {AuditedKind::kDeployment,
       "deployments",
       {"seq", "version_id", "environment"},
       {"seq"},
       {"previous_version_id", "kind", "actor", "reason", "created_at"},
       {"seq"}},
      {AuditedKind::kSignature,
       "signatures",
       {"version_id", "key_id"},
       {"version_id", "key_id"},
       {"envelope", "actor", "signed_at"},
       {"version_id", "key_id"}},
  };
  return *specs;
}

std::string Param(SqlDialect d, int i) {
  return absl::StrCat(d == SqlDialect::kPostgres ? "$" : "?", i);
}

std::string OrderBy(SqlDialect d, const std::vector<const char*>& cols) {
  std::vector<std::string> out;
  for (const char* c : cols) {
    bool text = std::string(c) != "seq";
    out.push_back(d == SqlDialect::kPostgres && text
                      ? absl::StrCat(c, " COLLATE \"C\"")
                      : std::string(c));
  }
  return absl::StrJoin(out, ", ");
}

std::string Where(SqlDialect d, const std::vector<const char*>& cols,
                  int first) {
  std::vector<std::string> out;
  for (size_t i = 0; i < cols.size(); ++i) {
    out.push_back(absl::StrCat(cols[i], " = ", Param(d, first + int(i))));
  }
  return absl::StrJoin(out, " AND ");
}

AuditedTable Build(SqlDialect d, const TableSpec& s) {
  std::vector<std::string> cols(s.keys.begin(), s.keys.end());
  cols.push_back("audit_seq");
  cols.insert(cols.end(), s.content.begin(), s.content.end());
  std::string select =
      absl::StrCat("SELECT ", absl::StrJoin(cols, ", "), " FROM ", s.table);
  AuditedTable t;
  t.kind = s.kind;
  t.columns = int(cols.size());
  t.select_all = absl::StrCat(select, " ORDER BY ", OrderBy(d, s.order));
  t.select_one = absl::StrCat(select, " WHERE ", Where(d, s.where, 1));
  t.link = absl::StrCat("UPDATE ", s.table, " SET audit_seq = ", Param(d, 1),
                        " WHERE ", Where(d, s.where, 2));
  return t;
}

std::vector<AuditedTable> BuildAll(SqlDialect d) {
  std::vector<AuditedTable> out;
  for (const auto& s : Specs()) out.push_back(Build(d, s));
  return out;
}

}  // namespace

const std::vector<AuditedTable>& AuditedTables(SqlDialect dialect) {
  static const auto* sqlite =
      new std::vector<AuditedTable>(BuildAll(SqlDialect::kSqlite));
  static const auto* postgres =
      new std::vector<AuditedTable>(BuildAll(SqlDialect::kPostgres));
  return dialect == SqlDialect::kPostgres ? *postgres : *sqlite;
}

const AuditedTable& AuditedTableFor(SqlDialect dialect, AuditedKind kind) {
  for (const auto& t : AuditedTables(dialect)) {
    if (t.kind == kind) return t;
  }
  return AuditedTables(dialect).front();  // unreachable: every kind is listed
}

std::vector<std::string> KeyParams(const AuditedRow& r) {
  switch (r.kind) {
    case AuditedKind::kEnvironment:
      return {r.environment};
    case AuditedKind::kVersion:
      return {r.version_id};
    case AuditedKind::kValidation:
      return {r.version_id, r.environment};
    case AuditedKind::kDeployment:
      return {absl::StrCat(r.deployment_seq)};
    case AuditedKind::kSignature:
      return {r.version_id, r.key_id};
  }
  return {};
}

AuditedRow RowFromCells(AuditedKind kind,
                        const std::vector<std::optional<std::string>>& cells) {
  auto text = [&](size_t i) { return cells.at(i).value_or(""); };
  AuditedRow r;
  size_t keys = 0;
  switch (kind) {
    case AuditedKind::kEnvironment:
      r = AuditedRow::Environment(text(0));
      keys = 1;
      break;
    case AuditedKind::kVersion:
      r = AuditedRow::Version(text(0));
      keys = 1;
      break;
    case AuditedKind::kValidation:
      r = AuditedRow::Validation(text(0), text(1));
      keys = 2;
      break;
    case AuditedKind::kDeployment:
      r = AuditedRow::Deployment(std::stoll(text(0)), text(1), text(2));
      keys = 3;
      break;
    case AuditedKind::kSignature:
      r = AuditedRow::Signature(text(0), text(1));
      keys = 2;
      break;
  }
  if (cells.size() > keys && cells[keys]) {
    r.audit_seq = std::stoll(*cells[keys]);
  }
  r.content.emplace();
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i == keys) continue;  // audit_seq: the link, not the content
    r.content->push_back(cells[i] ? *cells[i] : std::string("\x00NULL", 5));
  }
  return r;
}

std::string ArtifactFilesSql(SqlDialect dialect, bool one_version) {
  return absl::StrCat(
      "SELECT version_id, path, sha256, size FROM artifact_files",
      one_version ? absl::StrCat(" WHERE version_id = ", Param(dialect, 1))
                  : std::string(),
      " ORDER BY ", OrderBy(dialect, {"version_id", "path"}));
}

void AppendFileCells(AuditedRow& version,
                     const std::vector<std::string>& cells) {
  if (!version.content) version.content.emplace();
  version.content->push_back("file");
  version.content->insert(version.content->end(), cells.begin() + 1,
                          cells.end());
}

std::optional<std::string> ContentDigest(const AuditedRow& row) {
  if (!row.content) return std::nullopt;
  // Length-prefixed cells: no two contents encode alike, whatever bytes the
  // cells hold.
  std::string encoded = AuditedKindName(row.kind);
  for (const auto& c : *row.content) {
    absl::StrAppend(&encoded, "|", c.size(), ":", c);
  }
  return base::Sha256Hex(encoded);
}

}  // namespace spatial::registry
