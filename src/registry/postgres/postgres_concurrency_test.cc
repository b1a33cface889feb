// Many writers on one PostgreSQL registry, each with its own connection as
// separate CI runners and servers would have.
#include <atomic>
#include <barrier>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "src/registry/postgres/postgres_registry.h"
#include "src/registry/postgres/test_server.h"
#include "src/registry/registry_conformance.h"

namespace spatial::registry {
namespace {

constexpr int kWriters = 8;
constexpr int kRegistersEach = 100;
constexpr int kPromotionsEach = 20;

std::unique_ptr<PostgresRegistry> OpenOrDie(const std::string& url) {
  auto r = PostgresRegistry::Open({.url = url});
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return nullptr;
  return std::move(*r);
}

// Every history event follows on from the one before it, and the active
// version is the last event's: one chain, never a mix of two.
void ExpectConsistentChain(Registry& reg, const std::string& env) {
  auto history = reg.History(env);
  ASSERT_TRUE(history.ok()) << history.status();
  std::string active;
  int64_t last_seq = 0;
  for (const auto& e : *history) {
    EXPECT_GT(e.seq, last_seq);
    EXPECT_EQ(e.previous_version_id, active) << "seq " << e.seq;
    EXPECT_NE(e.version_id, e.previous_version_id);
    active = e.version_id;
    last_seq = e.seq;
  }
  auto now = reg.ActiveVersion(env);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(now->value_or(""), active);
}

// 8 writers each register 100 versions and promote 20 of them to one
// environment at once: nothing is lost, every checksum is intact and the
// history is one chain in commit order.
TEST(PostgresConcurrencyTest, WritersLoseNothingAndHistoryIsOneChain) {
  auto url = pgtest::SharedTestPostgres()->CreateDatabase();
  ASSERT_TRUE(url.ok()) << url.status();
  {
    auto setup = OpenOrDie(*url);
    ASSERT_NE(setup, nullptr);
    ASSERT_TRUE(setup->PutEnvironment(TestEnvironment("production")).ok());
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kWriters; ++t) {
    threads.emplace_back([&, t] {
      auto reg = OpenOrDie(*url);
      if (reg == nullptr) {
        ++failures;
        return;
      }
      for (int i = 0; i < kRegistersEach; ++i) {
        std::string id = absl::StrCat("w", t, "-", i);
        absl::Status s = reg->AddVersion(TestVersion(id));
        // Every fifth version is validated and promoted while the others
        // keep registering.
        if (s.ok() && i % (kRegistersEach / kPromotionsEach) == 0) {
          s = reg->RecordValidation(TestValidation(id, "production", true));
          if (s.ok()) {
            s = reg->Activate({.environment = "production",
                               .version_id = id,
                               .actor = absl::StrCat("writer", t)})
                    .status();
          }
        }
        if (!s.ok()) {
          ++failures;
          ADD_FAILURE() << id << ": " << s;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);

  auto reg = OpenOrDie(*url);
  ASSERT_NE(reg, nullptr);
  auto versions = reg->ListVersions();
  ASSERT_TRUE(versions.ok()) << versions.status();
  ASSERT_EQ(versions->size(), static_cast<size_t>(kWriters * kRegistersEach));
  std::set<std::string> ids;
  for (const auto& v : *versions) {
    ids.insert(v.version_id);
    EXPECT_EQ(v.checksum, TestVersion(v.version_id).checksum) << v.version_id;
    EXPECT_EQ(v.files, TestVersion(v.version_id).files) << v.version_id;
  }
  EXPECT_EQ(ids.size(), versions->size());
  auto history = reg->History("production");
  ASSERT_TRUE(history.ok());
  EXPECT_EQ(history->size(), static_cast<size_t>(kWriters * kPromotionsEach));
  ExpectConsistentChain(*reg, "production");
}

// A promotion and a rollback racing on one environment both land, one after
// the other: the environment ends on one of the two, with a history that
// says which came last.
TEST(PostgresConcurrencyTest, PromotionRacingRollbackEndsInOneState) {
  auto url = pgtest::SharedTestPostgres()->CreateDatabase();
  ASSERT_TRUE(url.ok()) << url.status();
  auto a = OpenOrDie(*url);
  auto b = OpenOrDie(*url);
  ASSERT_TRUE(a != nullptr && b != nullptr);
  constexpr int kRounds = 20;
  std::map<std::string, int> endings;
  for (int round = 0; round < kRounds; ++round) {
    std::string env = absl::StrCat("race", round);
    ASSERT_TRUE(a->PutEnvironment(TestEnvironment(env)).ok());
    for (const char* v : {"old", "current", "new"}) {
      std::string id = absl::StrCat(env, "-", v);
      ASSERT_TRUE(a->AddVersion(TestVersion(id)).ok());
      ASSERT_TRUE(a->RecordValidation(TestValidation(id, env, true)).ok());
    }
    ASSERT_TRUE(
        a->Activate({.environment = env, .version_id = env + "-old"}).ok());
    ASSERT_TRUE(
        a->Activate({.environment = env, .version_id = env + "-current"}).ok());

    std::barrier start(2);
    absl::StatusOr<DeploymentEvent> promoted, rolled_back;
    std::thread promote([&] {
      start.arrive_and_wait();
      promoted = a->Activate({.environment = env, .version_id = env + "-new"});
    });
    std::thread rollback([&] {
      start.arrive_and_wait();
      rolled_back = b->Activate({.environment = env,
                                 .version_id = env + "-old",
                                 .kind = DeploymentKind::kRollback});
    });
    promote.join();
    rollback.join();
    ASSERT_TRUE(promoted.ok()) << promoted.status();
    ASSERT_TRUE(rolled_back.ok()) << rolled_back.status();
    const bool rollback_last = rolled_back->seq > promoted->seq;
    const DeploymentEvent& first = rollback_last ? *promoted : *rolled_back;
    const DeploymentEvent& last = rollback_last ? *rolled_back : *promoted;
    EXPECT_EQ(first.previous_version_id, env + "-current");
    EXPECT_EQ(last.previous_version_id, first.version_id);
    EXPECT_EQ(**b->ActiveVersion(env), last.version_id);
    ExpectConsistentChain(*b, env);
    ++endings[rollback_last ? "rollback last" : "promotion last"];
  }
  for (const auto& [ending, count] : endings) {
    std::cout << "promotion vs rollback: " << ending << " in " << count
              << " of " << kRounds << " rounds\n";
  }
}

}  // namespace
}  // namespace spatial::registry
