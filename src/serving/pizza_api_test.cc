// PizzaApi without sockets, through its route table, over the real shipped
// bundles: the original API's endpoints, the inference core's cache and
// fallback, and every access rule a table row sets (--require-token on
// inference, /status and visualizations; the labeler rule of /feedback; the
// management roles). The black-box tests of the binary are in
// tests/integration/serve_*_test.cc.
#include "src/serving/pizza_api.h"

#include <map>

#include "absl/strings/match.h"
#include "src/serving/feedback_api.h"
#include "src/serving/oip_test_util.h"
#include "src/serving/tokens_test_util.h"

namespace spatial::serving::oip_test {
namespace {

// multipart/form-data with the image in 'file' and `fields`.
std::string Form(const std::string& image,
                 const std::map<std::string, std::string>& fields = {}) {
  std::string body =
      "--B\r\nContent-Disposition: form-data; name=\"file\"; "
      "filename=\"p.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n" +
      image + "\r\n";
  for (const auto& [k, v] : fields) {
    body += "--B\r\nContent-Disposition: form-data; name=\"" + k +
            "\"\r\n\r\n" + v + "\r\n";
  }
  return body + "--B--\r\n";
}

class PizzaApiTest : public OipTest {
 protected:
  void SetUp() override {
    OipTest::SetUp();
    auto table = TestTokenTable(&tokens_);
    ASSERT_TRUE(table.ok()) << table.status();
    table_ = std::move(*table);
  }

  // A PizzaApi over both shipped models (`spatial` in place of the shipped
  // spatial one when given).
  std::unique_ptr<PizzaApi> Make(PizzaApi::Options o,
                                 std::shared_ptr<ServedModel> spatial = {}) {
    auto set = std::make_shared<ModelSet>();
    set->spatial = spatial ? spatial : models_[0];
    set->standard = models_[1];
    o.seed = 7;
    if (o.tokens == nullptr) o.tokens = &*table_;
    return std::make_unique<PizzaApi>(
        o, [set] { return set; }, [] { return true; });
  }

  Answer Send(PizzaApi& api, const std::string& method, const std::string& path,
              const std::string& body = "", const std::string& who = "") {
    http::HttpRequest req;
    req.method = method;
    req.path = path;
    req.body = body;
    if (absl::StrContains(body, "--B\r\n"))
      req.headers.emplace_back("content-type",
                               "multipart/form-data; boundary=B");
    if (!who.empty())
      req.headers.emplace_back("authorization", "Bearer " + tokens_[who]);
    auto promise = std::make_shared<std::promise<http::HttpResponse>>();
    api.Handle(req, [promise](http::HttpResponse r) {
      promise->set_value(std::move(r));
    });
    Answer a;
    auto future = promise->get_future();
    if (future.wait_for(std::chrono::seconds(30)) !=
        std::future_status::ready) {
      ADD_FAILURE() << method << " " << path << ": no answer within 30 s";
      return a;
    }
    a.handled = true;
    a.response = future.get();
    a.json = Json::parse(a.response.body, nullptr, false);
    return a;
  }

  std::optional<TokenTable> table_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(PizzaApiTest, IndexListsTheTableAndHealthAnswers) {
  auto api = Make({});
  Answer a = Send(*api, "GET", "/");
  ASSERT_EQ(a.response.status, 200) << a.response.body;
  EXPECT_EQ(a.json["service"], "pizza-api-spatial");
  EXPECT_EQ(a.json["endpoints"],
            Json({"/health", "/status", "/metrics", "/classify",
                  "/predict/spatial", "/predict/standard", "/feedback",
                  "/ab-test/compare", "/ab-test/status", "/v2",
                  "/v2/health/live", "/v2/health/ready", "/v2/models/{name}",
                  "/v2/models/{name}/ready", "/v2/models/{name}/infer"}));
  Answer h = Send(*api, "HEAD", "/health");
  EXPECT_EQ(h.response.status, 200);
  EXPECT_EQ(h.json["status"], "healthy");
  EXPECT_EQ(h.json["models"]["spatial"], "spatial-pizza-v1");
}

TEST_F(PizzaApiTest, UnknownPathsAndMethods) {
  auto api = Make({});
  Answer n = Send(*api, "GET", "/nope");
  EXPECT_EQ(n.response.status, 404);
  EXPECT_EQ(n.json["error"], "no endpoint /nope");
  Answer m = Send(*api, "GET", "/classify");
  EXPECT_EQ(m.response.status, 405);
  EXPECT_EQ(m.json["error"],
            "method GET is not allowed on /classify; use POST");
  EXPECT_EQ(Send(*api, "DELETE", "/status").response.status, 405);
  // Without a ManagementApi there is no /api/v1.
  EXPECT_EQ(Send(*api, "GET", "/api/v1/models").json["error"],
            "no endpoint /api/v1/models");
}

TEST_F(PizzaApiTest, ClassifyAnswersAndTheCacheAnswersAgain) {
  PredictionCache cache(1 << 20);
  auto api = Make({.cache = &cache});
  const std::string body = Form(Jpeg(1), {{"use_spatial", "true"}});
  Answer a = Send(*api, "POST", "/classify", body);
  ASSERT_EQ(a.response.status, 200) << a.response.body;
  EXPECT_EQ(a.json["model_used"], "spatial-mllm");
  EXPECT_EQ(a.json["cached"], false);
  EXPECT_EQ(a.json["fallback"], false);
  EXPECT_TRUE(a.json["spatial_features"].is_object());
  EXPECT_EQ(a.json["probabilities"].size(), 6u);
  Answer b = Send(*api, "POST", "/classify", body);
  ASSERT_EQ(b.response.status, 200) << b.response.body;
  EXPECT_EQ(b.json["cached"], true);
  EXPECT_EQ(b.json["predicted_class"], a.json["predicted_class"]);
  EXPECT_EQ(b.json["spatial_features"], a.json["spatial_features"]);
  EXPECT_EQ(cache.Stats().hits, 1u);
  // The forced endpoint; a group; bad fields.
  Answer s = Send(*api, "POST", "/predict/standard", Form(Jpeg(2)));
  EXPECT_EQ(s.json["model_used"], "standard-cnn");
  EXPECT_TRUE(s.json["ab_test_group"].is_null());
  Answer g =
      Send(*api, "POST", "/classify", Form(Jpeg(2), {{"ab_test_group", "b"}}));
  EXPECT_EQ(g.json["ab_test_group"], "B");
  EXPECT_EQ(
      Send(*api, "POST", "/classify", Form(Jpeg(2), {{"ab_test_group", "C"}}))
          .response.status,
      400);
  Answer bad = Send(*api, "POST", "/classify", Form("not an image"));
  EXPECT_EQ(bad.response.status, 400);
}

TEST_F(PizzaApiTest, AFailingSpatialModelFallsBackToTheStandardOne) {
  Batcher::Options o;
  o.workers = 1;
  o.fault_rate = 1;  // every inference fails (Internal)
  auto broken = Load("spatial-pizza-v1", o);
  ASSERT_TRUE(broken.ok()) << broken.status();
  auto api = Make({}, *broken);
  Answer a =
      Send(*api, "POST", "/classify", Form(Jpeg(3), {{"ab_test_group", "A"}}));
  ASSERT_EQ(a.response.status, 200) << a.response.body;
  EXPECT_EQ(a.json["fallback"], true);
  EXPECT_EQ(a.json["model_used"], "standard-cnn");
  EXPECT_NE(a.json["fallback_reason"].get<std::string>().find(
                "the spatial model failed: "),
            std::string::npos)
      << a.response.body;
  EXPECT_EQ(Send(*api, "GET", "/status").json["fallbacks"], 1);
  // Asked for by its endpoint, the spatial model does not fall back.
  EXPECT_EQ(
      Send(*api, "POST", "/predict/spatial", Form(Jpeg(3))).response.status,
      500);
  // Nor does the OIP infer, which names its model.
  EXPECT_EQ(Send(*api, "POST", "/v2/models/spatial-pizza/infer",
                 BytesRequest({Jpeg(3)}).dump())
                .response.status,
            500);
}

TEST_F(PizzaApiTest, CompareAndOipRunOnTheSameCore) {
  auto api = Make({});
  Answer c = Send(*api, "POST", "/ab-test/compare", Form(Jpeg(4)));
  ASSERT_EQ(c.response.status, 200) << c.response.body;
  EXPECT_TRUE(c.json["agreement"].is_boolean());
  EXPECT_EQ(c.json["spatial-mllm"]["model_version"], "spatial-pizza-v1");
  EXPECT_EQ(c.json["standard-cnn"]["model_version"], "standard-pizza-v1");
  EXPECT_EQ(
      Send(*api, "POST", "/ab-test/compare", Form("junk")).response.status,
      400);
  Answer v = Send(*api, "POST", "/v2/models/standard-pizza/infer",
                  BytesRequest({Jpeg(4), Jpeg(5)}).dump());
  ASSERT_EQ(v.response.status, 200) << v.response.body;
  EXPECT_EQ(v.json["outputs"][1]["data"].size(), 2u);
  Answer e = Send(*api, "POST", "/v2/models/standard-pizza/infer",
                  BytesRequest({Jpeg(4), "GIF89a"}).dump());
  EXPECT_EQ(e.response.status, 400);
  EXPECT_NE(e.json["error"].get<std::string>().find(
                "input 'image_bytes' element 1: "),
            std::string::npos)
      << e.response.body;
}

// --require-token: the rows with kViewerIfRequireToken need a viewer token;
// a read's token guards every method on its path, a write's only its own.
TEST_F(PizzaApiTest, RequireTokenFollowsTheTable) {
  auto api = Make({.require_token = true});
  const std::string form = Form(Jpeg(1));
  Answer r = Send(*api, "POST", "/classify", form);
  EXPECT_EQ(r.response.status, 401);
  EXPECT_EQ(r.json["error"], "send Authorization: Bearer <token>");
  EXPECT_EQ(Send(*api, "POST", "/classify", form, "viewer1").response.status,
            200);
  EXPECT_EQ(Send(*api, "POST", "/ab-test/compare", form).response.status, 401);
  EXPECT_EQ(Send(*api, "POST", "/v2/models/spatial-pizza/infer",
                 BytesRequest({Jpeg(1)}).dump())
                .response.status,
            401);
  EXPECT_EQ(Send(*api, "GET", "/status").response.status, 401);
  EXPECT_EQ(Send(*api, "POST", "/status").response.status, 401);
  EXPECT_EQ(Send(*api, "POST", "/status", "", "viewer1").response.status, 405);
  EXPECT_EQ(Send(*api, "GET", "/status", "", "viewer1").response.status, 200);
  EXPECT_EQ(Send(*api, "GET", "/classify").response.status, 405);
  EXPECT_EQ(Send(*api, "GET", "/visualizations/x/depth.png").response.status,
            401);
  EXPECT_EQ(Send(*api, "GET", "/health").response.status, 200);
  EXPECT_EQ(Send(*api, "GET", "/v2/health/ready").response.status, 200);
  EXPECT_EQ(Send(*api, "GET", "/metrics").response.status, 200);
  // A visualization answers its owner alone.
  Answer mine = Send(*api, "POST", "/classify",
                     Form(Jpeg(1), {{"enable_visualization", "true"},
                                    {"use_spatial", "true"}}),
                     "viewer1");
  ASSERT_TRUE(mine.json["visualization_url"].is_string()) << mine.json;
  const std::string url = mine.json["visualization_url"];
  EXPECT_EQ(Send(*api, "GET", url, "", "viewer1").response.content_type,
            "image/png");
  EXPECT_EQ(Send(*api, "GET", url, "", "labeler1").response.status, 404);
}

TEST_F(PizzaApiTest, FeedbackNeedsALabelerWhereTheRowSaysSo) {
  auto open = Make({});
  Answer p = Send(*open, "POST", "/classify", Form(Jpeg(2)));
  ASSERT_EQ(p.response.status, 200) << p.response.body;
  const std::string body = Json{
      {"prediction_id", p.json["prediction_id"]},
      {"true_class", "burnt"}}.dump();
  Answer anon = Send(*open, "POST", "/feedback", body);
  EXPECT_EQ(anon.response.status, 200) << anon.response.body;
  EXPECT_TRUE(anon.json["labeler"].is_null()) << anon.response.body;

  auto guarded = Make({.feedback_needs_token = true});
  Answer q = Send(*guarded, "POST", "/classify", Form(Jpeg(2)));
  const std::string body2 = Json{
      {"prediction_id", q.json["prediction_id"]},
      {"true_class", "burnt"}}.dump();
  EXPECT_EQ(Send(*guarded, "POST", "/feedback", body2).response.status, 401);
  EXPECT_EQ(
      Send(*guarded, "POST", "/feedback", body2, "viewer1").response.status,
      403);
  EXPECT_EQ(Send(*guarded, "GET", "/feedback").response.status, 405);
  Answer ok = Send(*guarded, "POST", "/feedback", body2, "labeler1");
  EXPECT_EQ(ok.response.status, 200) << ok.response.body;
  EXPECT_EQ(ok.json["labeler"], "labeler1");
}

TEST_F(PizzaApiTest, ManagementRowsNeedTheirRoles) {
  ManagementApi management({.tokens = &*table_});
  auto api = Make({.management = &management});
  Answer none = Send(*api, "GET", "/api/v1/models");
  EXPECT_EQ(none.response.status, 401);
  // The token passes; this server has no registry.
  Answer viewer = Send(*api, "GET", "/api/v1/models/", "", "viewer1");
  EXPECT_EQ(viewer.response.status, 503) << viewer.response.body;
  Answer low = Send(*api, "POST", "/api/v1/reload", "", "viewer1");
  EXPECT_EQ(low.response.status, 403);
  EXPECT_EQ(low.json["error"],
            "token 'viewer1' has role viewer; this needs deployer");
  Answer wrong = Send(*api, "GET", "/api/v1/reload", "", "deployer1");
  EXPECT_EQ(wrong.response.status, 404);
  EXPECT_EQ(wrong.json["error"], "no management endpoint GET /api/v1/reload");
  EXPECT_EQ(Send(*api, "GET", "/api/v1/nothing").json["error"],
            "no management endpoint GET /api/v1/nothing");
}

}  // namespace
}  // namespace spatial::serving::oip_test
