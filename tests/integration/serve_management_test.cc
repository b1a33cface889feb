// Black-box tests of the server's management API (/api/v1) and bearer
// tokens: every role against every endpoint, promotion through the API
// swapping the served model, and --require-token on inference.
#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "gtest/gtest.h"
#include "src/vision/renderer.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/serve_client.h"
#include "tests/integration/server_process.h"

namespace spatial::integration {
namespace {
using std::chrono::seconds;

class ManagementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"register", ShippedBundle("spatial-pizza-v1"), "--version-id",
              "s1"},
             {"register", ShippedBundle("spatial-pizza-v1"), "--version-id",
              "s2"},
             {"validate", "s1", "--environment", "development"},
             {"validate", "s2", "--environment", "development"},
             {"promote", "s1", "--environment", "development"}}) {
      ProcessResult r = box_.Model(args);
      ASSERT_EQ(r.exit_code, 0) << r;
    }
    for (const char* role : {"viewer", "labeler", "deployer", "admin"}) {
      tokens_[role] = box_.AddToken(std::string(role) + "1", role);
      ASSERT_FALSE(tokens_[role].empty());
    }
    // The file holds hashes, not tokens.
    std::string file = ReadBytes(box_.Path("tokens.json"));
    for (const auto& [role, token] : tokens_)
      EXPECT_EQ(file.find(token), std::string::npos);
  }

  std::unique_ptr<ServerProcess> Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "--registry",        box_.registry(),
        "--environment",     "development",
        "--workers",         "1",
        "--tokens-file",     box_.Path("tokens.json"),
        "--poll-registry-s", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto s = std::make_unique<ServerProcess>(args, box_.dir(),
                                             box_.Path("serve.log"));
    EXPECT_TRUE(s->WaitReady(seconds(30))) << s->Log();
    return s;
  }

  Sandbox box_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(ManagementTest, EveryRoleAgainstEveryEndpoint) {
  auto server = Start();
  const int port = server->port();
  struct Row {
    std::string method, path, body;
    int none, bad, viewer, labeler, deployer, admin;
  };
  // Writes whose outcome does not depend on order: reload (nothing new) and
  // a promote of an unknown version (authorised, then 404).
  // A labeler may read what a viewer may, and change nothing here.
  const std::vector<Row> rows = {
      {"GET", "/api/v1/models", "", 401, 401, 200, 200, 200, 200},
      {"GET", "/api/v1/models/s1", "", 401, 401, 200, 200, 200, 200},
      {"GET", "/api/v1/models/nope", "", 401, 401, 404, 404, 404, 404},
      {"GET", "/api/v1/audit", "", 401, 401, 200, 200, 200, 200},
      {"POST", "/api/v1/reload", "", 401, 401, 403, 403, 200, 200},
      {"POST", "/api/v1/environments/development/promote",
       R"({"version_id": "nope"})", 401, 401, 403, 403, 404, 404},
      {"POST", "/api/v1/environments/development/rollback", "{not json", 401,
       401, 403, 403, 400, 400},
      {"GET", "/api/v1/nothing", "", 404, 404, 404, 404, 404, 404},
  };
  for (const auto& row : rows) {
    std::map<std::string, int> want = {{"", row.none},
                                       {"bad", row.bad},
                                       {"viewer", row.viewer},
                                       {"labeler", row.labeler},
                                       {"deployer", row.deployer},
                                       {"admin", row.admin}};
    for (const auto& [who, status] : want) {
      std::string token = who.empty()    ? ""
                          : who == "bad" ? std::string(64, 'a')
                                         : tokens_[who];
      Reply r = RequestAs(port, row.method, row.path, token, row.body);
      EXPECT_EQ(r.status, status)
          << row.method << " " << row.path << " as '" << who << "': " << r.body;
      if (r.status >= 400) {
        EXPECT_NE(r.body.find("\"error\""), std::string::npos) << r.body;
      }
    }
  }
  // No token ever reaches the log.
  std::string log = server->Log();
  for (const auto& [role, token] : tokens_)
    EXPECT_EQ(log.find(token), std::string::npos) << role;
}

TEST_F(ManagementTest, PromoteAndRollbackThroughTheApiSwapAndRecordTheActor) {
  auto server = Start();
  const int port = server->port();
  Reply p = RequestAs(port, "POST", "/api/v1/environments/development/promote",
                      tokens_["deployer"],
                      R"({"version_id": "s2", "reason": "canary passed"})");
  ASSERT_EQ(p.status, 200) << p.body;
  Json j = ParseJsonOrFail(p.body, "promote");
  EXPECT_EQ(j["event"]["actor"], "deployer1");
  EXPECT_EQ(j["swap"], "swapped");
  EXPECT_EQ(j["serving"]["spatial"], "s2");
  Reply h = Request(port, "GET", "/health");
  EXPECT_NE(h.body.find("\"spatial\":\"s2\""), std::string::npos) << h.body;

  Reply rb =
      RequestAs(port, "POST", "/api/v1/environments/development/rollback",
                tokens_["admin"], R"({"reason": "latency regression"})");
  ASSERT_EQ(rb.status, 200) << rb.body;
  EXPECT_EQ(ParseJsonOrFail(rb.body, "rollback")["serving"]["spatial"], "s1");
  ProcessResult hist =
      box_.Model({"history", "--environment", "development", "--json"});
  ASSERT_EQ(hist.exit_code, 0) << hist;
  EXPECT_NE(hist.out.find("deployer1"), std::string::npos) << hist.out;
  EXPECT_NE(hist.out.find("admin1"), std::string::npos);
  EXPECT_NE(hist.out.find("latency regression"), std::string::npos);
  // The audit log names the token holders too, and its chain verifies.
  Reply audit = RequestAs(port, "GET", "/api/v1/audit", tokens_["viewer"]);
  ASSERT_EQ(audit.status, 200) << audit.body;
  EXPECT_NE(audit.body.find("\"actor\":\"deployer1\""), std::string::npos)
      << audit.body;
  ProcessResult verify =
      box_.Spatial({"audit", "verify", "--registry", box_.registry()});
  EXPECT_EQ(verify.exit_code, 0) << verify;
}

// A server given its keys (--trusted-key) refuses, 409 and before the
// registry changes, to promote in its environment a version it would not
// load: s2 signed by a key only the registry trusts. Signed by a given key
// as well, the same promotion goes through.
TEST_F(ManagementTest, PromotionOfAVersionTheServerWouldNotLoadIs409) {
  for (const char* k : {"keys", "mallory"}) {
    ASSERT_EQ(
        box_.Spatial({"keys", "generate", "--out", box_.Path(k)}).exit_code, 0);
    box_.SpatialOk({"keys", "trust", box_.Path(std::string(k) + "/signing.pub"),
                    "--environment", "development"});
  }
  box_.SpatialOk(
      {"model", "sign", "s1", "--key", box_.Path("keys/signing.key")});
  box_.SpatialOk(
      {"model", "sign", "s2", "--key", box_.Path("mallory/signing.key")});
  auto server = Start({"--trusted-key", box_.Path("keys/signing.pub")});
  const int port = server->port();
  const std::string path = "/api/v1/environments/development/promote";
  const std::string body = R"({"version_id": "s2"})";
  auto audit_size = [&] {
    Reply a = RequestAs(port, "GET", "/api/v1/audit", tokens_["viewer"]);
    return ParseJsonOrFail(a.body, "audit")["records"].size();
  };
  const size_t before = audit_size();

  Reply refused = RequestAs(port, "POST", path, tokens_["deployer"], body);
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("not promoting s2 in development: this server "
                              "would not load it"),
            std::string::npos)
      << refused.body;
  EXPECT_EQ(audit_size(), before);  // nothing recorded, nothing changed
  Reply h = Request(port, "GET", "/health");
  EXPECT_NE(h.body.find("\"spatial\":\"s1\""), std::string::npos) << h.body;

  box_.SpatialOk(
      {"model", "sign", "s2", "--key", box_.Path("keys/signing.key")});
  Reply promoted = RequestAs(port, "POST", path, tokens_["deployer"], body);
  ASSERT_EQ(promoted.status, 200) << promoted.body;
  EXPECT_EQ(ParseJsonOrFail(promoted.body, "promote")["serving"]["spatial"],
            "s2");
}

TEST_F(ManagementTest, RequireTokenGuardsInferenceButNotHealth) {
  auto server = Start({"--require-token"});
  const int port = server->port();
  std::string body = Multipart(
      {{"file", "image/jpeg", vision::RenderPizza(1, 2, 0, 96).jpeg}});
  EXPECT_EQ(RequestAs(port, "POST", "/classify", "", body, kForm).status, 401);
  Reply classified =
      RequestAs(port, "POST", "/classify", tokens_["viewer"], body, kForm);
  ASSERT_EQ(classified.status, 200) << classified.body;
  // Feedback on a prediction needs a labeler token: a viewer may classify,
  // not label.
  Json id = Json::parse(classified.body)["prediction_id"];
  std::string feedback =
      Json{{"prediction_id", id}, {"true_class", "burnt"}}.dump();
  EXPECT_EQ(RequestAs(port, "POST", "/feedback", "", feedback).status, 401);
  EXPECT_EQ(
      RequestAs(port, "POST", "/feedback", tokens_["viewer"], feedback).status,
      403);
  Reply fed =
      RequestAs(port, "POST", "/feedback", tokens_["labeler"], feedback);
  EXPECT_EQ(fed.status, 200) << fed.body;
  EXPECT_EQ(Json::parse(fed.body)["labeler"], "labeler1");
  EXPECT_EQ(Request(port, "GET", "/health").status, 200);
  EXPECT_EQ(Request(port, "GET", "/v2/health/ready").status, 200);
}

TEST_F(ManagementTest, WithoutATokensFileTheApiIsClosed) {
  ServerProcess server(
      {"--workers", "1", "--model-dir", ShippedBundle("standard-pizza-v1")},
      SourceDir(), box_.Path("plain.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  Reply r = RequestAs(server.port(), "GET", "/api/v1/models", tokens_["admin"]);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_NE(r.body.find("--tokens-file"), std::string::npos) << r.body;
  // A tokens file others can write is refused at start.
  ASSERT_EQ(::chmod(box_.Path("tokens.json").c_str(), 0666), 0);
  ProcessResult bad = box_.Spatial(
      {"serve", "--port", "0", "--tokens-file", box_.Path("tokens.json")});
  EXPECT_NE(bad.exit_code, 0) << bad;
  EXPECT_NE(bad.err.find("writable by others"), std::string::npos) << bad;
}

}  // namespace
}  // namespace spatial::integration
