// Backup and restore of a real PostgreSQL registry (a throw-away server,
// src/registry/postgres/test_server.h) with pg_dump and psql.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/registry/backup/backup.h"
#include "src/registry/backup/backup_test_support.h"
#include "src/registry/postgres/test_server.h"

namespace spatial::registry::backup {
namespace {
namespace fs = std::filesystem;
using testing::Contents;
using testing::FreshDir;
using ::testing::HasSubstr;
using testing::Populate;
using testing::Read;

[[maybe_unused]] ::testing::Environment* const kPostgres =
    ::testing::AddGlobalTestEnvironment(new pgtest::PostgresEnvironment);

std::string FreshDatabase() {
  auto url = pgtest::SharedTestPostgres()->CreateDatabase();
  EXPECT_TRUE(url.ok()) << url.status();
  return url.value_or("");
}

class PostgresBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir("pg");
    url_ = FreshDatabase();
    Populate(url_, dir_ + "/store", dir_);
  }
  absl::StatusOr<BackupSummary> Backup(const std::string& out) {
    return CreateBackup({.registry = url_,
                         .store_root = dir_ + "/store",
                         .out_path = out,
                         .spatial_version = "test"});
  }
  std::string dir_, url_;
};

TEST_F(PostgresBackupTest, RestoresIntoAFreshDatabaseAndAFreshStore) {
  auto b = Backup(dir_ + "/b.spbackup");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->source_kind, "postgresql");
  EXPECT_EQ(b->blobs, 4);
  EXPECT_EQ(b->blob_bytes, 3000 + 3000 + 5000 + 700);
  std::vector<std::string> ids = b->version_ids;
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_GT(b->audit_records, 4);

  const std::string target = FreshDatabase();
  auto r = RestoreBackup({.backup_path = dir_ + "/b.spbackup",
                          .registry = target,
                          .store_root = dir_ + "/new-store"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version_ids, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r->blobs_written, 4);
  EXPECT_GT(r->audit_records, 4);
  EXPECT_EQ(Read(target), Read(url_));
}

TEST_F(PostgresBackupTest, RefusesANonEmptyDatabaseWithoutForceThenReplaces) {
  ASSERT_TRUE(Backup(dir_ + "/b.spbackup").ok());
  const std::string other = FreshDatabase();
  Populate(other, dir_ + "/other-store", dir_ + "/other", "x");
  Contents before = Read(other);
  RestoreOptions o{.backup_path = dir_ + "/b.spbackup",
                   .registry = other,
                   .store_root = dir_ + "/other-store"};
  auto r = RestoreBackup(o);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition)
      << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("--force"));
  EXPECT_EQ(Read(other), before);

  o.force = true;
  auto forced = RestoreBackup(o);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_EQ(Read(other), Read(url_));
  EXPECT_NE(Read(other), before);
}

// A dump that fails halfway through rolls back whole: the old registry stays.
TEST_F(PostgresBackupTest, AFailingRestoreLeavesTheOldRegistry) {
  ASSERT_TRUE(Backup(dir_ + "/b.spbackup").ok());
  const std::string other = FreshDatabase();
  Populate(other, dir_ + "/other-store", dir_ + "/other", "x");
  Contents before = Read(other);
  {
    // Something the restore cannot drop: a view over a registry table that
    // the dump does not know, so DROP TABLE versions fails inside the
    // transaction after earlier statements ran.
    pqxx::connection c(other);
    pqxx::nontransaction tx(c);
    tx.exec("CREATE VIEW keep_versions AS SELECT id FROM versions");
  }
  auto r = RestoreBackup({.backup_path = dir_ + "/b.spbackup",
                          .registry = other,
                          .store_root = dir_ + "/other-store",
                          .force = true});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("psql"));
  EXPECT_EQ(Read(other), before);
}

// The Done-when of the issue on PostgreSQL: `spatial model backup` while
// other `spatial` processes register, validate and promote against the same
// database restores (into a fresh database and store) to a registry that
// passes `model test` and `audit verify` and holds every version committed
// before the backup began.
TEST(PostgresBackupCliTest, BackupDuringLoadRestoresConsistently) {
  const char* bin = std::getenv("SPATIAL_BINARY");
  if (bin == nullptr || *bin == '\0') GTEST_SKIP() << "SPATIAL_BINARY unset";
  const std::string dir = FreshDir("pgcli");
  const std::string url = FreshDatabase(), store = dir + "/store";
  auto spatial = [&](std::vector<std::string> args, const std::string& reg) {
    args.insert(args.begin(), bin);
    auto r = pgtest::RunCommand(
        args, {{"SPATIAL_REGISTRY", reg}, {"SPATIAL_ACTOR", "loader"}});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(pgtest::CommandResult{});
  };
  auto model = [&](std::vector<std::string> args, const std::string& reg,
                   const std::string& st) {
    args.insert(args.begin(), "model");
    args.insert(args.end(), {"--store", st});
    return spatial(args, reg);
  };
  std::mutex mu;
  std::set<std::string> committed;
  std::vector<std::string> failures;
  std::atomic<bool> stop{false}, backup_done{false};
  std::atomic<int> after_backup{0};
  auto worker = [&](int w) {
    for (int i = 0; i < 40 && !stop; ++i) {
      std::string id = absl::StrCat("w", w, "-", i);
      std::string file = absl::StrCat(dir, "/", id, ".onnx");
      std::ofstream(file) << "bytes of " << id << " " << std::rand();
      auto r = model({"register", file, "--version-id", id, "--architecture",
                      "dual-encoder", "--metric", "accuracy=0.93", "--metric",
                      "inference_time_ms=120"},
                     url, store);
      std::vector<pgtest::CommandResult> rs = {r};
      if (r.exit_code == 0) {
        {
          std::lock_guard<std::mutex> lock(mu);
          committed.insert(id);
        }
        rs.push_back(model({"validate", id, "--environment", "development"},
                           url, store));
        rs.push_back(
            model({"promote", id, "--environment", "development"}, url, store));
        if (backup_done) ++after_backup;
      }
      for (const auto& x : rs) {
        if (x.exit_code != 0) {
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(x.output);
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) threads.emplace_back(worker, w);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (committed.size() >= 4 || std::chrono::steady_clock::now() > deadline)
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::set<std::string> before;
  {
    std::lock_guard<std::mutex> lock(mu);
    before = committed;
  }
  const std::string file = dir + "/pg.spbackup";
  auto backup = model({"backup", "--out", file}, url, store);
  backup_done = true;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (after_backup < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_GE(before.size(), 4u) << "the load did not start";
  ASSERT_EQ(backup.exit_code, 0) << backup.output;
  EXPECT_GE(after_backup, 1) << "the load stopped before the backup ended";
  EXPECT_TRUE(failures.empty()) << failures.size() << " load command(s) "
                                << "failed, first: " << failures.front();

  const std::string target = FreshDatabase(), new_store = dir + "/new-store";
  auto restore = model({"restore", file}, target, new_store);
  ASSERT_EQ(restore.exit_code, 0) << restore.output;
  auto test = model({"test"}, target, new_store);
  EXPECT_EQ(test.exit_code, 0) << test.output;
  auto audit = spatial({"audit", "verify", "--store", new_store}, target);
  EXPECT_EQ(audit.exit_code, 0) << audit.output;
  EXPECT_NE(audit.output.find("chain intact"), std::string::npos)
      << audit.output;
  auto list = model({"list", "--json"}, target, new_store);
  ASSERT_EQ(list.exit_code, 0) << list.output;
  auto j = nlohmann::json::parse(list.output, nullptr, false);
  ASSERT_TRUE(j.is_array()) << list.output;
  std::set<std::string> restored;
  for (const auto& v : j) restored.insert(v.value("version_id", ""));
  std::cerr << before.size() << " version(s) committed before the backup, "
            << restored.size() << " in it, " << after_backup
            << " committed after it\n";
  for (const auto& id : before) {
    EXPECT_TRUE(restored.count(id)) << id << " committed before the backup";
  }
  for (const auto& id : restored) {
    EXPECT_TRUE(committed.count(id)) << id << " was never committed";
  }
}

}  // namespace
}  // namespace spatial::registry::backup
