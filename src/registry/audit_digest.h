// What an audit record vouches for in each row it made: the row's stored
// columns, hashed. Links (audit_links.h) catch a row deleted, added or
// re-pointed; digests catch a row edited in place (a validation flipped to
// valid, a forged measurement, a trusted key added to an environment's spec,
// a file's checksum swapped), since every column but audit_seq (and the
// version's validation_status, which is derived from its validations) is
// covered. The SQL here is the one both adapters run, so each dialect reads
// the same columns in the same form; the digests are compared only within the
// registry that wrote them (a migration starts a new log). Pure; thread-safe.
#ifndef SPATIAL_REGISTRY_AUDIT_DIGEST_H_
#define SPATIAL_REGISTRY_AUDIT_DIGEST_H_

#include <optional>
#include <string>
#include <vector>

#include "src/registry/audit_links.h"

namespace spatial::registry {

enum class SqlDialect { kSqlite, kPostgres };

// The statements of one audited kind. Both selects return the row's key
// columns (as AuditedRow's factory for the kind takes them), then audit_seq,
// then the content columns, all readable as text.
struct AuditedTable {
  AuditedKind kind;
  std::string select_all;  // every row, in a stable order
  std::string select_one;  // the row whose keys are bound as parameters 1..k
  std::string link;        // sets audit_seq (parameter 1) of the row whose
                           // keys are parameters 2..k+1
  int columns = 0;         // columns of a select's result
};

// The five kinds, in the order a snapshot lists them.
const std::vector<AuditedTable>& AuditedTables(SqlDialect dialect);
const AuditedTable& AuditedTableFor(SqlDialect dialect, AuditedKind kind);

// The values `row`'s keys bind to, in parameter order (all as text).
std::vector<std::string> KeyParams(const AuditedRow& row);

// The row a select's result row describes (cells as text; nullopt for NULL).
// The content is set from the cells after audit_seq.
AuditedRow RowFromCells(AuditedKind kind,
                        const std::vector<std::optional<std::string>>& cells);

// A version's artifact files are part of its content: select (version_id,
// path, sha256, size) for every version or for the version bound as
// parameter 1, and append each to its version's row.
std::string ArtifactFilesSql(SqlDialect dialect, bool one_version);
void AppendFileCells(AuditedRow& version,
                     const std::vector<std::string>& cells);

// sha256 hex of the row's kind and content; nullopt when the content was not
// read.
std::optional<std::string> ContentDigest(const AuditedRow& row);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_AUDIT_DIGEST_H_
