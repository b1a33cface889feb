#include "src/registry/postgres/postgres_registry.h"

#include <chrono>
#include <pqxx/pqxx>
#include <thread>

#include "gtest/gtest.h"
#include "src/registry/postgres/test_server.h"
#include "src/registry/registry_conformance.h"

namespace spatial::registry {
namespace {

using pgtest::SharedTestPostgres;

// Starts one PostgreSQL server for the whole binary.
[[maybe_unused]] ::testing::Environment* const kPostgres =
    ::testing::AddGlobalTestEnvironment(new pgtest::PostgresEnvironment);

std::string FreshDatabase() {
  auto url = SharedTestPostgres()->CreateDatabase();
  EXPECT_TRUE(url.ok()) << url.status();
  return url.value_or("");
}

// Runs SQL on a database directly, as another tool would.
void Sql(const std::string& url, const std::string& sql) {
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  tx.exec(sql);
}

INSTANTIATE_TEST_SUITE_P(
    Postgres, RegistryConformanceTest,
    ::testing::Values(RegistryFactory{"postgres",
                                      []() -> std::unique_ptr<Registry> {
                                        auto r = PostgresRegistry::Open(
                                            {.url = FreshDatabase()});
                                        EXPECT_TRUE(r.ok()) << r.status();
                                        if (!r.ok()) return nullptr;
                                        return std::move(*r);
                                      }}),
    [](const auto& param_info) { return param_info.param.name; });

// Data committed through one connection is seen by a new one.
TEST(PostgresRegistryTest, ReopenSeesCommittedData) {
  std::string url = FreshDatabase();
  {
    auto r = PostgresRegistry::Open({.url = url});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE((*r)->AddVersion(TestVersion("v1")).ok());
  }
  auto r = PostgresRegistry::Open({.url = url});
  ASSERT_TRUE(r.ok()) << r.status();
  auto v = (*r)->GetVersion("v1");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->checksum, TestVersion("v1").checksum);
}

// A database holding another application's tables is refused and left as it
// was.
TEST(PostgresRegistryTest, RefusesDatabaseOfAnotherApplication) {
  std::string url = FreshDatabase();
  Sql(url,
      "CREATE TABLE orders (id INT PRIMARY KEY); INSERT INTO orders VALUES "
      "(7)");
  auto r = PostgresRegistry::Open({.url = url});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(
      std::string(r.status().message()).find("not a spatial-deploy registry"),
      std::string::npos);
  EXPECT_NE(std::string(r.status().message()).find("orders"),
            std::string::npos);
  pqxx::connection c(url);
  pqxx::read_transaction tx(c);
  EXPECT_EQ(
      tx.exec(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")[0][0]
          .as<int>(),
      1);
  EXPECT_EQ(tx.exec("SELECT id FROM orders")[0][0].as<int>(), 7);
}

// A marker table naming another application is refused too.
TEST(PostgresRegistryTest, RefusesMarkerOfAnotherApplication) {
  std::string url = FreshDatabase();
  Sql(url,
      "CREATE TABLE spatial_deploy_registry (key TEXT PRIMARY KEY, value "
      "TEXT); "
      "INSERT INTO spatial_deploy_registry VALUES ('application', "
      "'someone-else')");
  auto r = PostgresRegistry::Open({.url = url});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
}

// A schema written by a newer binary is refused rather than misread.
TEST(PostgresRegistryTest, RefusesNewerSchema) {
  std::string url = FreshDatabase();
  ASSERT_TRUE(PostgresRegistry::Open({.url = url}).ok());
  Sql(url, "UPDATE schema_version SET version = 99");
  auto r = PostgresRegistry::Open({.url = url});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(r.status().message()).find("newer"), std::string::npos);
}

// A schema-1 registry (before signatures and the audit log) is upgraded when
// opened; its audit log then refuses UPDATE and DELETE, and edits made
// around the trigger are found by the chain check.
TEST(PostgresRegistryTest, UpgradesSchemaOneAndGuardsTheAuditLog) {
  std::string url = FreshDatabase();
  {
    auto r = PostgresRegistry::Open({.url = url});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE((*r)->AddVersion(TestVersion("v1")).ok());
  }
  Sql(url,
      "DROP TABLE audit_log; DROP TABLE signatures; DROP FUNCTION "
      "audit_log_append_only(); ALTER TABLE environments DROP COLUMN "
      "audit_seq; ALTER TABLE versions DROP COLUMN audit_seq; ALTER TABLE "
      "validations DROP COLUMN audit_seq; ALTER TABLE deployments DROP "
      "COLUMN audit_seq; DELETE FROM spatial_deploy_registry WHERE key = "
      "'registry_id'; UPDATE schema_version SET version = 1");
  auto r = PostgresRegistry::Open({.url = url});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->ListVersionIds()->size(), 1u);
  // The version it held is vouched for by the upgrade's audit.adopt record.
  ASSERT_EQ((*r)->ListAudit()->size(), 1u);
  EXPECT_EQ((*r)->ListAudit()->front().action, kAuditAdoptAction);
  for (const char* id : {"v2", "v3", "v4"})
    ASSERT_TRUE((*r)->AddVersion(TestVersion(id)).ok());
  EXPECT_FALSE(VerifyAuditChain(*(*r)->ListAudit()).broken_seq.has_value());
  EXPECT_TRUE(CheckAuditLinks(*(*r)->ReadAuditSnapshot()).problems.empty());

  EXPECT_THROW(Sql(url, "UPDATE audit_log SET actor = 'x' WHERE seq = 1"),
               pqxx::sql_error);
  EXPECT_THROW(Sql(url, "DELETE FROM audit_log WHERE seq = 1"),
               pqxx::sql_error);
  Sql(url,
      "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change; "
      "UPDATE audit_log SET subject = 'v9' WHERE seq = 2");
  AuditCheck edited = VerifyAuditChain(*(*r)->ListAudit());
  ASSERT_TRUE(edited.broken_seq.has_value());
  EXPECT_EQ(*edited.broken_seq, 2);
  Sql(url, "DELETE FROM audit_log WHERE seq = 2");
  AuditCheck deleted = VerifyAuditChain(*(*r)->ListAudit());
  ASSERT_TRUE(deleted.broken_seq.has_value());
  EXPECT_EQ(*deleted.broken_seq, 3);
}

// Several processes opening a new database at once create the schema once.
TEST(PostgresRegistryTest, ConcurrentOpenersCreateSchemaOnce) {
  std::string url = FreshDatabase();
  std::vector<std::thread> threads;
  std::vector<absl::StatusCode> codes(4, absl::StatusCode::kUnknown);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      codes[i] = PostgresRegistry::Open({.url = url}).status().code();
    });
  }
  for (auto& t : threads) t.join();
  for (auto code : codes) EXPECT_EQ(code, absl::StatusCode::kOk);
}

// The password never shows: not in Describe(), not in a connection error.
TEST(PostgresRegistryTest, PasswordIsNeverShown) {
  const std::string dir = SharedTestPostgres()->socket_dir();
  std::string name = pgtest::TestPostgres::DatabaseName(FreshDatabase());
  // The test server trusts local users, so the password is accepted unasked.
  auto r = PostgresRegistry::Open(
      {.url = "postgresql://spatial:s3cret-pw@/" + name + "?host=" + dir});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)->Describe(),
            "postgresql://spatial:***@/" + name + "?host=" + dir);
  auto bad = PostgresRegistry::Open(
      {.url = "postgresql://spatial:s3cret-pw@/no_such_db?host=" + dir});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(std::string(bad.status().message()).find("s3cret"),
            std::string::npos)
      << bad.status();
  EXPECT_NE(std::string(bad.status().message()).find("***"), std::string::npos);
}

// A server that is not there is Unavailable, not a crash or a hang.
TEST(PostgresRegistryTest, UnreachableServerIsUnavailable) {
  auto r = PostgresRegistry::Open(
      {.url = "postgresql://spatial@/x?host=/nonexistent-dir"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PostgresRegistry::Open({.url = ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A connection the server dropped is reopened and the call still succeeds.
TEST(PostgresRegistryTest, ReconnectsAfterTheServerDropsTheConnection) {
  std::string url = FreshDatabase();
  auto r = PostgresRegistry::Open({.url = url});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_TRUE((*r)->AddVersion(TestVersion("v1")).ok());
  std::string name = pgtest::TestPostgres::DatabaseName(url);
  Sql(SharedTestPostgres()->Url("postgres"),
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = "
      "'" +
          name + "'");
  EXPECT_TRUE((*r)->AddVersion(TestVersion("v2")).ok());
  auto ids = (*r)->ListVersionIds();
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, (std::vector<std::string>{"v1", "v2"}));
}

// Names sort as in SQLite (bytewise), even in a database whose collation
// (ICU English here) would put "a" before "B".
TEST(PostgresRegistryTest, EnvironmentsSortBytewise) {
  auto url = SharedTestPostgres()->CreateDatabase(
      "LOCALE_PROVIDER icu ICU_LOCALE 'en-US'");
  ASSERT_TRUE(url.ok()) << url.status();
  auto r = PostgresRegistry::Open({.url = *url});
  ASSERT_TRUE(r.ok()) << r.status();
  for (const char* name : {"b", "B", "a", "9x"}) {
    ASSERT_TRUE((*r)->PutEnvironment(TestEnvironment(name)).ok());
  }
  auto envs = (*r)->ListEnvironments();
  ASSERT_TRUE(envs.ok()) << envs.status();
  std::vector<std::string> names;
  for (const auto& e : *envs) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"9x", "B", "a", "b"}));
}

// ListVersionSummaries reads the versions table and the validated
// environments only: the fields a table shows, as ListVersions has them,
// without the JSON columns and the files (which it must not have fetched).
TEST(PostgresRegistryTest, SummariesAreTheTableFieldsOnly) {
  auto r = PostgresRegistry::Open({.url = FreshDatabase()});
  ASSERT_TRUE(r.ok()) << r.status();
  Registry& reg = **r;
  constexpr int kVersions = 2000;
  RegistrySnapshot snap;
  snap.environments = {TestEnvironment("production")};
  for (int i = 0; i < kVersions; ++i) {
    ModelVersion v = TestVersion("v" + std::to_string(i));
    v.files.push_back({"manifest.json", v.checksum, 10});
    v.training_config = {{"epochs", i}, {"notes", std::string(200, 'x')}};
    snap.versions.push_back(v);
    if (i % 3 == 0) {
      snap.validations.push_back(
          TestValidation(v.version_id, "production", true));
    }
  }
  ASSERT_TRUE(reg.Import(snap).ok());
  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  auto full = reg.ListVersions();
  auto t1 = Clock::now();
  auto summaries = reg.ListVersionSummaries();
  auto t2 = Clock::now();
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_TRUE(summaries.ok()) << summaries.status();
  ASSERT_EQ(summaries->size(), full->size());
  for (size_t i = 0; i < full->size(); ++i) {
    const ModelVersion& f = (*full)[i];
    const ModelVersion& s = (*summaries)[i];
    EXPECT_EQ(s.version_id, f.version_id);
    EXPECT_EQ(s.model_type, f.model_type);
    EXPECT_EQ(s.architecture, f.architecture);
    EXPECT_EQ(s.file_path, f.file_path);
    EXPECT_EQ(s.creation_date, f.creation_date);
    EXPECT_EQ(s.checksum, f.checksum);
    EXPECT_EQ(s.size_bytes, f.size_bytes);
    EXPECT_EQ(s.validation_status, f.validation_status);
    EXPECT_EQ(s.actor, f.actor);
    EXPECT_EQ(s.is_directory, f.is_directory);
    EXPECT_EQ(s.deployment_environments, f.deployment_environments);
    EXPECT_TRUE(s.files.empty()) << s.version_id;
    EXPECT_TRUE(s.performance_metrics.empty()) << s.version_id;
    EXPECT_TRUE(s.tags.empty()) << s.version_id;
    ASSERT_EQ(f.files.size(), 2u);
  }
  auto ms = [](Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  };
  std::cout << kVersions << " versions: ListVersions " << ms(t1 - t0)
            << " ms, ListVersionSummaries " << ms(t2 - t1) << " ms\n";
}

}  // namespace
}  // namespace spatial::registry
