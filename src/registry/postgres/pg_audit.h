// The audit side of PostgresRegistry: appending a record and linking the rows
// it made to it, reading the log and the audited rows, and the upgrade that
// links an existing registry's rows. Internal to src/registry/postgres/;
// libpqxx exceptions pass through to PgSession::Run.
#ifndef SPATIAL_REGISTRY_POSTGRES_PG_AUDIT_H_
#define SPATIAL_REGISTRY_POSTGRES_PG_AUDIT_H_

#include <pqxx/pqxx>
#include <vector>

#include "src/registry/audit.h"
#include "src/registry/audit_links.h"
#include "src/registry/registry.h"

namespace spatial::registry::pg {

// Appends `note` (with details.rows naming `rows`) to the audit log and sets
// each row's audit_seq to the new record's seq. The table lock makes appends
// one at a time registry-wide, so each sees the record before it; it is taken
// last in every transaction (the rows are already locked by the writes that
// made them), and nothing waits while holding it, so it adds no deadlock.
void AppendAudit(pqxx::transaction_base& tx, const AuditNote& note,
                 const std::vector<AuditedRow>& rows);

// The whole log in seq order, as stored.
std::vector<AuditRecord> ReadAudit(pqxx::transaction_base& tx);

// One page of it, newest first, and how many records the log holds
// (Registry::ListAuditPage).
Registry::AuditPage ReadAuditPage(pqxx::transaction_base& tx, size_t offset,
                                  size_t limit);

// Every audited row with its audit_seq.
std::vector<AuditedRow> ReadAuditedRows(pqxx::transaction_base& tx);

// Schema 2 -> 3, after its SQL ran: when the registry already holds rows,
// appends one audit.adopt record naming them all and links them to it.
void AdoptExistingRows(pqxx::transaction_base& tx);

}  // namespace spatial::registry::pg

#endif  // SPATIAL_REGISTRY_POSTGRES_PG_AUDIT_H_
