#include "src/registry/registry_location.h"

#include <string>

#include "gtest/gtest.h"

namespace spatial::registry {
namespace {

struct Good {
  std::string in;
  RegistryKind kind;
  std::string path, url, masked;
};

// Every accepted form reads to its kind, its target and a printable form.
TEST(RegistryLocationTest, ParsesEveryAcceptedForm) {
  const Good cases[] = {
      {"var/registry.db", RegistryKind::kSqlite, "var/registry.db", "",
       "var/registry.db"},
      {"/srv/spatial/reg.db", RegistryKind::kSqlite, "/srv/spatial/reg.db", "",
       "/srv/spatial/reg.db"},
      {":memory:", RegistryKind::kSqlite, ":memory:", "", ":memory:"},
      {"sqlite:var/registry.db", RegistryKind::kSqlite, "var/registry.db", "",
       "var/registry.db"},
      {"sqlite:/abs/r.db", RegistryKind::kSqlite, "/abs/r.db", "", "/abs/r.db"},
      // A path that merely contains a scheme-like part stays a path.
      {"var/postgres://x", RegistryKind::kSqlite, "var/postgres://x", "",
       "var/postgres://x"},
      // A path is printed as it is, even when it looks like conninfo.
      {"dir/password=x.db", RegistryKind::kSqlite, "dir/password=x.db", "",
       "dir/password=x.db"},
      {"postgresql://ci@db.example/spatial", RegistryKind::kPostgres, "",
       "postgresql://ci@db.example/spatial",
       "postgresql://ci@db.example/spatial"},
      {"postgres://ci:s3cret@db/spatial?sslmode=require",
       RegistryKind::kPostgres, "",
       "postgres://ci:s3cret@db/spatial?sslmode=require",
       "postgres://ci:***@db/spatial?sslmode=require"},
      {"postgresql://u@/db?host=/tmp/s&password=pw", RegistryKind::kPostgres,
       "", "postgresql://u@/db?host=/tmp/s&password=pw",
       "postgresql://u@/db?host=/tmp/s&password=***"},
  };
  for (const auto& c : cases) {
    auto got = ParseRegistryLocation(c.in);
    ASSERT_TRUE(got.ok()) << c.in << ": " << got.status();
    EXPECT_EQ(got->kind, c.kind) << c.in;
    EXPECT_EQ(got->path, c.path) << c.in;
    EXPECT_EQ(got->url, c.url) << c.in;
    EXPECT_EQ(got->masked, c.masked) << c.in;
    EXPECT_EQ(got->is_postgres(), c.kind == RegistryKind::kPostgres) << c.in;
    EXPECT_EQ(got->is_sqlite(), c.kind == RegistryKind::kSqlite) << c.in;
  }
}

// Only libpq's two URI schemes select PostgreSQL (moved from
// postgres_url_test.cc with IsPostgresUrl, which the parser replaces).
TEST(RegistryLocationTest, OnlyTheTwoUriSchemesSelectPostgres) {
  EXPECT_TRUE(ParseRegistryLocation("postgresql://h/db")->is_postgres());
  EXPECT_TRUE(ParseRegistryLocation("postgres://h/db")->is_postgres());
  EXPECT_FALSE(ParseRegistryLocation("sqlite:var/registry.db")->is_postgres());
  EXPECT_FALSE(ParseRegistryLocation("var/postgres://x")->is_postgres());
  EXPECT_EQ(ParseRegistryLocation("postgresql:/h").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// "sqlite:PATH" and PATH are the same registry.
TEST(RegistryLocationTest, SqlitePrefixNamesTheSameFile) {
  EXPECT_EQ(*ParseRegistryLocation("sqlite:a/b.db"),
            *ParseRegistryLocation("a/b.db"));
  EXPECT_FALSE(*ParseRegistryLocation("postgres://h/db") ==
               *ParseRegistryLocation("postgresql://h/db"));
}

struct Bad {
  std::string in;
  std::string says;  // part of the message
};

// Empty and garbage locations are InvalidArgument, never a file path, and the
// message says what to write instead without echoing a password.
TEST(RegistryLocationTest, RefusesEmptyAndGarbage) {
  const Bad cases[] = {
      {"", "is empty"},
      {"sqlite:", "names no file"},
      {"mysql://root:hunter2@db/x", "'mysql:...' is not one spatial reads"},
      {"file:///tmp/r.db", "'file:...'"},
      {"POSTGRESQL://h/db", "'POSTGRESQL:...'"},
      {"postgresql:/h/db", "'postgresql:...'"},
      {"postgres:user:hunter2@h/db", "'postgres:...'"},
  };
  for (const auto& c : cases) {
    auto got = ParseRegistryLocation(c.in);
    ASSERT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument) << c.in;
    EXPECT_NE(got.status().message().find(c.says), std::string::npos)
        << got.status();
    EXPECT_NE(got.status().message().find(
                  "use a SQLite path, sqlite:PATH or postgresql://"),
              std::string::npos)
        << got.status();
    EXPECT_EQ(got.status().message().find("hunter2"), std::string::npos)
        << got.status();
  }
}

TEST(RegistryLocationTest, NamesKinds) {
  EXPECT_EQ(KindName(RegistryKind::kSqlite), "sqlite");
  EXPECT_EQ(KindName(RegistryKind::kPostgres), "postgresql");
}

}  // namespace
}  // namespace spatial::registry
