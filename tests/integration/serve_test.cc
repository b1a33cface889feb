// Black-box tests of `spatial serve`: the real binary with the shipped models,
// real HTTP on 127.0.0.1, every endpoint and the bad inputs of the original
// API.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/vision/renderer.h"
#include "tests/test_paths.h"

namespace {

using Json = nlohmann::json;

struct Reply {
  int status = 0;
  std::string headers;
  std::string body;
};

// One request on a fresh connection (Connection: close), bounded by a timeout.
Reply Request(int port, const std::string& method, const std::string& path,
              const std::string& content_type = "",
              const std::string& body = "") {
  Reply r;
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = method + " " + path +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!content_type.empty()) req += "Content-Type: " + content_type + "\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may refuse early (413) and close
    off += static_cast<size_t>(n);
  }
  std::string all;
  char buf[65536];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    all.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  auto split = all.find("\r\n\r\n");
  if (all.size() < 12 || split == std::string::npos) return r;
  r.status = std::stoi(all.substr(9, 3));
  r.headers = all.substr(0, split);
  r.body = all.substr(split + 4);
  return r;
}

std::string Multipart(
    const std::vector<std::tuple<std::string, std::string, std::string>>& parts,
    const std::string& boundary = "SpatialBoundary") {
  std::string out;
  for (const auto& [name, type, data] : parts) {
    out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" +
           name + "\"";
    if (!type.empty()) out += "; filename=\"upload\"\r\nContent-Type: " + type;
    out += "\r\n\r\n" + data + "\r\n";
  }
  return out + "--" + boundary + "--\r\n";
}
const std::string kForm = "multipart/form-data; boundary=SpatialBoundary";

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // No ASSERT here: a fatal failure in SetUpTestSuite makes gtest skip the
    // tests, and ctest counts skips as passes. SetUp() fails them instead.
    static const std::string bin_s = spatial::testing::SpatialBinary();
    static const std::string src_s = spatial::testing::SourceDir();
    const char* bin = bin_s.c_str();
    const char* src = src_s.c_str();
    port_file_ =
        ::testing::TempDir() + "/serve_test_port_" + std::to_string(::getpid());
    std::filesystem::remove(port_file_);
    pid_ = ::fork();
    if (pid_ == 0) {
      if (::chdir(src) != 0) _exit(127);
      ::execl(bin, bin, "serve", "--port", "0", "--address", "127.0.0.1",
              "--port-file", port_file_.c_str(), "--workers", "1",
              "--max-queue-delay-us", "500", static_cast<char*>(nullptr));
      _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream f(port_file_);
      if (f >> port_) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    // Listening comes before ready: wait for the models to be warm.
    while (port_ > 0 && std::chrono::steady_clock::now() < deadline &&
           Request(port_, "GET", "/v2/health/ready").status != 200) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  static void TearDownTestSuite() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  // A server that never came up fails every test (never a silent skip).
  void SetUp() override {
    ASSERT_GT(port_, 0) << "the server did not write its port within 30 s";
  }
  static std::string Pizza(int label) {
    return spatial::vision::RenderPizza(label, 31337, 0, 128).jpeg;
  }

  static inline pid_t pid_ = -1;
  static inline int port_ = 0;
  static inline std::string port_file_;
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
