// Black-box tests of `spatial serve` as a deployment target: it serves the
// version active in the registry, swaps to a newly promoted one under load
// without failing a request, refuses a tampered one while serving the old,
// reports ready only after warm-up, and falls back from spatial to standard
// when the spatial model fails.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/vision/renderer.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/serve_client.h"
#include "tests/integration/server_process.h"

namespace spatial::integration {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

Reply Classify(int port, const std::string& jpeg,
               const std::string& path = "/classify",
               const std::string& use_spatial = "true") {
  return Request(port, "POST", path, kForm,
                 Multipart({{"file", "image/jpeg", jpeg},
                            {"use_spatial", "", use_spatial}}));
}

std::string ServedVersion(int port, const char* slot) {
  Json j = ParseJsonBody(Request(port, "GET", "/health"));
  if (j.is_discarded() || !j["models"].contains(slot)) return "";
  return j["models"][slot].get<std::string>();
}

std::vector<std::string> RegistryArgs(const Sandbox& box,
                                      const std::string& poll_s = "0.1") {
  return {"--registry",        box.registry(),
          "--environment",     "development",
          "--workers",         "1",
          "--poll-registry-s", poll_s,
          "--model-dir",       ShippedBundle("standard-pizza-v1")};
}

TEST(ServeRegistryTest, SwapsToAPromotedVersionUnderLoadFailingNoRequest) {
  Sandbox box;
  box.RegisterAndPromote(ShippedBundle("spatial-pizza-v1"), "s1");
  ServerProcess server(RegistryArgs(box), box.dir(), box.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  const int port = server.port();
  EXPECT_EQ(ServedVersion(port, "spatial"), "s1");
  EXPECT_EQ(ServedVersion(port, "standard"), "standard-pizza-v1");

  const std::string jpeg = vision::RenderPizza(1, 2, 0, 96).jpeg;
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::mutex mu;
  std::set<std::string> versions;
  std::string first_failure;
  std::vector<std::thread> clients;
  for (int i = 0; i < 4; ++i) {
    clients.emplace_back([&] {
      while (!stop) {
        Reply r = Classify(port, jpeg);
        Json j = ParseJsonBody(r);
        std::lock_guard<std::mutex> lock(mu);
        if (r.status == 200 && !j.is_discarded() && !j["fallback"]) {
          ++ok;
          versions.insert(j["model_version"].get<std::string>());
        } else {
          if (failed++ == 0) first_failure = r.body;
        }
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(300));
  box.RegisterAndPromote(box.VariantBundle("s2"), "s2");
  auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (ServedVersion(port, "spatial") != "s2" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  std::this_thread::sleep_for(milliseconds(300));
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(ServedVersion(port, "spatial"), "s2") << server.Log();
  EXPECT_EQ(failed.load(), 0) << first_failure;
  EXPECT_GT(ok.load(), 20);
  EXPECT_EQ(versions, (std::set<std::string>{"s1", "s2"}));
  std::string log = server.Log();
  EXPECT_NE(log.find("serving s2 (active in development), replacing s1"),
            std::string::npos)
      << log;
  // Once its last request is answered the old version is unloaded.
  deadline = std::chrono::steady_clock::now() + seconds(10);
  while (server.Log().find("drained and unloaded s1") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_NE(server.Log().find("drained and unloaded s1"), std::string::npos)
      << server.Log();
  EXPECT_EQ(server.Terminate(seconds(20)), 0) << server.Log();
}

TEST(ServeRegistryTest, TamperedVersionIsRefusedAndTheOldOneKeepsServing) {
  Sandbox box;
  box.RegisterAndPromote(ShippedBundle("spatial-pizza-v1"), "s1");
  // No polling: SIGHUP makes it look, after the store was tampered with.
  ServerProcess server(RegistryArgs(box, "0"), box.dir(),
                       box.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  const int port = server.port();

  // Promoted while intact, then one byte of its stored manifest changes
  // before the server picks it up.
  ProcessResult r = box.Model(
      {"register", box.VariantBundle("s3"), "--version-id", "s3", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ASSERT_EQ(
      box.Model({"validate", "s3", "--environment", "development"}).exit_code,
      0);
  Json info = box.JsonAt(box.registry(), {"info", "s3"});
  std::string manifest_blob;
  for (const auto& f : info["spatial_deploy"]["files"]) {
    if (f["path"] == "manifest.json") {
      std::string h = f["sha256"];
      manifest_blob = box.store() + "/sha256/" + h.substr(0, 2) + "/" + h;
    }
  }
  ASSERT_FALSE(manifest_blob.empty()) << info.dump();
  ASSERT_EQ(
      box.Model({"promote", "s3", "--environment", "development"}).exit_code,
      0);
  ASSERT_EQ(::chmod(manifest_blob.c_str(), 0644), 0);
  std::ofstream(manifest_blob, std::ios::app) << " ";
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);

  auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (server.Log().find("not loading s3") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  std::string log = server.Log();
  EXPECT_NE(log.find("not loading s3 (active in development)"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("manifest.json does not match its registered sha256"),
            std::string::npos)
      << log;
  EXPECT_EQ(ServedVersion(port, "spatial"), "s1");
  Reply c = Classify(port, vision::RenderPizza(2, 3, 0, 96).jpeg);
  EXPECT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(ParseJsonBody(c)["model_version"], "s1");
  std::string metrics = Request(port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("pizza_api_model_loads_total{result=\"failure\"} 1"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(Request(port, "GET", "/v2/health/ready").status, 200);
}

TEST(ServeRegistryTest, MissingRegistryOrUnknownEnvironmentIsAnError) {
  Sandbox box;
  ProcessResult r =
      box.Spatial({"serve", "--registry", box.Path("nope.db"), "--port", "0"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_NE(r.err.find("no registry at"), std::string::npos) << r;
  EXPECT_FALSE(fs::exists(box.Path("nope.db")));

  box.RegisterAndPromote(ShippedBundle("spatial-pizza-v1"), "s1");
  r = box.Spatial({"serve", "--registry", box.registry(), "--environment", "qa",
                   "--port", "0"});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_NE(r.err.find("qa"), std::string::npos) << r;
}

TEST(ServeTest, ReadyOnlyAfterWarmUp) {
  Sandbox box;
  // A long warm-up, so that the not-ready window is wide enough to see.
  ServerProcess server({"--model-dir", ShippedBundle("spatial-pizza-v1"),
                        "--workers", "1", "--warmup-rounds", "120"},
                       SourceDir(), box.Path("serve.log"));
  ASSERT_TRUE(server.WaitForPort(seconds(30))) << server.Log();
  const int port = server.port();
  EXPECT_EQ(Request(port, "GET", "/v2/health/live").status, 200);
  Reply ready = Request(port, "GET", "/v2/health/ready");
  EXPECT_EQ(ready.status, 400) << ready.body;  // OIP: 4xx = not ready
  Reply early = Classify(port, vision::RenderPizza(0, 1, 0, 96).jpeg);
  EXPECT_EQ(early.status, 503) << early.body;
  EXPECT_NE(early.headers.find("Retry-After"), std::string::npos);
  ASSERT_TRUE(server.WaitReady(seconds(60))) << server.Log();
  EXPECT_EQ(Classify(port, vision::RenderPizza(0, 1, 0, 96).jpeg).status, 200);
  // Warm-up batches are not requests: the metrics start at zero.
  std::string metrics = Request(port, "GET", "/metrics").body;
  EXPECT_NE(
      metrics.find("pizza_api_batch_size_count{model=\"spatial-mllm\"} 1\n"),
      std::string::npos)
      << metrics;
}

TEST(ServeTest, SpatialFailureFallsBackToStandardAndSaysSo) {
  Sandbox box;
  // No cache: `direct` below must be computed, not the fallback's entry.
  ServerProcess server(
      {"--workers", "1", "--inject-spatial-faults", "1", "--cache-mb", "0"},
      SourceDir(), box.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  const int port = server.port();
  const std::string jpeg = vision::RenderPizza(4, 5, 0, 96).jpeg;
  Reply r = Classify(port, jpeg);
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = ParseJsonBody(r);
  EXPECT_EQ(j["model_used"], "standard-cnn");
  EXPECT_EQ(j["fallback"], true);
  EXPECT_NE(
      j["fallback_reason"].get<std::string>().find("the spatial model failed"),
      std::string::npos)
      << j.dump();
  // The standard model's own answer, not a made-up one.
  Json direct = ParseJsonBody(Classify(port, jpeg, "/predict/standard"));
  EXPECT_EQ(j["probabilities"], direct["probabilities"]);
  // Asking for the spatial model by name gets its error, not another model.
  Reply forced = Classify(port, jpeg, "/predict/spatial");
  EXPECT_EQ(forced.status, 500) << forced.body;
  EXPECT_NE(forced.body.find("injected fault"), std::string::npos);
  std::string metrics = Request(port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("pizza_api_fallbacks_total 1\n"), std::string::npos)
      << metrics;
}

}  // namespace
}  // namespace spatial::integration

namespace spatial::integration {
namespace {

// Staging serves only versions signed by a key it trusts: a signed version
// whose stored file changed after promotion is refused at load, and the old
// one keeps serving.
TEST(ServeRegistryTest, StagingRefusesATamperedSignedVersionAndKeepsTheOld) {
  Sandbox box;
  const std::string config = SourceDir() + "/config/environments.json";
  auto run = [&](std::vector<std::string> args) {
    return box.SpatialOk(std::move(args), config);
  };
  ASSERT_EQ(
      box.Spatial({"keys", "generate", "--out", box.Path("keys")}).exit_code,
      0);
  run({"model", "register", ShippedBundle("spatial-pizza-v1"), "--version-id",
       "s1"});
  // Not named like the version: `model sign s2` would sign a directory s2.
  run({"model", "register", box.VariantBundle("variant2"), "--version-id",
       "s2"});
  run({"keys", "trust", box.Path("keys/signing.pub"), "--environment",
       "staging"});
  for (const char* id : {"s1", "s2"}) {
    run({"model", "sign", id, "--key", box.Path("keys/signing.key")});
    run({"model", "validate", id, "--environment", "staging",
         "--allow-cpu-override", "test host has no GPU"});
  }
  run({"model", "promote", "s1", "--environment", "staging"});
  ServerProcess server(
      {"--registry", box.registry(), "--config", config, "--environment",
       "staging", "--workers", "1", "--poll-registry-s", "0", "--trusted-key",
       box.Path("keys/signing.pub")},
      box.dir(), box.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  EXPECT_EQ(ServedVersion(server.port(), "spatial"), "s1");

  run({"model", "promote", "s2", "--environment", "staging"});
  Json info = box.JsonAt(box.registry(), {"info", "s2"});
  for (const auto& f : info["spatial_deploy"]["files"]) {
    if (f["path"] != "manifest.json") continue;
    std::string h = f["sha256"];
    std::string blob = box.store() + "/sha256/" + h.substr(0, 2) + "/" + h;
    ASSERT_EQ(::chmod(blob.c_str(), 0644), 0);
    std::ofstream(blob, std::ios::app) << " ";
  }
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (server.Log().find("not loading s2") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  std::string log = server.Log();
  EXPECT_NE(log.find("not loading s2 (active in staging)"), std::string::npos)
      << log;
  EXPECT_NE(log.find("manifest.json"), std::string::npos) << log;
  EXPECT_EQ(ServedVersion(server.port(), "spatial"), "s1");
  EXPECT_EQ(
      Classify(server.port(), vision::RenderPizza(1, 9, 0, 96).jpeg).status,
      200);
  // A signed, intact version by a key staging stopped trusting is refused
  // by the server too (the policy is read anew at every load).
  run({"model", "register", box.VariantBundle("variant3"), "--version-id",
       "s3"});
  run({"model", "sign", "s3", "--key", box.Path("keys/signing.key")});
  run({"model", "validate", "s3", "--environment", "staging",
       "--allow-cpu-override", "test host has no GPU"});
  run({"model", "promote", "s3", "--environment", "staging"});
  ProcessResult keys = run({"keys", "list"});
  const std::string header = "staging (signature required):\n  ";
  auto at = keys.out.find(header);
  ASSERT_NE(at, std::string::npos) << keys;
  std::string key_id = keys.out.substr(at + header.size(), 16);
  run({"keys", "untrust", key_id, "--environment", "staging"});
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  deadline = std::chrono::steady_clock::now() + seconds(20);
  while (server.Log().find("not loading s3") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  log = server.Log();
  EXPECT_NE(log.find("not loading s3 (active in staging)"), std::string::npos)
      << log;
  EXPECT_EQ(ServedVersion(server.port(), "spatial"), "s1");
  EXPECT_NE(Request(server.port(), "GET", "/metrics")
                .body.find("pizza_api_model_loads_total{result=\"failure\"} 2"),
            std::string::npos);
  // The private key never reaches the server's log.
  std::string key = ReadBytes(box.Path("keys/signing.key"));
  EXPECT_EQ(log.find(key.substr(0, std::min<size_t>(key.size(), 40))),
            std::string::npos);
}

}  // namespace
}  // namespace spatial::integration
