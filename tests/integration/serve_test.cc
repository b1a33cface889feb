// Black-box tests of `spatial serve`: the real binary with the shipped models,
// real HTTP on 127.0.0.1, every endpoint and the bad inputs of the original
// API.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/vision/renderer.h"
#include "tests/integration/serve_client.h"

namespace {

using Json = nlohmann::json;

using spatial::integration::kForm;
using spatial::integration::Multipart;
using spatial::integration::Reply;
using spatial::integration::Request;

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // No ASSERT here: a fatal failure in SetUpTestSuite makes gtest skip the
    // tests, and ctest counts skips as passes. SetUp() fails them instead.
    server_ = spatial::integration::StartServe(
        {"--workers", "1", "--max-queue-delay-us", "500"});
    pid_ = server_.pid;
    port_ = server_.port;
  }
  static void TearDownTestSuite() {
    server_.pid = pid_;  // ZzSigtermStopsCleanly reaps it and sets -1
    spatial::integration::KillServe(&server_);
  }
  // A server that never came up fails every test (never a silent skip).
  void SetUp() override {
    ASSERT_GT(port_, 0) << "the server did not write its port within 30 s";
  }
  static std::string Pizza(int label) {
    return spatial::vision::RenderPizza(label, 31337, 0, 128).jpeg;
  }

  static inline spatial::integration::ServeProcess server_;
  static inline pid_t pid_ = -1;
  static inline int port_ = 0;
};

TEST_F(ServeTest, HealthAndReadinessAnswer) {
  Reply h = Request(port_, "GET", "/health");
  ASSERT_EQ(h.status, 200) << h.body;
  Json j = Json::parse(h.body);
  EXPECT_EQ(j["status"], "healthy");
  EXPECT_TRUE(j["models"].contains("spatial"));
  EXPECT_TRUE(j["models"].contains("standard"));
  EXPECT_EQ(Request(port_, "GET", "/v2/health/ready").status, 200);
  EXPECT_EQ(Request(port_, "GET", "/v2/health/live").status, 200);
  Reply s = Request(port_, "GET", "/status");
  ASSERT_EQ(s.status, 200);
  EXPECT_EQ(Json::parse(s.body)["models"]["spatial"]["architecture"],
            "dual-encoder");
}

// /metrics is Prometheus text that counts the requests this server answered.
TEST_F(ServeTest, MetricsCountRequests) {
  ASSERT_EQ(Request(port_, "POST", "/predict/spatial", kForm,
                    Multipart({{"file", "image/jpeg", Pizza(1)}}))
                .status,
            200);
  Reply m = Request(port_, "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.headers.find("text/plain; version=0.0.4"), std::string::npos)
      << m.headers;
  EXPECT_NE(m.body.find("pizza_api_requests_total{endpoint=\"/predict/"
                        "spatial\",status=\"200\"} 1"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("pizza_api_predictions_total{model=\"spatial-mllm\","
                        "class=\"burnt\"} 1"),
            std::string::npos);
  EXPECT_NE(
      m.body.find("# TYPE pizza_api_inference_duration_seconds histogram"),
      std::string::npos);
}

// /classify answers in the original shape with the model's real probabilities.
TEST_F(ServeTest, ClassifyAnswersInTheOriginalShape) {
  Reply r = Request(port_, "POST", "/classify", kForm,
                    Multipart({{"file", "image/jpeg", Pizza(1)},
                               {"use_spatial", "", "true"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  Json j = Json::parse(r.body);
  for (const char* f : {"predicted_class", "confidence", "probabilities",
                        "model_used", "inference_time", "spatial_features",
                        "visualization_url", "ab_test_group", "timestamp"}) {
    EXPECT_TRUE(j.contains(f)) << f;
  }
  EXPECT_EQ(j["model_used"], "spatial-mllm");
  EXPECT_EQ(j["predicted_class"], "burnt");
  double sum = 0;
  for (const auto& [k, v] : j["probabilities"].items()) sum += v.get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-4);
  EXPECT_EQ(j["probabilities"].size(), 6u);
  EXPECT_NEAR(j["confidence"].get<double>(),
              j["probabilities"]["burnt"].get<double>(), 1e-9);
  EXPECT_GT(j["spatial_features"]["depth_std"].get<double>(), 0);
}

TEST_F(ServeTest, EndpointsChooseTheirModel) {
  Reply std_r = Request(port_, "POST", "/predict/standard", kForm,
                        Multipart({{"file", "image/jpeg", Pizza(5)}}));
  ASSERT_EQ(std_r.status, 200) << std_r.body;
  Json s = Json::parse(std_r.body);
  EXPECT_EQ(s["model_used"], "standard-cnn");
  EXPECT_TRUE(s["spatial_features"].is_null());
  Reply b = Request(port_, "POST", "/classify", kForm,
                    Multipart({{"file", "image/png", Pizza(0)},
                               {"ab_test_group", "", "B"},
                               {"return_probabilities", "", "false"}}));
  // A PNG content type with JPEG bytes still decodes: the bytes decide.
  ASSERT_EQ(b.status, 200) << b.body;
  Json bj = Json::parse(b.body);
  EXPECT_EQ(bj["ab_test_group"], "B");
  EXPECT_EQ(bj["model_used"], "standard-cnn");
  EXPECT_TRUE(bj["probabilities"].is_null());
  Reply ab = Request(port_, "GET", "/ab-test/status");
  ASSERT_EQ(ab.status, 200);
  EXPECT_GE(Json::parse(ab.body)["groups"]["B"]["requests"].get<int>(), 1);
  Reply cmp = Request(port_, "POST", "/ab-test/compare", kForm,
                      Multipart({{"file", "image/jpeg", Pizza(4)}}));
  ASSERT_EQ(cmp.status, 200) << cmp.body;
  Json c = Json::parse(cmp.body);
  EXPECT_TRUE(c.contains("spatial-mllm"));
  EXPECT_TRUE(c.contains("standard-cnn"));
  EXPECT_TRUE(c["agreement"].is_boolean());
}

// The visualisation URL serves real PNGs of the depth and normal maps.
TEST_F(ServeTest, VisualisationUrlServesPngs) {
  Reply r = Request(port_, "POST", "/predict/spatial", kForm,
                    Multipart({{"file", "image/jpeg", Pizza(2)},
                               {"enable_visualization", "", "yes"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  std::string url = Json::parse(r.body)["visualization_url"];
  Reply png = Request(port_, "GET", url);
  ASSERT_EQ(png.status, 200);
  EXPECT_EQ(png.body.substr(1, 3), "PNG");
  std::string normals = url.substr(0, url.rfind('/')) + "/normals.png";
  EXPECT_EQ(Request(port_, "GET", normals).status, 200);
  EXPECT_EQ(Request(port_, "GET", "/visualizations/999999/depth.png").status,
            404);
  EXPECT_EQ(Request(port_, "GET", "/visualizations/../../etc/passwd").status,
            404);
}

// Table of bad requests: each a 4xx with {"error": ...}; the server keeps
// serving.
TEST_F(ServeTest, BadInputsGetClearErrors) {
  std::string pizza = Pizza(3);
  struct Case {
    std::string name, method, path, type, body;
    int status;
  };
  const Case cases[] = {
      {"not an image", "POST", "/classify", kForm,
       Multipart({{"file", "image/jpeg", "hello"}}), 400},
      {"truncated jpeg", "POST", "/classify", kForm,
       Multipart({{"file", "image/jpeg", pizza.substr(0, pizza.size() / 2)}}),
       400},
      {"wrong content type", "POST", "/classify", kForm,
       Multipart({{"file", "text/plain", pizza}}), 400},
      {"no file field", "POST", "/classify", kForm,
       Multipart({{"image", "image/jpeg", pizza}}), 400},
      {"json body", "POST", "/classify", "application/json", "{\"file\": 1}",
       400},
      {"malformed multipart", "POST", "/classify", kForm,
       "--SpatialBoundary\r\ngarbage", 400},
      {"bad group", "POST", "/classify", kForm,
       Multipart({{"file", "image/jpeg", pizza}, {"ab_test_group", "", "C"}}),
       400},
      {"bad bool", "POST", "/classify", kForm,
       Multipart({{"file", "image/jpeg", pizza}, {"use_spatial", "", "maybe"}}),
       400},
      {"too big", "POST", "/classify", kForm,
       Multipart({{"file", "image/jpeg", std::string(11 << 20, 'x')}}), 413},
      {"unknown path", "GET", "/nope", "", "", 404},
      {"wrong method", "GET", "/classify", "", "", 405},
  };
  for (const auto& c : cases) {
    Reply r = Request(port_, c.method, c.path, c.type, c.body);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    if (r.status >= 400) {
      Json j = Json::parse(r.body, nullptr, false);
      ASSERT_TRUE(j.is_object()) << c.name << ": " << r.body;
      EXPECT_FALSE(j.value("error", "").empty()) << c.name;
    }
  }
  EXPECT_EQ(Request(port_, "GET", "/health").status, 200);
}

// SIGTERM: stop accepting, finish, exit 0. Runs last: it stops the server.
TEST_F(ServeTest, ZzSigtermStopsCleanly) {
  ASSERT_EQ(::kill(pid_, SIGTERM), 0);
  int status = 0;
  pid_t done = 0;
  for (int i = 0; i < 200 && done == 0; ++i) {
    done = ::waitpid(pid_, &status, WNOHANG);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(done, pid_) << "still running 10 s after SIGTERM";
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  pid_ = -1;
}

}  // namespace
