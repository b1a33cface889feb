#include "src/registry/postgres/postgres_url.h"

#include "gtest/gtest.h"

namespace spatial::registry {
namespace {

// Every form of password libpq accepts is masked; the rest is kept.
TEST(PostgresUrlTest, MasksEveryPasswordForm) {
  struct Case {
    const char* in;
    const char* want;
  };
  const Case cases[] = {
      {"postgresql://alice:s3cret@db.example:5432/reg",
       "postgresql://alice:***@db.example:5432/reg"},
      {"postgres://alice:p%40ss@db/reg?sslmode=require",
       "postgres://alice:***@db/reg?sslmode=require"},
      {"postgresql://alice@db/reg", "postgresql://alice@db/reg"},
      {"postgresql:///reg?host=/run/pg", "postgresql:///reg?host=/run/pg"},
      {"postgresql://db/reg?user=a&password=s3cret&sslmode=verify-full",
       "postgresql://db/reg?user=a&password=***&sslmode=verify-full"},
      {"postgresql://a:pa?ss@db/reg", "postgresql://a:***@db/reg"},
      {"postgresql://db/a@b", "postgresql://db/a@b"},
      {"host=db password=s3cret dbname=reg", "host=db password=*** dbname=reg"},
      {"host=db password = 'a \\' b' dbname=reg",
       "host=db password = *** dbname=reg"},
      {"host=db PASSWORD=x", "host=db PASSWORD=***"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(MaskPostgresPassword(c.in), c.want) << c.in;
  }
}

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
