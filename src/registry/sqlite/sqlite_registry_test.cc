#include "src/registry/sqlite/sqlite_registry.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "gtest/gtest.h"
#include "src/base/files.h"
#include "src/registry/migrate.h"
#include "src/registry/registry_conformance.h"

namespace spatial::registry {
namespace {
namespace fs = std::filesystem;

std::string FreshDir(const std::string& name) {
  std::string d = ::testing::TempDir() + "/sqlite_registry_" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

INSTANTIATE_TEST_SUITE_P(
    Sqlite, RegistryConformanceTest,
    ::testing::Values(
        RegistryFactory{"memory",
                        [] {
                          auto r = SqliteRegistry::Open({.path = ":memory:"});
                          return r.ok()
                                     ? std::unique_ptr<Registry>(std::move(*r))
                                     : nullptr;
                        }},
        RegistryFactory{
            "file",
            [] {
              static std::atomic<int> n{0};
              // ctest runs each test in its own process, in parallel: the pid
              // keeps them apart.
              std::string dir = FreshDir("conf" + std::to_string(::getpid()) +
                                         "_" + std::to_string(n++));
              auto r = SqliteRegistry::Open({.path = dir + "/r.db"});
              return r.ok() ? std::unique_ptr<Registry>(std::move(*r))
                            : nullptr;
            }}),
    [](const auto& param_info) { return param_info.param.name; });

// Data written by one connection is seen by a new one (the file persists).
TEST(SqliteRegistryTest, ReopenSeesCommittedData) {
  std::string dir = FreshDir("reopen");
  {
    auto r = SqliteRegistry::Open({.path = dir + "/r.db"});
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE((*r)->AddVersion(TestVersion("v1")).ok());
  }
  auto r = SqliteRegistry::Open({.path = dir + "/r.db"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE((*r)->GetVersion("v1").ok());
}

// A text file or another application's database is refused and left untouched.
TEST(SqliteRegistryTest, RefusesFilesThatAreNotOurs) {
  std::string dir = FreshDir("foreign");
  std::string text = dir + "/notes.txt";
  std::string contents(4096, 'n');
  ASSERT_TRUE(base::WriteFileAtomic(text, contents).ok());
  auto r = SqliteRegistry::Open({.path = text});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(
      std::string(r.status().message()).find("not a spatial-deploy registry"),
      std::string::npos);
  EXPECT_EQ(*base::ReadFile(text), contents);
}

// Several threads writing through one registry object lose nothing.
TEST(SqliteRegistryTest, ConcurrentWritersLoseNothing) {
  std::string dir = FreshDir("threads");
  auto r = SqliteRegistry::Open({.path = dir + "/r.db"});
  ASSERT_TRUE(r.ok());
  Registry& reg = **r;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (!reg.AddVersion(TestVersion("t" + std::to_string(t) + "-" +
                                        std::to_string(i)))
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(reg.ListVersions()->size(), 100u);
}

// Two connections (as two processes would have) interleave writes safely.
TEST(SqliteRegistryTest, TwoConnectionsInterleaveWrites) {
  std::string dir = FreshDir("conns");
  auto a = SqliteRegistry::Open({.path = dir + "/r.db"});
  auto b = SqliteRegistry::Open({.path = dir + "/r.db"});
  ASSERT_TRUE(a.ok() && b.ok());
  std::thread ta([&] {
    for (int i = 0; i < 30; ++i)
      ASSERT_TRUE((*a)->AddVersion(TestVersion("a" + std::to_string(i))).ok());
  });
  std::thread tb([&] {
    for (int i = 0; i < 30; ++i)
      ASSERT_TRUE((*b)->AddVersion(TestVersion("b" + std::to_string(i))).ok());
  });
  ta.join();
  tb.join();
  EXPECT_EQ((*a)->ListVersions()->size(), 60u);
}

// Migrate copies everything, history included, and refuses a second copy.
TEST(SqliteRegistryTest, MigrateCopiesEverythingOnce) {
  auto from = SqliteRegistry::Open({.path = ":memory:"});
  auto to = SqliteRegistry::Open({.path = ":memory:"});
  ASSERT_TRUE(from.ok() && to.ok());
  ASSERT_TRUE((*from)->PutEnvironment(TestEnvironment("production")).ok());
  ASSERT_TRUE((*from)->AddVersion(TestVersion("v1")).ok());
  ASSERT_TRUE(
      (*from)->RecordValidation(TestValidation("v1", "production", true)).ok());
  ASSERT_TRUE((*from)
                  ->Activate({.environment = "production", .version_id = "v1"})
                  .ok());
  const StoredSignature sig{"v1", "k1", "{}", "signer", "2026-11-25T00:00:00Z"};
  ASSERT_TRUE((*from)->AddSignature(sig).ok());
  auto s = MigrateRegistry(**from, **to);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(*(*to)->ListSignatures("v1"), std::vector<StoredSignature>{sig});
  EXPECT_EQ((*to)->ListAudit()->back().actor, "migrate");
  EXPECT_EQ(s->deployments, 1);
  EXPECT_EQ(**(*to)->ActiveVersion("production"), "v1");
  EXPECT_EQ((*to)->History("production")->front().created_at,
            (*from)->History("production")->front().created_at);
  EXPECT_EQ(MigrateRegistry(**from, **to).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace spatial::registry
