// Black-box tests of `spatial model backup` and `spatial model restore`: a
// backup taken while other processes register and promote restores to a
// registry that passes `model test` and `audit verify` and holds every
// version committed before the backup began; bad input changes nothing.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"

namespace spatial::integration {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;

const std::vector<std::string> kMetrics = {"--metric", "accuracy=0.93",
                                           "--metric", "inference_time_ms=120"};

std::set<std::string> Ids(const Json& list) {
  std::set<std::string> ids;
  for (const auto& v : list) ids.insert(v.value("version_id", ""));
  return ids;
}

// Registers `id` (the real standard bundle plus, for distinct blobs, a
// random file), validates it for development and promotes it.
void RegisterValidatePromote(Sandbox& box, const std::string& id) {
  std::vector<std::string> extra = kMetrics;
  box.Register(box.WriteRandomFile(id + ".onnx", 4000), id, extra);
  ProcessResult v = box.Model({"validate", id, "--environment", "development"});
  ASSERT_EQ(v.exit_code, 0) << v;
  ProcessResult p = box.Model({"promote", id, "--environment", "development"});
  ASSERT_EQ(p.exit_code, 0) << p;
}

TEST(CliBackupTest, BackupDuringRegisterAndPromoteLoadRestoresConsistently) {
  Sandbox box;
  ProcessResult real =
      box.Model({"register", SourceDir() + "/models/standard-pizza-v1",
                 "--version-id", "standard-v1"});
  ASSERT_EQ(real.exit_code, 0) << real;
  RegisterValidatePromote(box, "seed-1");

  // Two workers, each a loop of separate `spatial` processes.
  constexpr int kWorkers = 2;
  std::vector<std::string> files;
  for (int w = 0; w < kWorkers; ++w) {
    for (int i = 0; i < 60; ++i) {
      std::string id = "w" + std::to_string(w) + "-" + std::to_string(i);
      files.push_back(box.WriteRandomFile(id + ".onnx", 3000 + i));
    }
  }
  std::mutex mu;
  std::set<std::string> committed;  // register exited 0
  std::vector<std::string> failures;
  std::atomic<bool> stop{false};
  std::atomic<int> after_backup{0};
  std::atomic<bool> backup_done{false};
  auto worker = [&](int w) {
    for (int i = 0; i < 60 && !stop; ++i) {
      std::string id = "w" + std::to_string(w) + "-" + std::to_string(i);
      ProcessResult r =
          box.Model({"register", files[w * 60 + i], "--version-id", id,
                     "--architecture", "dual-encoder", "--metric",
                     "accuracy=0.93", "--metric", "inference_time_ms=120"});
      std::vector<ProcessResult> rs = {r};
      if (r.exit_code == 0) {
        {
          std::lock_guard<std::mutex> lock(mu);
          committed.insert(id);
        }
        rs.push_back(
            box.Model({"validate", id, "--environment", "development"}));
        rs.push_back(
            box.Model({"promote", id, "--environment", "development"}));
        if (backup_done) ++after_backup;
      }
      for (const auto& x : rs) {
        if (x.exit_code != 0) {
          std::lock_guard<std::mutex> lock(mu);
          failures.push_back(::testing::PrintToString(x.command) + ": " +
                             x.err);
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) threads.emplace_back(worker, w);

  // Let the load run, then take the backup in the middle of it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (committed.size() >= 6) break;
    }
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no load";
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::set<std::string> before;
  {
    std::lock_guard<std::mutex> lock(mu);
    before = committed;
  }
  const std::string file = box.Path("backup/registry.spbackup");
  fs::create_directories(box.Path("backup"));
  ProcessResult backup = box.Model({"backup", "--out", file});
  backup_done = true;
  // The load goes on after the backup: it really ran during it.
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (after_backup < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  for (auto& t : threads) t.join();
  ASSERT_EQ(backup.exit_code, 0) << backup;
  EXPECT_GE(after_backup, 2) << "the load stopped before the backup ended";
  EXPECT_THAT(backup.out, HasSubstr("backed up sqlite registry to " + file));
  EXPECT_THAT(backup.out, HasSubstr("verified"));
  EXPECT_TRUE(failures.empty())
      << failures.size()
      << " load command(s) failed, first: " << failures.front();

  // Restore into a new place, as after losing the machine.
  const std::string fresh = box.Path("restored/registry.db");
  ProcessResult restore = box.ModelAt(fresh, {"restore", file});
  ASSERT_EQ(restore.exit_code, 0) << restore;
  EXPECT_THAT(restore.out, HasSubstr("restored sqlite registry from " + file));
  ProcessResult test = box.ModelAt(fresh, {"test"});
  EXPECT_EQ(test.exit_code, 0) << test;
  EXPECT_THAT(test.out, ::testing::Not(HasSubstr("FAIL")));
  ProcessResult audit = box.Spatial(
      {"audit", "verify", "--registry", fresh, "--actor", "tester"});
  EXPECT_EQ(audit.exit_code, 0) << audit;
  EXPECT_THAT(audit.out, HasSubstr("chain intact"));

  std::set<std::string> restored = Ids(box.JsonAt(fresh, {"list"}));
  std::cerr << before.size() << " version(s) committed before the backup, "
            << restored.size() << " in it, " << after_backup
            << " committed after it; " << backup.out.substr(0, 200) << "\n";
  for (const auto& id : before) {
    EXPECT_TRUE(restored.count(id)) << id << " committed before the backup";
  }
  EXPECT_TRUE(restored.count("standard-v1"));
  EXPECT_TRUE(restored.count("seed-1"));
  // Nothing that was never committed; and the versions in the backup are
  // the ones its summary listed.
  std::set<std::string> all = Ids(box.ListJson());
  for (const auto& id : restored) EXPECT_TRUE(all.count(id)) << id;
  for (const auto& id : restored) {
    EXPECT_THAT(backup.out, HasSubstr("  " + id + "\n"));
  }
  // The restored history is one chain: the active version is one of them.
  Json latest = box.JsonAt(fresh, {"latest", "--environment", "development"});
  EXPECT_TRUE(restored.count(latest.value("version_id", "")));
}

TEST(CliBackupTest, RestoreRefusesBadInputAndChangesNothing) {
  Sandbox box;
  RegisterValidatePromote(box, "v1");
  const std::string file = box.Path("b.spbackup");
  ASSERT_EQ(box.Model({"backup", "--out", file}).exit_code, 0);

  // A registry with versions of its own, not to be overwritten silently.
  const std::string other = box.Path("other/registry.db");
  box.RegisterAt(other, box.WriteRandomFile("o.onnx", 500), "other-1");
  Json before = box.JsonAt(other, {"list"});
  std::string bytes_before = ReadBytes(other);

  ProcessResult r = box.ModelAt(other, {"restore", file});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("is not empty (1 version(s))"));
  EXPECT_THAT(r.err, HasSubstr("--force"));

  const std::string text = box.WriteFile("notes.txt", "not a backup\n");
  r = box.ModelAt(other, {"restore", text, "--force"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("is not a spatial backup file"));

  std::string truncated = ReadBytes(file);
  truncated.resize(truncated.size() / 2);
  const std::string cut = box.WriteFile("cut.spbackup", truncated);
  r = box.ModelAt(other, {"restore", cut, "--force"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("damaged"));

  r = box.ModelAt(other, {"restore", box.Path("missing.spbackup"), "--force"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("missing.spbackup"));

  r = box.ModelAt(other, {"restore"});
  EXPECT_EQ(r.exit_code, 2) << r;
  r = box.Model({"backup"});
  EXPECT_EQ(r.exit_code, 2) << r;

  EXPECT_EQ(box.JsonAt(other, {"list"}), before);
  EXPECT_EQ(ReadBytes(other), bytes_before);

  // With --force it is replaced by the backup's registry.
  r = box.ModelAt(other, {"restore", file, "--force"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(Ids(box.JsonAt(other, {"list"})), std::set<std::string>{"v1"});
  EXPECT_EQ(box.ModelAt(other, {"test"}).exit_code, 0);
}

TEST(CliBackupTest, BackupOfAMissingRegistryFailsWithoutCreatingIt) {
  Sandbox box;
  ProcessResult r = box.ModelAt(box.Path("none/registry.db"),
                                {"backup", "--out", box.Path("b.spbackup")});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("no registry at"));
  EXPECT_FALSE(fs::exists(box.Path("none")));
  EXPECT_FALSE(fs::exists(box.Path("b.spbackup")));
}

}  // namespace
}  // namespace spatial::integration
