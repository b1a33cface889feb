// Black-box tests of a cut audit log on a PostgreSQL registry: the same
// scenarios as on SQLite (audit_tail_support.h), with the guard trigger
// disabled over a connection of its own, as anyone holding the database
// credentials can.
#include <pqxx/pqxx>

#include "gtest/gtest.h"
#include "src/registry/postgres/test_server.h"
#include "tests/integration/audit_tail_support.h"
#include "tests/integration/cli_sandbox.h"

namespace spatial::integration {
namespace {

AuditTarget PostgresTarget(const Sandbox& box) {
  auto url = registry::pgtest::SharedTestPostgres()->CreateDatabase();
  EXPECT_TRUE(url.ok()) << url.status();
  AuditTarget t;
  t.registry = url.value_or("");
  t.extra = {"--store", box.Path("store")};
  t.tamper = [u = t.registry](const std::string& sql) {
    pqxx::connection c(u);
    pqxx::nontransaction tx(c);
    tx.exec("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change; " +
            sql);
  };
  return t;
}

TEST(PostgresAuditCliTest, CutTailIsCaughtByTheRows) {
  Sandbox box;
  ExpectCutTailCaughtByRows(box, PostgresTarget(box));
}

TEST(PostgresAuditCliTest, CutTheRowsCannotSeeIsCaughtByACheckpoint) {
  Sandbox box;
  ExpectCutTailCaughtByCheckpoint(box, PostgresTarget(box));
}

TEST(PostgresAuditCliTest, DeletedRowIsNamedByItsRecord) {
  Sandbox box;
  ExpectDeletedRowCaught(box, PostgresTarget(box));
}

TEST(PostgresAuditCliTest, ForgedValidationIsCaughtByItsDigest) {
  Sandbox box;
  ExpectForgedValidationCaught(box, PostgresTarget(box));
}

TEST(PostgresAuditCliTest, CheckpointOfAnotherRegistryIsRefused) {
  Sandbox box;
  ExpectForeignCheckpointRefused(box, PostgresTarget(box), PostgresTarget(box));
}

}  // namespace
}  // namespace spatial::integration
