// `spatial model migrate` and MigrateRegistry between SQLite and PostgreSQL.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "src/registry/legacy_json.h"
#include "src/registry/migrate.h"
#include "src/registry/postgres/postgres_registry.h"
#include "src/registry/postgres/test_server.h"
#include "src/registry/registry_conformance.h"
#include "src/registry/sqlite/sqlite_registry.h"

namespace spatial::registry {
namespace {
namespace fs = std::filesystem;

std::string TempPath(const std::string& name) {
  fs::path dir =
      fs::path(::testing::TempDir()) / absl::StrCat("pg_migrate_", ::getpid());
  fs::create_directories(dir);
  fs::remove(dir / name);
  return (dir / name).string();
}

std::unique_ptr<Registry> OpenSqlite(const std::string& path) {
  auto r = SqliteRegistry::Open({.path = path});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return nullptr;
  return std::move(*r);
}

std::unique_ptr<Registry> OpenFreshPostgres() {
  auto url = pgtest::SharedTestPostgres()->CreateDatabase();
  EXPECT_TRUE(url.ok()) << url.status();
  auto r = PostgresRegistry::Open({.url = url.value_or("")});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return nullptr;
  return std::move(*r);
}

// A registry with something of everything: environments, versions with and
// without validations, a failed validation, promotions and a rollback.
void Populate(Registry& reg) {
  ASSERT_TRUE(reg.PutEnvironment(TestEnvironment("development")).ok());
  ASSERT_TRUE(reg.PutEnvironment(TestEnvironment("production")).ok());
  for (const char* id : {"v1", "v2", "v3", "v4"}) {
    ASSERT_TRUE(reg.AddVersion(TestVersion(id)).ok());
  }
  for (const char* id : {"v1", "v2", "v3"}) {
    ASSERT_TRUE(
        reg.RecordValidation(TestValidation(id, "production", true)).ok());
  }
  ASSERT_TRUE(
      reg.RecordValidation(TestValidation("v4", "production", false)).ok());
  ASSERT_TRUE(
      reg.RecordValidation(TestValidation("v1", "development", true)).ok());
  for (const char* id : {"v1", "v2", "v3"}) {
    ASSERT_TRUE(reg.Activate({.environment = "production",
                              .version_id = id,
                              .actor = "ci",
                              .reason = absl::StrCat("ship ", id)})
                    .ok());
  }
  ASSERT_TRUE(reg.Activate({.environment = "production",
                            .version_id = "v2",
                            .kind = DeploymentKind::kRollback,
                            .actor = "oncall",
                            .reason = "v3 misbehaves"})
                  .ok());
  ASSERT_TRUE(
      reg.Activate({.environment = "development", .version_id = "v1"}).ok());
}

void ExpectSameHistory(Registry& a, Registry& b) {
  auto ha = a.History("");
  auto hb = b.History("");
  ASSERT_TRUE(ha.ok() && hb.ok());
  ASSERT_EQ(ha->size(), hb->size());
  for (size_t i = 0; i < ha->size(); ++i) {
    EXPECT_EQ((*ha)[i].version_id, (*hb)[i].version_id);
    EXPECT_EQ((*ha)[i].previous_version_id, (*hb)[i].previous_version_id);
    EXPECT_EQ((*ha)[i].kind, (*hb)[i].kind);
    EXPECT_EQ((*ha)[i].actor, (*hb)[i].actor);
    EXPECT_EQ((*ha)[i].created_at, (*hb)[i].created_at);
  }
}

// SQLite -> PostgreSQL -> SQLite keeps every version, validation and
// deployment, and the active versions, exactly.
TEST(MigrateTest, RoundTripsBetweenSqliteAndPostgres) {
  auto source = OpenSqlite(TempPath("source.db"));
  ASSERT_NE(source, nullptr);
  Populate(*source);
  auto pg = OpenFreshPostgres();
  ASSERT_NE(pg, nullptr);
  auto there = MigrateRegistry(*source, *pg);
  ASSERT_TRUE(there.ok()) << there.status();
  EXPECT_EQ(there->versions, 4);
  EXPECT_EQ(there->validations, 5);
  EXPECT_EQ(there->deployments, 5);
  EXPECT_EQ(there->environments, 2);
  auto back = OpenSqlite(TempPath("back.db"));
  ASSERT_NE(back, nullptr);
  auto again = MigrateRegistry(*pg, *back);
  ASSERT_TRUE(again.ok()) << again.status();
  auto a = source->ListVersions();
  auto b = back->ListVersions();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ(VersionToJson((*a)[i]), VersionToJson((*b)[i]));
  }
  ExpectSameHistory(*source, *back);
  EXPECT_EQ(**back->ActiveVersion("production"), "v2");
  EXPECT_EQ(**pg->ActiveVersion("development"), "v1");
}

// A target that already holds versions is refused and left as it was.
TEST(MigrateTest, RefusesATargetThatIsNotEmpty) {
  auto source = OpenSqlite(TempPath("source2.db"));
  ASSERT_NE(source, nullptr);
  Populate(*source);
  auto pg = OpenFreshPostgres();
  ASSERT_NE(pg, nullptr);
  ASSERT_TRUE(pg->AddVersion(TestVersion("theirs")).ok());
  EXPECT_EQ(MigrateRegistry(*source, *pg).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*pg->ListVersionIds(), std::vector<std::string>{"theirs"});
}

// The CLI copies a SQLite registry into PostgreSQL and says what it did.
TEST(MigrateTest, CliMigratesSqliteToPostgres) {
  const char* bin = std::getenv("SPATIAL_BINARY");
  if (bin == nullptr || *bin == '\0') {
    GTEST_SKIP() << "SPATIAL_BINARY is not set";
  }
  std::string db = TempPath("cli.db");
  {
    auto source = OpenSqlite(db);
    ASSERT_NE(source, nullptr);
    Populate(*source);
  }
  auto url = pgtest::SharedTestPostgres()->CreateDatabase();
  ASSERT_TRUE(url.ok()) << url.status();
  std::string with_password = *url;
  with_password.replace(with_password.find("spatial@"), 8,
                        "spatial:m1grate-pw@");
  auto r = pgtest::RunCommand({bin, "model", "migrate", "--from",
                               "sqlite:" + db, "--to", with_password},
                              {});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0) << r->output;
  EXPECT_NE(r->output.find("4 version(s), 5 validation(s) and 5 deployment(s)"),
            std::string::npos)
      << r->output;
  EXPECT_EQ(r->output.find("m1grate-pw"), std::string::npos) << r->output;
  auto pg = PostgresRegistry::Open({.url = *url});
  ASSERT_TRUE(pg.ok()) << pg.status();
  EXPECT_EQ(**(*pg)->ActiveVersion("production"), "v2");
  // Again: the target is no longer empty.
  auto twice = pgtest::RunCommand(
      {bin, "model", "migrate", "--from", "sqlite:" + db, "--to", *url}, {});
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->exit_code, 1) << twice->output;
  // A source that does not exist is not created empty.
  auto missing =
      pgtest::RunCommand({bin, "model", "migrate", "--from",
                          TempPath("nope.db"), "--to", TempPath("x.db")},
                         {});
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->exit_code, 1) << missing->output;
  EXPECT_FALSE(fs::exists(TempPath("nope.db")));
}

}  // namespace
}  // namespace spatial::registry
