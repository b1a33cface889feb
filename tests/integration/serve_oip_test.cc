// Black-box tests of the Open Inference Protocol v2 endpoints of `spatial
// serve`: the real binary with the shipped models on 127.0.0.1, real HTTP.
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/inference/classifier.h"
#include "src/vision/decode.h"
#include "src/vision/renderer.h"
#include "tests/integration/serve_client.h"
#include "tests/test_paths.h"

namespace spatial::integration {
namespace {

using Json = nlohmann::json;

class ServeOipTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // No ASSERT here (gtest would skip, ctest count a pass): SetUp() fails.
    server_ = StartServe({"--workers", "1", "--max-queue-delay-us", "500"});
  }
  static void TearDownTestSuite() { KillServe(&server_); }
  void SetUp() override {
    ASSERT_GT(server_.port, 0) << "the server did not write its port in 30 s";
  }
  static Reply Get(const std::string& path) {
    return Request(server_.port, "GET", path);
  }
  static Reply Post(const std::string& path, const std::string& json) {
    return Request(server_.port, "POST", path, "application/json", json);
  }
  static inline ServeProcess server_;
};

std::string Pizza(int label) {
  return vision::RenderPizza(label, 2468, label, 128).jpeg;
}

Json BytesRequest(const std::string& file) {
  return {{"inputs",
           {{{"name", "image_bytes"},
             {"datatype", "BYTES"},
             {"shape", {1}},
             {"data", {absl::Base64Escape(file)}}}}}};
}

std::vector<double> OipProbabilities(const Reply& r) {
  Json j = Json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("outputs")) {
    for (const auto& o : j["outputs"])
      if (o["name"] == "probabilities") return o["data"];
  }
  ADD_FAILURE() << "no probabilities in " << r.body.substr(0, 300);
  return {};
}

TEST_F(ServeOipTest, ServerAndModelMetadata) {
  Reply s = Get("/v2");
  ASSERT_EQ(s.status, 200) << s.body;
  Json sj = Json::parse(s.body);
  EXPECT_EQ(sj["name"], "pizza-api-spatial");
  EXPECT_EQ(sj["version"], "0.1.0");
  EXPECT_TRUE(sj["extensions"].is_array());
  EXPECT_EQ(Get("/v2/health/live").status, 200);
  EXPECT_EQ(Get("/v2/health/ready").status, 200);

  Reply m = Get("/v2/models/spatial-pizza");
  ASSERT_EQ(m.status, 200) << m.body;
  Json mj = Json::parse(m.body);
  EXPECT_EQ(mj["versions"], Json({"spatial-pizza-v1"}));
  EXPECT_EQ(mj["inputs"][0]["shape"], Json({-1, 3, 64, 64}));
  EXPECT_EQ(mj["inputs"][1]["name"], "spatial");
  EXPECT_EQ(mj["outputs"][0]["shape"], Json({-1, 6}));
  Reply v = Get("/v2/models/standard-pizza/versions/standard-pizza-v1");
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(Json::parse(v.body)["inputs"][0]["name"], "image");
  Reply r = Get("/v2/models/standard-pizza/versions/standard-pizza-v1/ready");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Json::parse(r.body)["ready"], true);
  EXPECT_EQ(Get("/v2/models/spatial-pizza/ready").status, 200);
}

// The same image through /predict/{model} and through OIP infer (BYTES) gives
// the same probabilities; the FP32 tensors of that image give them again.
TEST_F(ServeOipTest, InferAgreesWithClassifyForBothModels) {
  const std::string src = spatial::testing::SourceDir();
  for (const char* which : {"spatial", "standard"}) {
    SCOPED_TRACE(which);
    auto manifest =
        inference::LoadManifest(src + "/models/" + which + "-pizza-v1");
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    std::string file = Pizza(which[1] == 'p' ? 1 : 4);
    Reply c = Request(server_.port, "POST", std::string("/predict/") + which,
                      kForm, Multipart({{"file", "image/jpeg", file}}));
    ASSERT_EQ(c.status, 200) << c.body;
    Json cj = Json::parse(c.body);

    Json req = BytesRequest(file);
    req["id"] = std::string("compare-") + which;
    Reply b = Post("/v2/models/" + manifest->name + "/infer", req.dump());
    ASSERT_EQ(b.status, 200) << b.body;
    Json bj = Json::parse(b.body);
    EXPECT_EQ(bj["id"], req["id"]);
    EXPECT_EQ(bj["model_version"], cj["model_version"]);
    EXPECT_EQ(bj["outputs"][1]["data"][0], cj["predicted_class"]);
    std::vector<double> from_bytes = OipProbabilities(b);
    ASSERT_EQ(from_bytes.size(), manifest->classes.size());
    for (size_t k = 0; k < from_bytes.size(); ++k) {
      EXPECT_NEAR(from_bytes[k],
                  cj["probabilities"][manifest->classes[k]].get<double>(), 1e-5)
          << manifest->classes[k];
    }

    auto p = inference::PrepareInput(*manifest, *vision::DecodeImage(file));
    Json inputs = Json::array();
    for (const auto& spec : manifest->inputs) {
      inputs.push_back(
          {{"name", spec.name},
           {"datatype", "FP32"},
           {"shape", {1, spec.shape[0], spec.shape[1], spec.shape[2]}},
           {"data", spec.kind == inference::InputKind::kVisual ? p.visual
                                                               : p.spatial}});
    }
    Reply t = Post("/v2/models/" + manifest->name + "/infer",
                   Json{{"inputs", inputs}}.dump());
    ASSERT_EQ(t.status, 200) << t.body.substr(0, 300);
    std::vector<double> from_tensors = OipProbabilities(t);
    ASSERT_EQ(from_tensors.size(), from_bytes.size());
    for (size_t k = 0; k < from_bytes.size(); ++k)
      EXPECT_NEAR(from_tensors[k], from_bytes[k], 1e-5);
  }
}

TEST_F(ServeOipTest, BadRequestsGetClearErrors) {
  std::string file = Pizza(2);
  Json wrong_shape = {{"inputs",
                       {{{"name", "image"},
                         {"datatype", "FP32"},
                         {"shape", {1, 3, 64, 64}},
                         {"data", std::vector<float>(3 * 64 * 64, 0.f)}}}}};
  Json too_many = BytesRequest(file);
  too_many["inputs"][0]["shape"] = {65};
  too_many["inputs"][0]["data"] = std::vector<std::string>(65, "AAAA");
  Json bad_b64 = BytesRequest(file);
  bad_b64["inputs"][0]["data"][0] = "%%%";
  struct Case {
    std::string name, method, path, body;
    int status;
    std::string says;
  };
  const Case cases[] = {
      {"malformed json", "POST", "/v2/models/standard-pizza/infer",
       "{\"inputs\":", 400, "not valid JSON"},
      {"wrong shape", "POST", "/v2/models/standard-pizza/infer",
       wrong_shape.dump(), 400, "shape [1,3,64,64]; expected [N,3,48,48]"},
      {"missing input", "POST", "/v2/models/spatial-pizza/infer",
       wrong_shape.dump(), 400, "unknown input 'image'"},
      {"batch over the cap", "POST", "/v2/models/spatial-pizza/infer",
       too_many.dump(), 400, "over the limit of 64"},
      {"bad base64", "POST", "/v2/models/spatial-pizza/infer", bad_b64.dump(),
       400, "not valid base64"},
      {"not an image", "POST", "/v2/models/spatial-pizza/infer",
       BytesRequest("GIF89a not a pizza").dump(), 400, "element 0"},
      {"unknown model", "POST", "/v2/models/calzone/infer",
       BytesRequest(file).dump(), 404, "served models: spatial-pizza"},
      {"unknown version", "GET", "/v2/models/spatial-pizza/versions/9", "", 404,
       "served versions: spatial-pizza-v1"},
      {"wrong method", "GET", "/v2/models/spatial-pizza/infer", "", 405,
       "use POST"},
      // Bytes that are not UTF-8 in the path: an answer, not a crash.
      {"raw bytes in the name", "GET", "/v2/models/pizza\xff\xfe", "", 404,
       "is not served"},
      {"raw bytes in a path", "GET", "/nope\xff", "", 404, "no endpoint"},
      {"too big", "POST", "/v2/models/spatial-pizza/infer",
       std::string(11 << 20, ' '), 413, ""},
  };
  for (const auto& c : cases) {
    Reply r =
        Request(server_.port, c.method, c.path, "application/json", c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body.substr(0, 300);
    Json j = Json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << c.name << ": " << r.body.substr(0, 300);
    EXPECT_NE(j.value("error", "").find(c.says), std::string::npos)
        << c.name << ": " << r.body;
  }
  EXPECT_EQ(
      Post("/v2/models/spatial-pizza/infer", BytesRequest(file).dump()).status,
      200);
}

// OIP requests are counted under fixed labels, never under the raw path.
TEST_F(ServeOipTest, MetricsUseFixedLabels) {
  ASSERT_EQ(Post("/v2/models/no-such-model-xyz/infer", "{}").status, 404);
  ASSERT_EQ(Get("/v2/models/another-made-up-name").status, 404);
  ASSERT_EQ(
      Post("/v2/models/standard-pizza/infer", BytesRequest(Pizza(0)).dump())
          .status,
      200);
  Reply m = Get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("endpoint=\"/v2/models/infer\",status=\"404\""),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("endpoint=\"/v2/models/infer\",status=\"200\""),
            std::string::npos);
  EXPECT_NE(m.body.find("endpoint=\"/v2/models/metadata\",status=\"404\""),
            std::string::npos);
  EXPECT_EQ(m.body.find("no-such-model-xyz"), std::string::npos);
  EXPECT_EQ(m.body.find("another-made-up-name"), std::string::npos);
  EXPECT_NE(m.body.find("pizza_api_predictions_total{model=\"standard-cnn\""),
            std::string::npos);
}

}  // namespace
}  // namespace spatial::integration
