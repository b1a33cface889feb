// The scenarios of the cut-tail tests, run against the real `spatial` binary
// on a SQLite registry (cli_audit_tail_test.cc) and on PostgreSQL
// (postgres_audit_cli_test.cc) alike: each registry kind supplies where the
// registry is and how to run SQL on it around the audit log's guard.
#ifndef SPATIAL_TESTS_INTEGRATION_AUDIT_TAIL_SUPPORT_H_
#define SPATIAL_TESTS_INTEGRATION_AUDIT_TAIL_SUPPORT_H_

#include <functional>
#include <string>
#include <vector>

#include "tests/integration/cli_sandbox.h"

namespace spatial::integration {

struct AuditTarget {
  std::string registry;            // a SQLite path or a postgresql:// URL
  std::vector<std::string> extra;  // flags every command needs (--store)
  // Runs SQL on the registry as someone holding the file or the database
  // credentials would, with the append-only guard removed first.
  std::function<void(const std::string& sql)> tamper;
};

// Runs `spatial audit ARGS --registry R EXTRA`.
ProcessResult AuditCmd(const Sandbox& box, const AuditTarget& t,
                       std::vector<std::string> args);

// Through the CLI: v1 and v2 registered, validated and promoted to
// development, then a rollback to v1. Records: 1 import (the environments),
// 2-4 v1 (register, validate, promote), 5-7 v2, 8 rollback; deployments #1
// (v1), #2 (v2), #3 (rollback to v1).
void MakeHistory(Sandbox& box, const AuditTarget& t);

// `spatial keys generate --out DIR/name`; returns DIR/name (signing.key,
// signing.pub inside).
std::string MakeKey(const Sandbox& box, const std::string& name);

// `spatial audit checkpoint --key DIR/signing.key --out OUT`, expecting 0.
void TakeCheckpoint(const Sandbox& box, const AuditTarget& t,
                    const std::string& key_dir, const std::string& out);

// The scenarios, each a complete test body.
// The newest records deleted: the rows they made name them as missing.
void ExpectCutTailCaughtByRows(Sandbox& box, const AuditTarget& t);
// The newest deployment and its record deleted together (the rows cannot
// tell): only a checkpoint taken before catches it, as a shorter log, and
// as a diverging one once new records fill the gap.
void ExpectCutTailCaughtByCheckpoint(Sandbox& box, const AuditTarget& t);
// A deployment deleted while its record remains is named by the record.
void ExpectDeletedRowCaught(Sandbox& box, const AuditTarget& t);
// A validation's result forged in place (every link kept) is named by the
// digest of the record that wrote it; before that, verify reports the rows
// it compared.
void ExpectForgedValidationCaught(Sandbox& box, const AuditTarget& t);

// A checkpoint of another registry is refused, naming both ids.
void ExpectForeignCheckpointRefused(Sandbox& box, const AuditTarget& t,
                                    const AuditTarget& other);

}  // namespace spatial::integration

#endif  // SPATIAL_TESTS_INTEGRATION_AUDIT_TAIL_SUPPORT_H_
