// Black-box tests of who may do what on `spatial serve` beyond /api/v1's
// roles: the per-token bound on feedback labels, visualizations and /status
// under --require-token, and management and feedback bodies with fields of
// the wrong JSON type (400 naming the field, never 500). Feedback roles with
// --rollback-on-drift are in serve_drift_test.cc, /api/v1 roles in
// serve_management_test.cc.
#include <map>
#include <set>

#include "gtest/gtest.h"
#include "src/vision/renderer.h"
#include "tests/integration/cli_sandbox.h"
#include "tests/integration/serve_client.h"
#include "tests/integration/server_process.h"

namespace spatial::integration {
namespace {
using std::chrono::seconds;

bool IsId128(const std::string& id) {
  return id.size() == 32 &&
         id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

class AuthzTest : public ::testing::Test {
 protected:
  void SetUp() override {
    box_.RegisterAndPromote(ShippedBundle("spatial-pizza-v1"), "s1");
    box_.RegisterAndPromote(box_.VariantBundle("s2"), "s2");
    for (const char* name :
         {"viewer-a", "viewer-b", "labeler-a", "labeler-b", "deployer"}) {
      std::string role =
          std::string(name).substr(0, std::string(name).find('-'));
      tokens_[name] = box_.AddToken(name, role);
      ASSERT_FALSE(tokens_[name].empty()) << name;
    }
  }

  // A development server of the registry's active version, with
  // --require-token and a small live window (10, judged at 4, 3 per token).
  std::unique_ptr<ServerProcess> Start() {
    auto s = std::make_unique<ServerProcess>(
        std::vector<std::string>{
            "--registry", box_.registry(), "--environment", "development",
            "--workers", "1", "--poll-registry-s", "0", "--tokens-file",
            box_.tokens_file(), "--require-token", "--feedback-window", "10",
            "--feedback-min-labelled", "4", "--feedback-max-per-token", "3"},
        box_.dir(), box_.Path("serve.log"));
    EXPECT_TRUE(s->WaitReady(seconds(30))) << s->Log();
    return s;
  }

  // POST /predict/spatial as `who`; the answer as JSON (null on failure).
  Json Predict(int port, const std::string& who, bool visualization = false) {
    std::vector<std::tuple<std::string, std::string, std::string>> form = {
        {"file", "image/jpeg", vision::RenderPizza(1, 2, 0, 96).jpeg}};
    if (visualization) form.emplace_back("enable_visualization", "", "true");
    Reply r = RequestAs(port, "POST", "/predict/spatial", tokens_[who],
                        Multipart(form), kForm);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? ParseJsonBody(r) : Json();
  }

  Reply Label(int port, const std::string& who, const Json& prediction_id) {
    return RequestAs(
        port, "POST", "/feedback", tokens_[who],
        Json{{"prediction_id", prediction_id}, {"true_class", "burnt"}}.dump());
  }

  Json Live(int port) {
    Reply r = RequestAs(port, "GET", "/status", tokens_["viewer-a"]);
    EXPECT_EQ(r.status, 200) << r.body;
    return ParseJsonBody(r)["models"]["spatial"]["live"];
  }

  Sandbox box_;
  std::map<std::string, std::string> tokens_;
};

// One token holds at most --feedback-max-per-token labels of the window; the
// label beyond is refused (403), not counted, and open to another token.
TEST_F(AuthzTest, OneTokenCannotFillTheWindowAlone) {
  auto server = Start();
  const int port = server->port();
  for (int i = 0; i < 3; ++i) {
    Reply r =
        Label(port, "labeler-a", Predict(port, "viewer-a")["prediction_id"]);
    ASSERT_EQ(r.status, 200) << r.body;
  }
  const Json fourth = Predict(port, "viewer-a")["prediction_id"];
  Reply refused = Label(port, "labeler-a", fourth);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_NE(refused.body.find("not counted: token 'labeler-a' holds 3 of the "
                              "last 3 labelled predictions of s2"),
            std::string::npos)
      << refused.body;
  EXPECT_NE(refused.body.find("--feedback-max-per-token 3"), std::string::npos);
  Json live = Live(port);
  EXPECT_EQ(live["labelled"], 3) << live;
  EXPECT_EQ(live["labelers"], 1) << live;
  EXPECT_EQ(live["max_labels_per_token"], 3) << live;
  // The same prediction, labelled by another token, counts.
  Reply other = Label(port, "labeler-b", fourth);
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(ParseJsonBody(other)["labeler"], "labeler-b");
  EXPECT_EQ(ParseJsonBody(other)["window"]["labelled"], 4);
  EXPECT_EQ(Live(port)["labelers"], 2);
  std::string metrics = Request(port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("pizza_api_feedback_total{result=\"over_limit\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(server->Terminate(seconds(20)), 0) << server->Log();
}

// With --require-token a visualization answers only the token whose request
// made it, under an id nobody can guess or count to; /status needs a token.
TEST_F(AuthzTest, VisualizationsAndStatusFollowRequireToken) {
  auto server = Start();
  const int port = server->port();
  std::set<std::string> ids;
  std::string url;
  for (int i = 0; i < 3; ++i) {
    Json j = Predict(port, "viewer-a", /*visualization=*/true);
    ASSERT_TRUE(j["visualization_url"].is_string()) << j;
    url = j["visualization_url"].get<std::string>();
    const std::string prefix = "/visualizations/", suffix = "/depth.png";
    ASSERT_EQ(url.rfind(prefix, 0), 0u) << url;
    ASSERT_GT(url.size(), prefix.size() + suffix.size()) << url;
    std::string id =
        url.substr(prefix.size(), url.size() - prefix.size() - suffix.size());
    EXPECT_TRUE(IsId128(id)) << url;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 3u);
  const std::string normals = url.substr(0, url.rfind('/')) + "/normals.png";
  for (const std::string& path : {url, normals}) {
    Reply anonymous = Request(port, "GET", path);
    EXPECT_EQ(anonymous.status, 401) << path << ": " << anonymous.body;
    EXPECT_EQ(anonymous.body.find("PNG"), std::string::npos);
    Reply other = RequestAs(port, "GET", path, tokens_["viewer-b"]);
    EXPECT_EQ(other.status, 404) << path << ": " << other.body;
    EXPECT_EQ(other.body.find("PNG"), std::string::npos);
    Reply owner = RequestAs(port, "GET", path, tokens_["viewer-a"]);
    EXPECT_EQ(owner.status, 200) << path << ": " << owner.body;
    EXPECT_EQ(owner.body.substr(1, 3), "PNG") << path;
  }
  // What ids counted up from would give.
  EXPECT_EQ(
      RequestAs(port, "GET", "/visualizations/1/depth.png", tokens_["viewer-a"])
          .status,
      404);
  EXPECT_EQ(Request(port, "GET", "/status").status, 401);
  EXPECT_EQ(RequestAs(port, "GET", "/status", tokens_["viewer-b"]).status, 200);
  // The A/B groups' traffic and accuracy are the same kind of figure.
  EXPECT_EQ(Request(port, "GET", "/ab-test/status").status, 401);
  EXPECT_EQ(
      RequestAs(port, "GET", "/ab-test/status", tokens_["viewer-b"]).status,
      200);
  EXPECT_EQ(Request(port, "GET", "/health").status, 200);
  EXPECT_EQ(server->Terminate(seconds(20)), 0) << server->Log();
}

// Every body field the management and feedback APIs read, of the wrong JSON
// type (or unknown): 400 naming the field, and nothing changes.
TEST_F(AuthzTest, BadlyTypedBodyFieldsAre400NamingTheField) {
  auto server = Start();
  const int port = server->port();
  const std::string promote = "/api/v1/environments/development/promote";
  const std::string rollback = "/api/v1/environments/development/rollback";
  struct Row {
    std::string path;
    Json body;
    std::string names;  // in the error message
  };
  const std::vector<Row> rows = {
      {promote, {{"version_id", 5}}, "'version_id' must be a string"},
      {promote, {{"version_id", Json::array()}}, "'version_id'"},
      {promote, {{"version_id", Json::object()}}, "'version_id'"},
      {promote, {{"version_id", true}}, "'version_id'"},
      {promote,
       {{"version_id", "s1"}, {"reason", 5}},
       "'reason' must be a string, not number"},
      {promote, {{"version_id", "s1"}, {"reason", Json::array()}}, "'reason'"},
      {promote, {{"version_id", "s1"}, {"reason", Json::object()}}, "'reason'"},
      {promote, {{"version", "s1"}}, "unknown field 'version'"},
      {rollback, {{"to", Json::array()}}, "'to' must be a string, not array"},
      {rollback, {{"to", 5}}, "'to'"},
      {rollback, {{"to", Json::object()}}, "'to'"},
      {rollback, {{"reason", 5}}, "'reason'"},
      {rollback, {{"reason", Json::object()}}, "'reason'"},
      {rollback, {{"version_id", "s1"}}, "unknown field 'version_id'"},
  };
  for (const Row& row : rows) {
    Reply r =
        RequestAs(port, "POST", row.path, tokens_["deployer"], row.body.dump());
    EXPECT_EQ(r.status, 400) << row.path << " " << row.body << ": " << r.body;
    Json error = ParseJsonBody(r);
    ASSERT_TRUE(error.is_object() && error["error"].is_string()) << r.body;
    EXPECT_NE(error["error"].get<std::string>().find(row.names),
              std::string::npos)
        << row.body << ": " << r.body;
  }
  const Json id = Predict(port, "viewer-a")["prediction_id"];
  for (const Json& body :
       {Json{{"prediction_id", id}, {"true_class", 5}},
        Json{{"prediction_id", id}, {"true_class", Json::array()}},
        Json{{"prediction_id", Json::object()}, {"true_class", "burnt"}},
        Json{{"prediction_id", id}, {"true_class", "burnt"}, {"by", "me"}}}) {
    Reply r =
        RequestAs(port, "POST", "/feedback", tokens_["labeler-a"], body.dump());
    EXPECT_EQ(r.status, 400) << body << ": " << r.body;
  }
  // Nothing changed: s2 still active (no history beyond the two promotions),
  // no label counted.
  ProcessResult history =
      box_.Model({"history", "--environment", "development", "--json"});
  ASSERT_EQ(history.exit_code, 0) << history;
  EXPECT_EQ(ParseJsonOrFail(history.out, "history").size(), 2u) << history.out;
  EXPECT_EQ(Live(port)["labelled"], 0);
  // null counts as not given: a rollback with "to": null goes to s1.
  Reply ok = RequestAs(port, "POST", rollback, tokens_["deployer"],
                       R"({"to": null, "reason": null})");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(server->Terminate(seconds(20)), 0) << server->Log();
}

}  // namespace
}  // namespace spatial::integration
