#include "src/base/secrets.h"

#include "gtest/gtest.h"

namespace spatial::base {
namespace {

// Every form of password libpq accepts is masked; the rest is kept.
TEST(SecretsTest, RedactLocationMasksEveryPasswordForm) {
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
      // libpq percent-decodes parameter names: each of these is a password.
      {"postgresql://u:x@host/db?sslpassword=s3cret&pass%77ord=s3cret",
       "postgresql://u:***@host/db?sslpassword=***&pass%77ord=***"},
      {"postgresql://h/db?%70assword=a&PASSWORD=b&SslPassword=c",
       "postgresql://h/db?%70assword=***&PASSWORD=***&SslPassword=***"},
      {"postgresql://h/db?password", "postgresql://h/db?password"},
      {"postgresql://h/db?passfile=/p&application_name=x",
       "postgresql://h/db?passfile=/p&application_name=x"},
      {"host=db password=s3cret dbname=reg", "host=db password=*** dbname=reg"},
      {"host=db password = 'a \\' b' dbname=reg",
       "host=db password = *** dbname=reg"},
      {"host=db PASSWORD=x", "host=db PASSWORD=***"},
      {"host=db sslpassword=k user=u", "host=db sslpassword=*** user=u"},
      {"var/registry.db", "var/registry.db"},
      {"", ""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(RedactLocation(c.in), c.want) << c.in;
  }
}

// The secrets are listed raw and decoded, longest first.
TEST(SecretsTest, LocationSecretsListsRawAndDecodedValues) {
  EXPECT_EQ(LocationSecrets("postgresql://u:p%40ss@h/db?sslpassword=k%21"),
            (std::vector<std::string>{"p%40ss", "p@ss", "k%21", "k!"}));
  EXPECT_EQ(LocationSecrets("host=h password='a b'"),
            (std::vector<std::string>{"a b"}));
  EXPECT_EQ(LocationSecrets("host=h password='a \\' b'"),
            (std::vector<std::string>{"a \\' b", "a ' b"}));
  EXPECT_TRUE(LocationSecrets("postgresql://u@h/db").empty());
}

// A library message quoting a secret, or the whole location, loses it.
TEST(SecretsTest, RedactSecretsScrubsMessages) {
  const std::string url =
      "postgresql://u:x1@host/db?sslpassword=s3cret&pass%77ord=s%33cret";
  struct Case {
    std::string in, want;
  };
  const Case cases[] = {
      {"invalid percent-encoded token: \"s%33cret\"",
       "invalid percent-encoded token: \"***\""},
      {"password s3cret refused", "password *** refused"},
      {"cannot connect to " + url,
       "cannot connect to "
       "postgresql://u:***@host/db?sslpassword=***&pass%77ord=***"},
      {"could not translate host name \"host\"",
       "could not translate host name \"host\""},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(RedactSecrets(c.in, url), c.want) << c.in;
  }
  EXPECT_EQ(RedactSecrets("anything", ""), "anything");
}

}  // namespace
}  // namespace spatial::base
