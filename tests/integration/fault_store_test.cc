// Fault: the artifact store loses or alters a file of the version a server
// is serving (a bad sync, a disk error, a careless hand). The server goes
// on serving it from memory, with no failed request; `spatial model test`
// names the version and the file; a reload (SIGHUP) of that version is
// refused with the file named, and so are a promotion of it and a rollback
// to it once another version serves.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "gtest/gtest.h"
#include "src/vision/renderer.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/fault_support.h"
#include "tests/integration/serve_client.h"
#include "tests/integration/server_process.h"

namespace spatial::integration {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string ServedVersion(int port) {
  Json j = ParseJsonBody(Request(port, "GET", "/health"));
  if (!j.is_object() || !j["models"].contains("spatial")) return "";
  return j["models"]["spatial"].get<std::string>();
}

// The stored blob of `file` of version `id`.
std::string BlobOf(const Sandbox& box, const std::string& id,
                   const std::string& file) {
  Json info = box.JsonAt(box.registry(), {"info", id});
  for (const auto& f : info["spatial_deploy"]["files"]) {
    if (f["path"] == file) {
      std::string h = f["sha256"];
      return box.store() + "/sha256/" + h.substr(0, 2) + "/" + h;
    }
  }
  ADD_FAILURE() << "no " << file << " in " << info.dump();
  return "";
}

TEST(FaultStoreTest, ServingGoesOnAndEveryPathToTheDamagedVersionNamesIt) {
  Sandbox box;
  box.RegisterAndPromote(ShippedBundle("spatial-pizza-v1"), "s1");
  ASSERT_EQ(
      box.Model({"register", box.VariantBundle("v2"), "--version-id", "s2"})
          .exit_code,
      0);
  ASSERT_EQ(
      box.Model({"validate", "s2", "--environment", "development"}).exit_code,
      0);
  ServerProcess server(
      {"--registry", box.registry(), "--environment", "development",
       "--workers", "1", "--poll-registry-s", "0"},
      box.dir(), box.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  const int port = server.port();
  Load load({port}, 2, vision::RenderPizza(0, 5, 0, 96).jpeg);

  // Only s1's manifest is its own (s2 shares the other files).
  const std::string manifest = BlobOf(box, "s1", "manifest.json");
  ASSERT_FALSE(manifest.empty());
  auto reload_refused = [&](int nth) {
    ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
    const auto deadline = std::chrono::steady_clock::now() + seconds(20);
    while (CountLines(server.Log(), "not reloading s1") < nth &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(20));
    }
    EXPECT_EQ(CountLines(server.Log(), "not reloading s1"), nth)
        << server.Log();
  };

  // 1. Changed: one byte appended.
  ASSERT_EQ(::chmod(manifest.c_str(), 0644), 0);
  { std::ofstream(manifest, std::ios::app) << " "; }
  ProcessResult test = box.Model({"test"});
  EXPECT_EQ(test.exit_code, 1) << test;
  EXPECT_NE(test.out.find("s1: artifact file 'manifest.json' is corrupted"),
            std::string::npos)
      << test;
  reload_refused(1);
  // 2. Deleted.
  ASSERT_TRUE(std::filesystem::remove(manifest));
  test = box.Model({"test"});
  EXPECT_EQ(test.exit_code, 1) << test;
  EXPECT_NE(test.out.find("s1: artifact file 'manifest.json' is missing"),
            std::string::npos)
      << test;
  reload_refused(2);
  EXPECT_EQ(ServedVersion(port), "s1");
  const std::string log = server.Log();
  EXPECT_NE(log.find("artifact file 'manifest.json' is missing"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("still serving s1 from memory"), std::string::npos) << log;

  // 3. Another version serves; the damaged one cannot come back.
  ASSERT_EQ(
      box.Model({"promote", "s2", "--environment", "development"}).exit_code,
      0);
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitForLog(server, "serving s2", seconds(20))) << server.Log();
  ProcessResult promote =
      box.Model({"promote", "s1", "--environment", "development"});
  EXPECT_EQ(promote.exit_code, 1) << promote;
  EXPECT_NE(promote.err.find("refusing to promote 's1': artifact file "
                             "'manifest.json' is missing"),
            std::string::npos)
      << promote;
  ProcessResult rollback =
      box.Model({"rollback", "--environment", "development"});
  EXPECT_NE(rollback.exit_code, 0) << rollback;
  EXPECT_NE(rollback.err.find("manifest.json"), std::string::npos) << rollback;
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  EXPECT_TRUE(WaitForLog(server, "nothing new to serve", seconds(20)));
  load.Stop();
  std::cout << "fault store-damage: " << load.ok() << " requests answered, "
            << load.failed() << " failed, p99 " << load.P99Ms()
            << " ms; model test exit " << test.exit_code << ", promote exit "
            << promote.exit_code << ", rollback exit " << rollback.exit_code
            << std::endl;
  EXPECT_EQ(load.failed(), 0) << load.first_failure();
  EXPECT_EQ(ServedVersion(port), "s2");
  EXPECT_EQ(server.Terminate(seconds(20)), 0) << server.Log();
}

}  // namespace
}  // namespace spatial::integration
