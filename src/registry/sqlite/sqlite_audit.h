// The audit side of SqliteRegistry: appending a record and linking the rows
// it made to it, reading the log with those rows, and the upgrade that gives
// an existing registry its id and links. Internal to src/registry/sqlite/;
// the caller holds the connection's mutex and, where noted, a transaction.
#ifndef SPATIAL_REGISTRY_SQLITE_SQLITE_AUDIT_H_
#define SPATIAL_REGISTRY_SQLITE_SQLITE_AUDIT_H_

#include <sqlite3.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "src/registry/audit.h"
#include "src/registry/audit_links.h"
#include "src/registry/registry.h"

namespace spatial::registry::sqlite {

// Appends `note` (with details.rows naming `rows`) to the audit log and sets
// each row's audit_seq to the new record's seq. The caller holds a write
// transaction in which the rows were written.
absl::Status AppendAudit(sqlite3* db, const AuditNote& note,
                         const std::vector<AuditedRow>& rows);

// The whole log in seq order, as stored.
absl::StatusOr<std::vector<AuditRecord>> ReadAudit(sqlite3* db);

// One page of the log, newest first (Registry::ListAuditPage). The caller
// holds a read transaction, so that the count and the page agree.
absl::StatusOr<Registry::AuditPage> ReadAuditPage(sqlite3* db, size_t offset,
                                                  size_t limit);

// The registry id, the log and every audited row. The caller holds a
// transaction (a read one gives one snapshot).
absl::StatusOr<AuditSnapshot> ReadAuditSnapshot(sqlite3* db);

// Schema 2 -> 3, after its SQL ran: stores a new registry id, and when the
// registry already holds rows, appends one audit.adopt record naming them all
// and links them to it. The caller holds the migration's write transaction.
absl::Status AdoptExistingRows(sqlite3* db);

}  // namespace spatial::registry::sqlite

#endif  // SPATIAL_REGISTRY_SQLITE_SQLITE_AUDIT_H_
