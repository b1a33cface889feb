// HandleFeedback without sockets: who may send feedback, and what a bad body
// gets. The black-box tests against the server are in
// tests/integration/serve_feedback_auth_test.cc.
#include "src/serving/feedback_api.h"

#include <map>

#include "gtest/gtest.h"
#include "src/serving/tokens_test_util.h"

namespace spatial::serving {
namespace {

using Json = nlohmann::json;

class FeedbackApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto table = TestTokenTable(&tokens_);
    ASSERT_TRUE(table.ok()) << table.status();
    table_ = std::move(*table);
    manifest_.model_type = "spatial-mllm";
    manifest_.classes = {"a", "b"};
  }

  http::HttpResponse Send(bool need_token, const std::string& token,
                          const std::string& body) {
    http::HttpRequest req;
    req.method = "POST";
    req.path = "/feedback";
    req.body = body;
    if (!token.empty())
      req.headers.emplace_back("authorization", "Bearer " + token);
    return HandleFeedback(live_, {.need_token = need_token, .tokens = &*table_},
                          req);
  }
  std::string Body(const std::string& id) {
    return Json{{"prediction_id", id}, {"true_class", "a"}}.dump();
  }

  LiveAccuracy live_{{.window = 10, .log = [](const std::string&) {}}};
  inference::Manifest manifest_;
  std::optional<TokenTable> table_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(FeedbackApiTest, NeedsALabelerTokenWhereTheServerSaysSo) {
  const std::string id = live_.Record("v1", manifest_, 0);
  struct Row {
    std::string who;
    int status;
  };
  for (const Row& row : std::vector<Row>{
           {"", 401}, {"unknown", 401}, {"viewer1", 403}, {"labeler1", 200}}) {
    std::string token = row.who == "unknown"
                            ? std::string(64, 'f')
                            : (row.who.empty() ? "" : tokens_[row.who]);
    http::HttpResponse r = Send(/*need_token=*/true, token, Body(id));
    EXPECT_EQ(r.status, row.status) << row.who << ": " << r.body;
    if (row.status != 200) {
      // Nothing counted.
      EXPECT_EQ(live_.StatusJson("v1")["labelled"], 0) << row.who;
    }
  }
  EXPECT_EQ(live_.StatusJson("v1")["labelled"], 1);
  http::HttpResponse viewer =
      Send(true, tokens_["viewer1"], Body(live_.Record("v1", manifest_, 0)));
  EXPECT_NE(viewer.body.find("token 'viewer1' has role viewer; this needs "
                             "labeler"),
            std::string::npos)
      << viewer.body;
  // A higher role may too, and the window records who labelled.
  http::HttpResponse deployer =
      Send(true, tokens_["deployer1"], Body(live_.Record("v1", manifest_, 0)));
  ASSERT_EQ(deployer.status, 200) << deployer.body;
  EXPECT_EQ(Json::parse(deployer.body)["labeler"], "deployer1");
  EXPECT_EQ(live_.StatusJson("v1")["labelers"], 2);
}

TEST_F(FeedbackApiTest, OpenWhereNoTokenIsNeeded) {
  http::HttpResponse r =
      Send(/*need_token=*/false, "", Body(live_.Record("v1", manifest_, 0)));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json::parse(r.body)["labeler"], nullptr);
}

TEST_F(FeedbackApiTest, BadFieldsAre400NamingTheField) {
  const std::string id = live_.Record("v1", manifest_, 0);
  const std::string token = tokens_["labeler1"];
  for (const auto& [body, field] : std::vector<std::pair<Json, std::string>>{
           {{{"prediction_id", 5}, {"true_class", "a"}}, "'prediction_id'"},
           {{{"prediction_id", id}, {"true_class", Json::array()}},
            "'true_class'"},
           {{{"prediction_id", id}, {"true_class", Json::object()}},
            "'true_class'"},
           {{{"prediction_id", id}, {"true_class", nullptr}}, "'true_class'"},
           {{{"prediction_id", id}}, "'true_class' is missing"},
           {{{"prediction_id", id}, {"true_class", "a"}, {"labeler", "x"}},
            "unknown field 'labeler'"},
           {Json::array(), "not a JSON object"}}) {
    http::HttpResponse r = Send(true, token, body.dump());
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.body.find(field), std::string::npos) << r.body;
  }
  EXPECT_EQ(live_.StatusJson("v1")["labelled"], 0);
}

}  // namespace
}  // namespace spatial::serving
