// LISTEN/NOTIFY: a ChangeListener of a PostgreSQL registry hears activations
// committed by any other connection at once, only for its environment, never
// for a change that did not commit, and recovers from a lost connection.
#include <chrono>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "src/registry/postgres/postgres_registry.h"
#include "src/registry/postgres/test_server.h"
#include "src/registry/registry_conformance.h"

namespace spatial::registry {
namespace {

using Clock = std::chrono::steady_clock;

class PostgresListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto url = pgtest::SharedTestPostgres()->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.status();
    url_ = *url;
    auto r = PostgresRegistry::Open({.url = url_});
    ASSERT_TRUE(r.ok()) << r.status();
    reg_ = std::move(*r);
    for (const char* env : {"development", "production"}) {
      ASSERT_TRUE(reg_->PutEnvironment(TestEnvironment(env)).ok());
    }
    for (const char* id : {"v1", "v2", "v3"}) {
      ASSERT_TRUE(reg_->AddVersion(TestVersion(id)).ok());
      for (const char* env : {"development", "production"}) {
        ASSERT_TRUE(reg_->RecordValidation(TestValidation(id, env, true)).ok());
      }
    }
  }

  absl::Status Promote(const std::string& env, const std::string& id) {
    return reg_->Activate({.environment = env, .version_id = id}).status();
  }

  // Waits until the listener answers (ok or not) or `limit` calls were made;
  // the answers, in order.
  static std::vector<absl::StatusOr<bool>> WaitCalls(ChangeListener& l,
                                                     int limit) {
    std::vector<absl::StatusOr<bool>> out;
    for (int i = 0; i < limit; ++i) {
      out.push_back(l.Wait(absl::Milliseconds(100)));
      if (!out.back().ok() || *out.back()) break;
    }
    return out;
  }

  std::string url_;
  std::unique_ptr<PostgresRegistry> reg_;
};

TEST_F(PostgresListenerTest, HearsCommittedActivationsOfItsEnvironment) {
  auto listener = reg_->NewChangeListener("production");
  ASSERT_NE(listener, nullptr);
  // Connecting counts as a change: what happened before was not heard.
  auto first = listener->Wait(absl::Milliseconds(100));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(*first);
  EXPECT_FALSE(*listener->Wait(absl::Milliseconds(100)));

  // Another client (its own connection) promotes: heard at once.
  auto other = PostgresRegistry::Open({.url = url_});
  ASSERT_TRUE(other.ok()) << other.status();
  auto before = Clock::now();
  ASSERT_TRUE((*other)
                  ->Activate({.environment = "production", .version_id = "v1"})
                  .ok());
  auto heard = listener->Wait(absl::Seconds(5));
  double ms =
      std::chrono::duration<double, std::milli>(Clock::now() - before).count();
  ASSERT_TRUE(heard.ok()) << heard.status();
  EXPECT_TRUE(*heard);
  EXPECT_LT(ms, 1000);
  std::cout << "commit to notification: " << ms << " ms\n";
  EXPECT_FALSE(*listener->Wait(absl::Milliseconds(100)));

  // Another environment's promotion is not this listener's business.
  ASSERT_TRUE(Promote("development", "v1").ok());
  EXPECT_FALSE(*listener->Wait(absl::Milliseconds(300)));

  // A refused activation commits nothing, so tells nothing.
  EXPECT_FALSE(Promote("production", "v1").ok());  // already active
  EXPECT_FALSE(reg_->Activate({.environment = "production",
                               .version_id = "v2",
                               .expect_active = "v3"})
                   .ok());
  EXPECT_FALSE(*listener->Wait(absl::Milliseconds(300)));

  // An import that adds history to the environment tells too.
  RegistrySnapshot snap;
  snap.deployments = {{.environment = "production",
                       .version_id = "v2",
                       .previous_version_id = "v1",
                       .created_at = "2026-11-26T00:00:00.000000Z"}};
  ASSERT_TRUE(reg_->Import(snap).ok());
  EXPECT_TRUE(*listener->Wait(absl::Seconds(5)));

  // A listener of every environment hears both.
  auto all = reg_->NewChangeListener("");
  ASSERT_TRUE(*all->Wait(absl::Milliseconds(100)));  // connected
  ASSERT_TRUE(Promote("development", "v2").ok());
  EXPECT_TRUE(*all->Wait(absl::Seconds(5)));
}

// The server drops the listening connection (a restart, a failover, an
// administrator): the listener says so, reconnects, reports a change (it may
// have missed one) and hears the next promotion.
TEST_F(PostgresListenerTest, RecoversFromALostConnection) {
  auto listener = reg_->NewChangeListener("production");
  ASSERT_TRUE(*listener->Wait(absl::Milliseconds(100)));
  {
    pqxx::connection admin(url_);
    pqxx::nontransaction tx(admin);
    auto killed = tx.exec(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
        "datname = current_database() AND query LIKE 'LISTEN%'");
    ASSERT_EQ(killed.size(), 1u);
  }
  // Promoted while nobody listens: must not be lost.
  ASSERT_TRUE(Promote("production", "v1").ok());
  auto answers = WaitCalls(*listener, 50);
  ASSERT_FALSE(answers.empty());
  EXPECT_FALSE(answers.back().ok()) << "the lost connection went unnoticed";
  EXPECT_EQ(answers.back().status().code(), absl::StatusCode::kUnavailable)
      << answers.back().status();
  // The next wait reconnects and reports a change.
  auto again = listener->Wait(absl::Milliseconds(100));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_TRUE(*again);
  EXPECT_FALSE(*listener->Wait(absl::Milliseconds(100)));
  ASSERT_TRUE(Promote("production", "v2").ok());
  EXPECT_TRUE(*listener->Wait(absl::Seconds(5)));
}

// While the database cannot be reached every wait says so (Unavailable, no
// exception); once it is back the listener reconnects by itself.
TEST_F(PostgresListenerTest, KeepsRetryingUntilTheDatabaseIsBack) {
  std::string doomed = pgtest::SharedTestPostgres()->CreateDatabase().value();
  const std::string name = pgtest::TestPostgres::DatabaseName(doomed);
  auto listener = PostgresRegistry::Open({.url = doomed})
                      .value()
                      ->NewChangeListener("production");
  ASSERT_TRUE(*listener->Wait(absl::Milliseconds(100)));
  pqxx::connection admin(url_);
  pqxx::nontransaction(admin).exec(
      absl::StrCat("DROP DATABASE ", name, " WITH (FORCE)"));
  auto answers = WaitCalls(*listener, 50);
  ASSERT_FALSE(answers.back().ok()) << "the dropped connection went unnoticed";
  for (int i = 0; i < 3; ++i) {
    auto r = listener->Wait(absl::Milliseconds(100));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
  }
  pqxx::nontransaction(admin).exec(absl::StrCat("CREATE DATABASE ", name));
  auto back = listener->Wait(absl::Milliseconds(100));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(*back);
}

}  // namespace
}  // namespace spatial::registry
