// The audit links on PostgreSQL against real tampering: a schema 2 registry
// adopts its rows when upgraded, and a cut tail or a deleted row is named.
#include <pqxx/pqxx>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/registry/postgres/postgres_registry.h"
#include "src/registry/postgres/test_server.h"
#include "src/registry/registry_conformance.h"

namespace spatial::registry {
namespace {
using ::testing::ElementsAre;

// Runs SQL on a database directly, as someone holding its credentials would,
// with the audit log's guard trigger disabled first.
void Tamper(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  tx.exec("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change; " + sql);
}

// A registry with production, v1 and v2 registered, validated and promoted
// there: records 1 environment.put, 2-3 register, 4-5 validate, 6-7 promote.
std::string Populated() {
  auto url = pgtest::SharedTestPostgres()->CreateDatabase();
  EXPECT_TRUE(url.ok()) << url.status();
  auto reg = PostgresRegistry::Open({.url = *url});
  EXPECT_TRUE(reg.ok()) << reg.status();
  EXPECT_TRUE((*reg)->PutEnvironment(TestEnvironment("production")).ok());
  for (const char* id : {"v1", "v2"})
    EXPECT_TRUE((*reg)->AddVersion(TestVersion(id)).ok());
  for (const char* id : {"v1", "v2"}) {
    EXPECT_TRUE(
        (*reg)->RecordValidation(TestValidation(id, "production", true)).ok());
  }
  for (const char* id : {"v1", "v2"}) {
    EXPECT_TRUE(
        (*reg)->Activate({.environment = "production", .version_id = id}).ok());
  }
  return *url;
}

AuditSnapshot Read(const std::string& url) {
  auto reg = PostgresRegistry::Open({.url = url});
  EXPECT_TRUE(reg.ok()) << reg.status();
  auto snap = (*reg)->ReadAuditSnapshot();
  EXPECT_TRUE(snap.ok()) << snap.status();
  return *snap;
}

TEST(PostgresAuditTest, UpgradedSchemaTwoRegistryAdoptsItsRows) {
  const std::string url = Populated();
  Tamper(url,
         "ALTER TABLE environments DROP COLUMN audit_seq; ALTER TABLE "
         "versions DROP COLUMN audit_seq; ALTER TABLE validations DROP COLUMN "
         "audit_seq; ALTER TABLE deployments DROP COLUMN audit_seq; ALTER "
         "TABLE signatures DROP COLUMN audit_seq; DELETE FROM "
         "spatial_deploy_registry WHERE key = 'registry_id'; UPDATE "
         "schema_version SET version = 2");
  AuditSnapshot snap = Read(url);
  EXPECT_EQ(snap.registry_id.size(), 32u);
  ASSERT_EQ(snap.records.size(), 8u);
  EXPECT_EQ(snap.records.back().action, kAuditAdoptAction);
  EXPECT_EQ(snap.rows.size(), 7u);
  for (const auto& row : snap.rows) EXPECT_EQ(row.audit_seq, 8);
  EXPECT_FALSE(VerifyAuditChain(snap.records).broken_seq.has_value());
  AuditLinkCheck links = CheckAuditLinks(snap);
  EXPECT_TRUE(links.problems.empty()) << links.problems.front();
}

// The newest two records (the promotions) cut off: the deployments that
// point at them are named.
TEST(PostgresAuditTest, CutTailIsFoundByTheRowsThatPointAtIt) {
  const std::string url = Populated();
  Tamper(url, "DELETE FROM audit_log WHERE seq > 5");
  AuditSnapshot snap = Read(url);
  EXPECT_FALSE(VerifyAuditChain(snap.records).broken_seq.has_value());
  EXPECT_THAT(
      CheckAuditLinks(snap).problems,
      ElementsAre("deployment #1 (v1 to production) was made by audit record "
                  "seq 6, which is missing (the log's tail was cut or the "
                  "record deleted)",
                  "deployment #2 (v2 to production) was made by audit record "
                  "seq 7, which is missing (the log's tail was cut or the "
                  "record deleted)"));
}

// A deployment deleted behind the log's back is named by its record.
TEST(PostgresAuditTest, DeletedRowIsFoundByItsRecord) {
  const std::string url = Populated();
  Tamper(url, "DELETE FROM deployments WHERE seq = 2");
  EXPECT_THAT(CheckAuditLinks(Read(url)).problems,
              ElementsAre("audit record seq 7 (promote v2) made deployment "
                          "#2 (v2 to production), which is gone"));
}

// History rewritten in place (deployment #2 now says v1 went live, not v2)
// no longer matches the record that made it.
TEST(PostgresAuditTest, RewrittenDeploymentIsFound) {
  const std::string url = Populated();
  Tamper(url, "UPDATE deployments SET version_id = 'v1' WHERE seq = 2");
  EXPECT_THAT(
      CheckAuditLinks(Read(url)).problems,
      ElementsAre("deployment #2 (v1 to production) points at audit record "
                  "seq 7 (promote v2), which does not describe it",
                  "audit record seq 7 (promote v2) made deployment #2 (v2 to "
                  "production), which is gone"));
}

// Columns edited in place (a validation's result forged, a deployment's
// reason, a file's sha256) keep every link, and are found by the digests of
// the records that wrote them; the untouched registry's rows all match.
TEST(PostgresAuditTest, RowEditedInPlaceIsFoundByItsDigest) {
  const std::string url = Populated();
  AuditLinkCheck clean = CheckAuditLinks(Read(url));
  EXPECT_TRUE(clean.problems.empty()) << clean.problems.front();
  EXPECT_EQ(clean.digested, 7);
  Tamper(url,
         "UPDATE validations SET result = '{\"measurement\":{\"accuracy\":"
         "0.99}}' WHERE version_id = 'v2';"
         "UPDATE deployments SET reason = 'routine' WHERE seq = 1;"
         "UPDATE artifact_files SET sha256 = 'forged' WHERE version_id = "
         "'v1'");
  std::vector<std::string> problems = CheckAuditLinks(Read(url)).problems;
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_THAT(problems,
              ::testing::UnorderedElementsAre(
                  ::testing::StartsWith("version v1 was edited after audit "
                                        "record seq 2 (register v1)"),
                  ::testing::StartsWith("validation of v2 for production was "
                                        "edited after audit record seq 5"),
                  ::testing::StartsWith("deployment #1 (v1 to production) was "
                                        "edited after audit record seq 6")));
}

}  // namespace
}  // namespace spatial::registry
