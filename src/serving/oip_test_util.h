// Helpers of the OipApi tests: the real shipped bundles on real Batchers,
// a synchronous call into OipApi, and request bodies.
#ifndef SPATIAL_SERVING_OIP_TEST_UTIL_H_
#define SPATIAL_SERVING_OIP_TEST_UTIL_H_

#include <future>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/serving/oip.h"
#include "src/vision/decode.h"
#include "src/vision/renderer.h"
#include "tests/test_paths.h"

namespace spatial::serving::oip_test {

using Json = nlohmann::json;

inline absl::StatusOr<std::shared_ptr<ServedModel>> Load(
    const std::string& name, Batcher::Options o = {}) {
  std::string dir = spatial::testing::SourceDir() + "/models/" + name;
  auto batcher =
      Batcher::Start(o, [&] { return inference::Classifier::Open(dir); });
  if (!batcher.ok()) return batcher.status();
  auto m = std::make_shared<ServedModel>();
  m->bundle_dir = dir;
  m->version = (*batcher)->manifest().name + "-v1";
  m->batcher = std::move(*batcher);
  return m;
}

struct Answer {
  bool handled = false;
  http::HttpResponse response;
  Json json;  // the body parsed; discarded when it is not JSON
};

inline Answer Call(const OipApi& api, const std::string& method,
                   const std::string& path, const std::string& body = "") {
  http::HttpRequest req;
  req.method = method;
  req.path = path;
  req.body = body;
  auto promise = std::make_shared<std::promise<http::HttpResponse>>();
  http::Responder respond = [promise](http::HttpResponse r) {
    promise->set_value(std::move(r));
  };
  Answer a;
  a.handled = api.Handle(req, respond);
  if (!a.handled) return a;
  auto future = promise->get_future();
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << path << ": no answer within 30 s";
    return a;
  }
  a.response = future.get();
  a.json = Json::parse(a.response.body, nullptr, false);
  return a;
}

inline std::string Jpeg(int label, int index = 0) {
  return vision::RenderPizza(label, 777, index, 128).jpeg;
}

inline Json BytesRequest(const std::vector<std::string>& files) {
  Json data = Json::array();
  for (const auto& f : files) data.push_back(absl::Base64Escape(f));
  return {{"inputs",
           {{{"name", "image_bytes"},
             {"datatype", "BYTES"},
             {"shape", {files.size()}},
             {"data", data}}}}};
}

// The FP32 tensors of `files`, preprocessed exactly as the server does.
inline Json TensorRequest(const inference::Manifest& m,
                          const std::vector<std::string>& files) {
  Json inputs = Json::array();
  for (const auto& spec : m.inputs) {
    Json data = Json::array();
    for (const auto& f : files) {
      auto p = inference::PrepareInput(m, *vision::DecodeImage(f));
      for (float v :
           spec.kind == inference::InputKind::kVisual ? p.visual : p.spatial)
        data.push_back(v);
    }
    inputs.push_back(
        {{"name", spec.name},
         {"datatype", "FP32"},
         {"shape", {files.size(), spec.shape[0], spec.shape[1], spec.shape[2]}},
         {"data", data}});
  }
  return {{"inputs", inputs}};
}

inline std::vector<float> Probabilities(const Answer& a) {
  for (const auto& o : a.json["outputs"]) {
    if (o["name"] == "probabilities")
      return o["data"].get<std::vector<float>>();
  }
  ADD_FAILURE() << "no probabilities in " << a.response.body;
  return {};
}

class OipTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // No ASSERT here (gtest would skip and ctest pass): SetUp() checks.
    Batcher::Options o;
    o.workers = 1;
    o.max_queue_delay = std::chrono::microseconds(500);
    auto s = Load("spatial-pizza-v1", o);
    auto t = Load("standard-pizza-v1", o);
    if (s.ok() && t.ok()) models_ = {*s, *t};
  }
  static void TearDownTestSuite() { models_.clear(); }
  void SetUp() override {
    ASSERT_EQ(models_.size(), 2u) << "the shipped bundles did not load";
  }
  OipApi Api(bool* ready = nullptr) const {
    return OipApi([] { return models_; },
                  [ready] { return ready == nullptr || *ready; },
                  {.server_version = "9.9.9"});
  }
  static inline std::vector<std::shared_ptr<ServedModel>> models_;
};

}  // namespace spatial::serving::oip_test

#endif  // SPATIAL_SERVING_OIP_TEST_UTIL_H_
