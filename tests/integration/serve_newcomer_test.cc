// Black-box tests of what a newcomer meets first in `spatial serve` (issue
// 21): no A/B test unless asked for, the prediction cache named in every
// classification's headers and counted by `spatial bench`, and the OIP model
// repository index.
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/vision/renderer.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/process.h"
#include "tests/integration/serve_client.h"
#include "tests/integration/server_process.h"

namespace spatial::integration {
namespace {

using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

Reply Classify(
    int port, const std::string& jpeg,
    const std::vector<std::pair<std::string, std::string>>& fields = {}) {
  std::vector<std::tuple<std::string, std::string, std::string>> parts = {
      {"file", "image/jpeg", jpeg}};
  for (const auto& [k, v] : fields) parts.emplace_back(k, "", v);
  return Request(port, "POST", "/classify", kForm, Multipart(parts));
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Pizza(int label, int seed) {
  return vision::RenderPizza(label, seed, 0, 96).jpeg;
}

// Without --ab-split a request that names no group goes to the spatial model
// and carries no group; the A/B status says the test is off.
TEST(ServeNewcomerTest, NoAbTestUnlessAskedFor) {
  Sandbox box;
  ServerProcess server({"--workers", "1"}, SourceDir(), box.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  for (int i = 0; i < 4; ++i) {
    Reply r = Classify(server.port(), Pizza(i, 11 + i));
    ASSERT_EQ(r.status, 200) << r.body;
    Json j = ParseJsonBody(r);
    EXPECT_TRUE(j["ab_test_group"].is_null()) << r.body;
    EXPECT_EQ(j["model_used"], "spatial-mllm") << r.body;
    EXPECT_EQ(j["fallback"], false) << r.body;
  }
  Json ab = ParseJsonBody(Request(server.port(), "GET", "/ab-test/status"));
  EXPECT_EQ(ab["enabled"], false) << ab.dump();
  EXPECT_EQ(ab["split"]["A"], 1.0) << ab.dump();
  EXPECT_EQ(ab["groups"]["B"]["requests"], 0) << ab.dump();
  // A group asked for by the client is still honoured.
  Json b = ParseJsonBody(
      Classify(server.port(), Pizza(1, 3), {{"ab_test_group", "B"}}));
  EXPECT_EQ(b["ab_test_group"], "B");
  EXPECT_EQ(b["model_used"], "standard-cnn");
}

// --ab-split turns the A/B test on: with 0, every request is group B.
TEST(ServeNewcomerTest, AbSplitTurnsTheTestOn) {
  Sandbox box;
  ServerProcess server({"--workers", "1", "--ab-split", "0"}, SourceDir(),
                       box.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  for (int i = 0; i < 3; ++i) {
    Json j = ParseJsonBody(Classify(server.port(), Pizza(i, 21 + i)));
    EXPECT_EQ(j["ab_test_group"], "B") << j.dump();
    EXPECT_EQ(j["model_used"], "standard-cnn") << j.dump();
  }
  Json ab = ParseJsonBody(Request(server.port(), "GET", "/ab-test/status"));
  EXPECT_EQ(ab["enabled"], true);
  EXPECT_EQ(ab["groups"]["B"]["requests"], 3);
}

// The README's session: the registry serves the spatial version and no
// standard bundle is given; no answer is a fallback to a model that is not
// there.
TEST(ServeNewcomerTest, RegistryWithoutABaselineAnswersWithoutFallback) {
  Sandbox box;
  box.RegisterAndPromote(ShippedBundle("spatial-pizza-v1"), "spatial-v1");
  ServerProcess server(
      {"--registry", box.registry(), "--environment", "development",
       "--workers", "1", "--poll-registry-s", "0"},
      box.dir(), box.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  for (int i = 0; i < 8; ++i) {
    Reply r = Classify(server.port(), Pizza(i % 6, 40 + i));
    ASSERT_EQ(r.status, 200) << r.body;
    Json j = ParseJsonBody(r);
    EXPECT_EQ(j["fallback"], false) << r.body;
    EXPECT_EQ(j["model_version"], "spatial-v1") << r.body;
    EXPECT_TRUE(j["ab_test_group"].is_null()) << r.body;
  }
}

class ServeDefaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    box_ = new Sandbox();
    server_ = new ServerProcess({"--workers", "1"}, SourceDir(),
                                box_->Path("serve.log"));
    server_->WaitReady(seconds(30));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete box_;
  }
  void SetUp() override { ASSERT_GT(server_->port(), 0) << server_->Log(); }
  static inline Sandbox* box_ = nullptr;
  static inline ServerProcess* server_ = nullptr;
};

// Every classification says in a header whether the cache answered it.
TEST_F(ServeDefaultTest, ClassificationsNameTheCacheInAHeader) {
  const std::string jpeg = Pizza(2, 77);
  Reply first = Classify(server_->port(), jpeg);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_THAT(Lower(first.headers), HasSubstr("x-prediction-cache: miss"))
      << first.headers;
  Reply again = Classify(server_->port(), jpeg);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_THAT(Lower(again.headers), HasSubstr("x-prediction-cache: hit"))
      << again.headers;
  EXPECT_EQ(ParseJsonBody(again)["cached"], true);
}

// `spatial bench` says how many answers came from the cache, and that
// cache=false measures the model.
TEST_F(ServeDefaultTest, BenchCountsCachedAnswers) {
  const std::string image = box_->WriteFile("pizza.jpg", Pizza(3, 78));
  const std::string url =
      "http://127.0.0.1:" + std::to_string(server_->port()) + "/classify";
  ProcessResult cached =
      RunProcess({SpatialBinary(), "bench", url, "--image", image, "--requests",
                  "6", "--quiet", "--json", box_->Path("cached.json")},
                 {.timeout = std::chrono::seconds(60)});
  ASSERT_EQ(cached.exit_code, 0) << cached;
  EXPECT_THAT(cached.out, HasSubstr("cached 5 of 6")) << cached;
  EXPECT_THAT(cached.out,
              HasSubstr("note: 5 of 6 answers came from the server's "
                        "prediction cache"))
      << cached;
  Json report = ParseJsonOrFail(ReadBytes(box_->Path("cached.json")), "json");
  EXPECT_EQ(report["levels"][0]["prediction_cache"]["hits"], 5);

  ProcessResult model =
      RunProcess({SpatialBinary(), "bench", url, "--image", image, "--field",
                  "cache=false", "--requests", "6", "--quiet"},
                 {.timeout = std::chrono::seconds(60)});
  ASSERT_EQ(model.exit_code, 0) << model;
  EXPECT_THAT(model.out, HasSubstr("cached 0 of 6")) << model;
  EXPECT_THAT(model.out, Not(HasSubstr("note:"))) << model;
}

// POST /v2/repository/index lists the served models with their version and
// state (the OIP model repository extension, as Triton answers it).
TEST_F(ServeDefaultTest, RepositoryIndexListsTheServedModels) {
  for (const std::string body : {"", "{}", "{\"ready\": true}"}) {
    Reply r = Request(server_->port(), "POST", "/v2/repository/index",
                      "application/json", body);
    ASSERT_EQ(r.status, 200) << body << ": " << r.body;
    Json j = ParseJsonBody(r);
    ASSERT_TRUE(j.is_array()) << r.body;
    std::vector<std::string> names;
    for (const auto& m : j) {
      names.push_back(m.value("name", ""));
      EXPECT_EQ(m["state"], "READY") << r.body;
      EXPECT_TRUE(m["version"].is_string()) << r.body;
    }
    EXPECT_THAT(names, ::testing::UnorderedElementsAre("spatial-pizza",
                                                       "standard-pizza"))
        << r.body;
  }
  Reply bad = Request(server_->port(), "POST", "/v2/repository/index",
                      "application/json", "{\"ready\": 3}");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_THAT(ParseJsonBody(bad).value("error", ""), HasSubstr("ready"));
}

// token list shows names and roles, never a token; a revoked token stops
// working on a running server at its next reload of the file (SIGHUP), and
// the others keep working.
TEST(ServeNewcomerTest, RevokedTokenIsRefusedAfterReload) {
  Sandbox box;
  const std::string alice = box.AddToken("alice", "viewer");
  const std::string bob = box.AddToken("bob", "deployer");
  ASSERT_FALSE(alice.empty());
  ProcessResult list =
      box.Spatial({"token", "list", "--file", box.tokens_file()});
  ASSERT_EQ(list.exit_code, 0) << list;
  EXPECT_THAT(list.out, HasSubstr("alice"));
  EXPECT_THAT(list.out, HasSubstr("deployer"));
  EXPECT_THAT(list.out, Not(HasSubstr(alice)));
  ProcessResult json =
      box.Spatial({"token", "list", "--file", box.tokens_file(), "--json"});
  ASSERT_EQ(json.exit_code, 0) << json;
  EXPECT_EQ(ParseJsonOrFail(json.out, "token list").size(), 2u);

  ServerProcess server(
      {"--workers", "1", "--require-token", "--tokens-file", box.tokens_file()},
      SourceDir(), box.Path("serve.log"));
  ASSERT_TRUE(server.WaitReady(seconds(30))) << server.Log();
  ASSERT_EQ(RequestAs(server.port(), "GET", "/status", alice).status, 200);

  ProcessResult unknown =
      box.Spatial({"token", "revoke", "--name", "carol", "--file",
                   box.tokens_file(), "--registry", box.registry()});
  EXPECT_EQ(unknown.exit_code, 1) << unknown;
  EXPECT_THAT(unknown.err, HasSubstr("no token named 'carol'"));
  EXPECT_THAT(unknown.err, HasSubstr("alice, bob"));
  ProcessResult revoke =
      box.Spatial({"token", "revoke", "--name", "alice", "--file",
                   box.tokens_file(), "--registry", box.registry()});
  ASSERT_EQ(revoke.exit_code, 0) << revoke;
  EXPECT_THAT(revoke.out, HasSubstr("revoked token 'alice'"));

  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  int status = 0;
  for (int i = 0; i < 100; ++i) {  // at most ~10 s
    status = RequestAs(server.port(), "GET", "/status", alice).status;
    if (status == 401) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(status, 401) << server.Log();
  EXPECT_EQ(RequestAs(server.port(), "GET", "/status", bob).status, 200);
  EXPECT_THAT(server.Log(), HasSubstr("reloaded 1 token(s)"));
}

}  // namespace
}  // namespace spatial::integration
