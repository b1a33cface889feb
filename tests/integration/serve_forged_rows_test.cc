// Black-box tests of `spatial serve --registry` against rows written behind
// the audit log's back, as anyone with write access to the registry file can:
// a deployment row inserted to make a version active, a key slipped into an
// environment's trusted keys; and against records appended as the CLI writes
// them, which the keys given to the server (--trusted-key) answer. The server
// runs the check `model promote` runs (the rows must be what their audit
// records vouch for) before it loads a version, refuses the forged one, and
// keeps serving the version it had.
#include <signal.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/vision/renderer.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/serve_client.h"
#include "tests/integration/server_process.h"
#include "tests/integration/sqlite_tamper.h"

namespace spatial::integration {
namespace {
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

std::string ServedSpatial(int port) {
  Json j = ParseJsonBody(Request(port, "GET", "/health"));
  if (j.is_discarded() || !j["models"].contains("spatial")) return "";
  return j["models"]["spatial"].get<std::string>();
}

// Waits (bounded) until the server's log holds `text`; the log.
std::string WaitForLog(const ServerProcess& server, const std::string& text) {
  auto deadline = std::chrono::steady_clock::now() + seconds(20);
  while (server.Log().find(text) == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  return server.Log();
}

// Makes `version` the newest deployment of `environment` without a
// promotion: no audit record, no checks.
std::string ForgedDeployment(const std::string& environment,
                             const std::string& version,
                             const std::string& previous) {
  return "INSERT INTO deployments (environment, version_id, "
         "previous_version_id, kind, actor, reason, created_at) VALUES ('" +
         environment + "', '" + version + "', '" + previous +
         "', 'promote', 'ci', 'release', '2026-12-04T00:00:00Z')";
}

// The id of the one key `keys list` shows development trusting.
std::string MalloryKeyId(const std::string& keys_list) {
  const std::string header = "development (signature not required):\n  ";
  auto at = keys_list.find(header);
  return at == std::string::npos ? "(no key in development)"
                                 : keys_list.substr(at + header.size(), 16);
}

TEST(ServeForgedRowsTest, DeploymentInsertedWithSqliteIsNotServed) {
  Sandbox box;
  box.RegisterAndPromote(ShippedBundle("spatial-pizza-v1"), "s1");
  // Registered the honest way (audited), never validated nor promoted.
  ProcessResult r = box.Model(
      {"register", box.VariantBundle("s2"), "--version-id", "s2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r;
  ServerProcess server(
      {"--registry", box.registry(), "--environment", "development",
       "--workers", "1", "--poll-registry-s", "0"},
      box.dir(), box.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  ASSERT_EQ(ServedSpatial(server.port()), "s1");

  TamperSqlite(box.registry(), ForgedDeployment("development", "s2", "s1"));
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  std::string log = WaitForLog(server, "not loading s2");
  EXPECT_THAT(log, HasSubstr("not loading s2 (active in development)"));
  EXPECT_THAT(log, HasSubstr("disagree with the audit log"));
  EXPECT_THAT(log, HasSubstr("deployment #"));
  EXPECT_THAT(log, HasSubstr("still serving s1"));
  EXPECT_EQ(ServedSpatial(server.port()), "s1");
  Reply c = Request(
      server.port(), "POST", "/classify", kForm,
      Multipart({{"file", "image/jpeg", vision::RenderPizza(2, 3, 0, 96).jpeg},
                 {"use_spatial", "", "true"}}));
  EXPECT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(ParseJsonBody(c)["model_version"], "s1");
  // What the operator is told to run names the same row.
  ProcessResult verify =
      box.Spatial({"audit", "verify", "--registry", box.registry()});
  EXPECT_EQ(verify.exit_code, 1) << verify;
  EXPECT_THAT(verify.err, HasSubstr("deployment #"));
}

// Staging trusts `keys` (in the registry and given to the server), s1 signed
// by it, validated and promoted, and a server following the registry serving
// it; `mallory` holds a key pair of her own.
struct StagingOnS1 {
  Sandbox box;
  const std::string config = SourceDir() + "/config/environments.json";
  std::unique_ptr<ServerProcess> server;

  ProcessResult Run(std::vector<std::string> args) {
    return box.SpatialOk(std::move(args), config);
  }

  StagingOnS1() {
    for (const char* k : {"keys", "mallory"}) {
      EXPECT_EQ(
          box.Spatial({"keys", "generate", "--out", box.Path(k)}).exit_code, 0);
    }
    Run({"model", "register", ShippedBundle("spatial-pizza-v1"), "--version-id",
         "s1"});
    Run({"keys", "trust", box.Path("keys/signing.pub"), "--environment",
         "staging"});
    Run({"model", "sign", "s1", "--key", box.Path("keys/signing.key")});
    Run({"model", "validate", "s1", "--environment", "staging",
         "--allow-cpu-override", "test host has no GPU"});
    Run({"model", "promote", "s1", "--environment", "staging"});
    server = std::make_unique<ServerProcess>(
        std::vector<std::string>{"--registry", box.registry(), "--config",
                                 config, "--environment", "staging",
                                 "--workers", "1", "--poll-registry-s", "0",
                                 "--trusted-key", box.Path("keys/signing.pub")},
        box.dir(), box.Path("serve.log"));
    EXPECT_TRUE(server->WaitReady(seconds(30))) << server->Log();
  }
};

TEST(ServeForgedRowsTest, KeySlippedIntoStagingDoesNotServeAnUnvettedVersion) {
  StagingOnS1 fx;
  Sandbox& box = fx.box;
  ServerProcess& server = *fx.server;
  ASSERT_EQ(ServedSpatial(server.port()), "s1");

  // Mallory registers and signs s2 with her own key (both audited, both
  // allowed), then with sqlite3 makes staging trust her key and s2 active:
  // s2 was never validated for staging, and no one with the deployer role
  // promoted it.
  fx.Run({"model", "register", box.VariantBundle("variant2"), "--version-id",
          "s2"});
  fx.Run({"model", "sign", "s2", "--key", box.Path("mallory/signing.key")});
  // Her key's entry as `keys trust` writes it, copied into staging's.
  fx.Run({"keys", "trust", box.Path("mallory/signing.pub"), "--environment",
          "development"});
  TamperSqlite(
      box.registry(),
      "UPDATE environments SET spec = json_set(spec, "
      "'$.trusted_keys[#]', json(json_extract((SELECT spec FROM "
      "environments WHERE name = 'development'), '$.trusted_keys[0]'))) "
      "WHERE name = 'staging'; " +
          ForgedDeployment("staging", "s2", "s1"));
  // The forgery took: staging now lists her key.
  ProcessResult keys = fx.Run({"keys", "list"});
  const std::string staging = keys.out.substr(keys.out.find("staging"));
  ASSERT_EQ(staging.find("production"), std::string::npos) << keys;
  ASSERT_THAT(staging, HasSubstr(MalloryKeyId(keys.out))) << keys;
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  std::string log = WaitForLog(server, "not loading s2");
  EXPECT_THAT(log, HasSubstr("not loading s2 (active in staging)"));
  EXPECT_THAT(log, HasSubstr("disagree with the audit log"));
  EXPECT_EQ(ServedSpatial(server.port()), "s1");
}

// Mallory's records need not be forged rows: whoever can write the registry
// can append records the audit chain accepts. Here she does so through the
// CLI itself: `keys trust` of her key for staging, a validation, a promotion
// of the version she signed. The server was given its keys at deploy time
// (--trusted-key), her key is not among them: s2 is not loaded, s1 stays.
TEST(ServeForgedRowsTest, KeyTrustedInTheRegistryAloneDoesNotServeAVersion) {
  StagingOnS1 fx;
  Sandbox& box = fx.box;
  ServerProcess& server = *fx.server;
  ASSERT_EQ(ServedSpatial(server.port()), "s1");

  fx.Run({"model", "register", box.VariantBundle("variant2"), "--version-id",
          "s2"});
  fx.Run({"keys", "trust", box.Path("mallory/signing.pub"), "--environment",
          "staging"});
  fx.Run({"model", "sign", "s2", "--key", box.Path("mallory/signing.key")});
  fx.Run({"model", "validate", "s2", "--environment", "staging",
          "--allow-cpu-override", "test host has no GPU"});
  fx.Run({"model", "promote", "s2", "--environment", "staging"});
  // The chain is intact: nothing here is a forged row.
  fx.Run({"audit", "verify"});
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  std::string log = WaitForLog(server, "not loading s2");
  EXPECT_THAT(log, HasSubstr("not loading s2 (active in staging)"));
  EXPECT_THAT(log, HasSubstr("no valid signature by a key staging trusts"));
  EXPECT_EQ(ServedSpatial(server.port()), "s1");
}

// The same key, used for a bundle given with --model-dir: the registry's
// trusted keys admit such bundles, so a server does not start on an
// environment row edited behind the audit log's back.
TEST(ServeForgedRowsTest, KeySlippedIntoStagingDoesNotAdmitAModelDirBundle) {
  Sandbox box;
  const std::string config = SourceDir() + "/config/environments.json";
  ASSERT_EQ(
      box.Spatial({"keys", "generate", "--out", box.Path("mallory")}).exit_code,
      0);
  box.SpatialOk({"model", "init"});
  box.SpatialOk({"keys", "trust", box.Path("mallory/signing.pub"),
                 "--environment", "development"},
                config);
  const std::string bundle = box.VariantBundle("mallory-bundle");
  ASSERT_EQ(box.Spatial({"model", "sign", bundle, "--key",
                         box.Path("mallory/signing.key")})
                .exit_code,
            0);
  TamperSqlite(
      box.registry(),
      "UPDATE environments SET spec = json_set(spec, "
      "'$.trusted_keys[#]', json(json_extract((SELECT spec FROM "
      "environments WHERE name = 'development'), '$.trusted_keys[0]'))) "
      "WHERE name = 'staging'");
  ProcessResult r = box.Spatial({"serve", "--registry", box.registry(),
                                 "--config", config, "--environment", "staging",
                                 "--model-dir", bundle, "--port", "0"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("not serving staging: the registry rows it "
                               "relies on disagree with the audit log"));
  EXPECT_THAT(r.err, HasSubstr("environment staging was edited"));
}

}  // namespace
}  // namespace spatial::integration
