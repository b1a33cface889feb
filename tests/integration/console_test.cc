// Black-box tests of the operator console's HTTP side: `spatial console` (the
// console alone over a registry) and /console under `spatial serve`: what is
// open, what needs which token, paging and its bad input, pipeline run files
// and paths that try to leave the run. The page itself is tested in a real
// browser (tests/browser/console_browser_test.py).
#include <filesystem>

#include "gtest/gtest.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/serve_client.h"
#include "tests/integration/server_process.h"

namespace spatial::integration {
namespace {
using std::chrono::seconds;

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    box_.RegisterAndPromote(ShippedBundle("spatial-pizza-v1"), "s1");
    ProcessResult r = box_.Model(
        {"register", ShippedBundle("spatial-pizza-v1"), "--version-id", "s2"});
    ASSERT_EQ(r.exit_code, 0) << r;
    viewer_ = box_.AddToken("v1", "viewer");
    deployer_ = box_.AddToken("d1", "deployer");
  }

  std::unique_ptr<ServerProcess> StartConsole() {
    auto s = std::make_unique<ServerProcess>(
        std::vector<std::string>{"--registry", box_.registry(), "--config",
                                 SourceDir() + "/config/environments.json",
                                 "--tokens-file", box_.tokens_file()},
        box_.dir(), box_.Path("console.log"), "console");
    EXPECT_TRUE(s->WaitForPort(std::chrono::seconds(30))) << s->Log();
    return s;
  }

  Sandbox box_;
  std::string viewer_, deployer_;
};

TEST_F(ConsoleTest, ConsoleAloneServesThePageAndTheDataBehindAViewerToken) {
  // The page is open; its data is not.
  auto console = StartConsole();
  const int port = console->port();
  Reply page = Request(port, "GET", "/console");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("/console/assets/console.js"), std::string::npos);
  EXPECT_NE(page.headers.find("Content-Security-Policy: default-src 'none'"),
            std::string::npos)
      << page.headers;
  EXPECT_EQ(Request(port, "GET", "/console/assets/views.js").status, 200);
  EXPECT_EQ(Request(port, "GET", "/console/assets/nope.js").status, 404);
  Reply root = Request(port, "GET", "/");
  EXPECT_EQ(root.status, 302);
  EXPECT_NE(root.headers.find("Location: /console"), std::string::npos);

  Reply anonymous = Request(port, "GET", "/console/api/versions");
  EXPECT_EQ(anonymous.status, 401) << anonymous.body;
  Reply bad = RequestAs(port, "GET", "/console/api/versions", "ff");
  EXPECT_EQ(bad.status, 401);
  EXPECT_NE(bad.body.find("unknown token"), std::string::npos) << bad.body;

  Reply session = RequestAs(port, "GET", "/console/api/session", viewer_);
  ASSERT_EQ(session.status, 200) << session.body;
  Json s = ParseJsonBody(session);
  EXPECT_EQ(s["role"], "viewer");
  EXPECT_EQ(s["can_deploy"], false);
  EXPECT_EQ(s["serving"], false);

  Reply list = RequestAs(port, "GET", "/console/api/versions", viewer_);
  ASSERT_EQ(list.status, 200) << list.body;
  Json l = ParseJsonBody(list);
  EXPECT_EQ(l["total"], 2);
  ASSERT_EQ(l["versions"].size(), 2u);
  EXPECT_EQ(l["versions"][0]["version_id"], "s2");  // newest first
  EXPECT_EQ(l["versions"][1]["active_in"], Json({"development"}));

  Reply one = RequestAs(port, "GET", "/console/api/versions/s1", viewer_);
  ASSERT_EQ(one.status, 200) << one.body;
  Json v = ParseJsonBody(one);
  EXPECT_EQ(v["validations"][0]["environment"], "development");
  EXPECT_EQ(v["validations"][0]["valid"], true);
  EXPECT_FALSE(v["version"]["spatial_deploy"]["files"].empty());
  EXPECT_EQ(v["lineage"]["deployments"][0]["kind"], "promote");
  EXPECT_EQ(
      RequestAs(port, "GET", "/console/api/versions/nope", viewer_).status,
      404);

  Reply verify = RequestAs(port, "GET", "/console/api/audit/verify", viewer_);
  ASSERT_EQ(verify.status, 200) << verify.body;
  EXPECT_EQ(ParseJsonBody(verify)["ok"], true);
  // Without models there is nothing to reload.
  EXPECT_EQ(RequestAs(port, "POST", "/api/v1/reload", deployer_).status, 503);
  EXPECT_EQ(Request(port, "GET", "/health").status, 404);
}

TEST_F(ConsoleTest, ActionsAreTheManagementApisWithItsRoles) {
  // A viewer may not promote; a deployer may, and the audit log says who.
  ASSERT_EQ(
      box_.Model({"validate", "s2", "--environment", "development"}).exit_code,
      0);
  auto console = StartConsole();
  const int port = console->port();
  const std::string promote = "/api/v1/environments/development/promote";
  Reply refused =
      RequestAs(port, "POST", promote, viewer_, R"({"version_id": "s2"})");
  EXPECT_EQ(refused.status, 403) << refused.body;
  Reply plan =
      RequestAs(port, "GET",
                "/console/api/environments/development/rollback-plan", viewer_);
  ASSERT_EQ(plan.status, 200) << plan.body;
  EXPECT_EQ(ParseJsonBody(plan)["target"], nullptr);  // nothing before s1
  Reply done =
      RequestAs(port, "POST", promote, deployer_, R"({"version_id": "s2"})");
  ASSERT_EQ(done.status, 200) << done.body;
  plan =
      RequestAs(port, "GET",
                "/console/api/environments/development/rollback-plan", viewer_);
  EXPECT_EQ(ParseJsonBody(plan)["target"], "s1");
  Json envs = ParseJsonBody(
      RequestAs(port, "GET", "/console/api/environments", viewer_));
  for (const auto& e : envs["environments"]) {
    if (e["name"] == "development") {
      EXPECT_EQ(e["active"], "s2");
      EXPECT_EQ(e["history"][0]["actor"], "d1");
    }
  }
  Json audit = ParseJsonBody(
      RequestAs(port, "GET", "/console/api/audit?limit=1", viewer_));
  ASSERT_EQ(audit["records"].size(), 1u);
  EXPECT_EQ(audit["records"][0]["action"], "promote");
  EXPECT_EQ(audit["records"][0]["actor"], "d1");
}

TEST_F(ConsoleTest, BadPagingIsA400NamingTheParameter) {
  auto console = StartConsole();
  const int port = console->port();
  struct Case {
    std::string query, message;
  } cases[] = {{"limit=0", "'limit' must be between 1 and 200"},
               {"offset=x", "'offset' must be a whole number"},
               {"order=id", "unknown query parameter 'order'"}};
  for (const auto& c : cases) {
    Reply r =
        RequestAs(port, "GET", "/console/api/versions?" + c.query, viewer_);
    EXPECT_EQ(r.status, 400) << c.query;
    EXPECT_NE(r.body.find(c.message), std::string::npos) << r.body;
  }
  Reply q = RequestAs(port, "GET", "/console/api/versions?q=S2", viewer_);
  ASSERT_EQ(q.status, 200);
  EXPECT_EQ(ParseJsonBody(q)["total"], 1);
}

TEST_F(ConsoleTest, RunFilesStayInsideTheRun) {
  // A run's files are served to a viewer; nothing outside the run is, by
  // '..', an encoded slash or a symlink.
  namespace fs = std::filesystem;
  const fs::path run = fs::path(box_.dir()) / "output" /
                       "spatial_pipeline_runs" / "20261204T000000Z";
  fs::create_directories(run / "reports");
  fs::create_directories(run / "logs");
  box_.WriteFile("output/spatial_pipeline_runs/20261204T000000Z/logs/a.log",
                 "stage log\n");
  box_.WriteFile("secret.txt", "not for the console\n");
  fs::create_symlink(fs::path(box_.dir()) / "secret.txt", run / "logs/b.log");
  auto console = StartConsole();
  const int port = console->port();
  const std::string base = "/console/api/runs/20261204T000000Z/";
  Reply ok = RequestAs(port, "GET", base + "logs/a.log", viewer_);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.body, "stage log\n");
  EXPECT_EQ(Request(port, "GET", base + "logs/a.log").status, 401);
  for (const std::string& path :
       {base + "../../../secret.txt", base + "logs/..%2f..%2fsecret.txt",
        base + "logs/b.log", std::string("/console/api/runs/../secret.txt"),
        base + "logs/missing.log"}) {
    Reply r = RequestAs(port, "GET", path, viewer_);
    EXPECT_EQ(r.status, 404) << path << ": " << r.body;
    EXPECT_EQ(r.body.find("not for the console"), std::string::npos);
  }
  Json runs =
      ParseJsonBody(RequestAs(port, "GET", "/console/api/runs", viewer_));
  ASSERT_EQ(runs["runs"].size(), 1u);
  EXPECT_EQ(runs["runs"][0]["run"], "20261204T000000Z");
  EXPECT_EQ(runs["runs"][0]["status"], nullptr);  // no report yet
}

TEST_F(ConsoleTest, ConsoleNeedsATokensFile) {
  ProcessResult r = box_.Spatial({"console", "--registry", box_.registry()});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("needs --tokens-file"), std::string::npos) << r;
}

TEST_F(ConsoleTest, ServeServesTheConsoleToo) {
  ServerProcess serve({"--registry", box_.registry(), "--environment",
                       "development", "--workers", "1", "--tokens-file",
                       box_.tokens_file(), "--poll-registry-s", "0"},
                      box_.dir(), box_.Path("serve.log"));
  ASSERT_TRUE(serve.WaitReady(seconds(30))) << serve.Log();
  EXPECT_EQ(Request(serve.port(), "GET", "/console").status, 200);
  Reply session =
      RequestAs(serve.port(), "GET", "/console/api/session", deployer_);
  ASSERT_EQ(session.status, 200) << session.body;
  Json s = ParseJsonBody(session);
  EXPECT_EQ(s["serving"], true);
  EXPECT_EQ(s["environment"], "development");
  EXPECT_EQ(s["can_deploy"], true);
}

}  // namespace
}  // namespace spatial::integration
