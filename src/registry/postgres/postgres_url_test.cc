#include "src/registry/postgres/postgres_url.h"

#include "gtest/gtest.h"

namespace spatial::registry {
namespace {

// Only libpq's two URI schemes select PostgreSQL.
TEST(PostgresUrlTest, RecognisesBothSchemes) {
  EXPECT_TRUE(IsPostgresUrl("postgresql://h/db"));
  EXPECT_TRUE(IsPostgresUrl("postgres://h/db"));
  EXPECT_FALSE(IsPostgresUrl("sqlite:var/registry.db"));
  EXPECT_FALSE(IsPostgresUrl("var/postgres://x"));
  EXPECT_FALSE(IsPostgresUrl("postgresql:/h"));
}

}  // namespace
}  // namespace spatial::registry
