// OipApi infer with bad requests: each gets the right status and an
// {"error": ...} that says what was wrong; a full queue sheds load with 503.
#include "src/serving/oip.h"
#include "src/serving/oip_test_util.h"
#include "src/vision/codec.h"

namespace spatial::serving::oip_test {
namespace {

// A spatial-model FP32 request for one image, to be spoiled by each case.
Json GoodTensors(const inference::Manifest& m) {
  return TensorRequest(m, {Jpeg(3)});
}

TEST_F(OipTest, BadInferRequestsGetClearErrors) {
  OipApi api = Api();
  const inference::Manifest& m = models_[0]->manifest();
  ASSERT_EQ(m.name, "spatial-pizza");
  const Json good = GoodTensors(m);
  auto spoil = [&](auto&& f) {
    Json j = good;
    f(j);
    return j.dump();
  };
  auto bytes_with = [](const Json& data, const Json& shape) {
    return Json{{"inputs",
                 {{{"name", "image_bytes"},
                   {"datatype", "BYTES"},
                   {"shape", shape},
                   {"data", data}}}}}
        .dump();
  };
  std::string wide_png = *vision::EncodePng(cv::Mat(1, 5000, CV_8UC3));
  std::string jpeg = Jpeg(0);
  struct Case {
    std::string name, model, body;
    int status;
    std::string says;  // part of the error message
  };
  const Case cases[] = {
      {"malformed json", "spatial-pizza", "{\"inputs\": [", 400,
       "not valid JSON"},
      {"not an object", "spatial-pizza", "[1, 2]", 400, "JSON object"},
      {"no inputs", "spatial-pizza", "{}", 400, "'inputs'"},
      {"empty inputs", "spatial-pizza", "{\"inputs\": []}", 400,
       "visual [N,3,64,64] and spatial [N,4,64,64] (FP32)"},
      {"id not a string", "spatial-pizza", spoil([](Json& j) { j["id"] = 7; }),
       400, "'id' must be a string"},
      {"unknown input", "spatial-pizza",
       spoil([](Json& j) { j["inputs"][0]["name"] = "rgb"; }), 400,
       "unknown input 'rgb'"},
      {"input twice", "spatial-pizza",
       spoil([](Json& j) { j["inputs"][1] = j["inputs"][0]; }), 400,
       "given twice"},
      {"missing spatial input", "spatial-pizza",
       spoil([](Json& j) { j["inputs"].erase(1); }), 400,
       "missing input 'spatial'"},
      {"missing input named before a bad one", "spatial-pizza",
       spoil([](Json& j) {
         j["inputs"].erase(1);
         j["inputs"][0]["data"] = {1, 2, 3};
       }),
       400, "missing input 'spatial'"},
      {"wrong datatype", "spatial-pizza",
       spoil([](Json& j) { j["inputs"][0]["datatype"] = "FP64"; }), 400,
       "datatype 'FP64'; expected FP32"},
      {"wrong shape", "spatial-pizza", spoil([](Json& j) {
         j["inputs"][0]["shape"] = {1, 3, 32, 32};
       }),
       400, "shape [1,3,32,32]; expected [N,3,64,64]"},
      {"shape not integers", "spatial-pizza", spoil([](Json& j) {
         j["inputs"][0]["shape"] = {1, "3", 64, 64};
       }),
       400, "non-negative integers"},
      {"data too short", "spatial-pizza",
       spoil([](Json& j) { j["inputs"][0]["data"].erase(0); }), 400,
       "has 12287 values; shape [1,3,64,64] needs 12288"},
      {"no data", "spatial-pizza",
       spoil([](Json& j) { j["inputs"][0].erase("data"); }), 400,
       "no 'data' list"},
      {"float overflow", "spatial-pizza",
       spoil([](Json& j) { j["inputs"][0]["data"][5] = 1e39; }), 400,
       "element 5 (1e+39) is not a finite FP32 number"},
      {"infinite number", "spatial-pizza",
       [&] {
         std::string s = good.dump();
         std::string first = good["inputs"][0]["data"][0].dump();
         return s.replace(s.find(first), first.size(), "1e999");
       }(),
       400, "number overflow"},
      {"string element", "spatial-pizza",
       spoil([](Json& j) { j["inputs"][0]["data"][3] = "0.5"; }), 400,
       "element 3 (\"0.5\") is not a finite"},
      {"boolean element", "spatial-pizza",
       spoil([](Json& j) { j["inputs"][1]["data"][0] = true; }), 400,
       "input 'spatial': element 0 (true)"},
      {"batch sizes differ", "spatial-pizza",
       spoil([](Json& j) { j["inputs"][1]["shape"][0] = 2; }), 400,
       "every input needs the same N"},
      {"batch of zero", "spatial-pizza",
       spoil([](Json& j) { j["inputs"][0]["shape"][0] = 0; }), 400,
       "at least 1"},
      {"binary extension", "spatial-pizza", spoil([](Json& j) {
         j["inputs"][0]["parameters"] = {{"binary_data_size", 49152}};
       }),
       400, "binary tensor data extension is not supported"},
      {"tensors and bytes", "spatial-pizza", spoil([](Json& j) {
         j["inputs"].push_back(
             Json::parse(BytesRequest({Jpeg(1)}).dump())["inputs"][0]);
       }),
       400, "not both"},
      {"batch over the cap", "spatial-pizza",
       bytes_with(std::vector<std::string>(65, "AAAA"), {65}), 400,
       "a batch of 65, over the limit of 64"},
      {"bytes shape rank", "spatial-pizza",
       bytes_with({absl::Base64Escape(jpeg)}, {1, 1}), 400, "expected [N]"},
      {"bytes count", "spatial-pizza",
       bytes_with({absl::Base64Escape(jpeg)}, {2}), 400,
       "has 1 values; shape [2] needs 2"},
      {"bytes not a string", "spatial-pizza", bytes_with({42}, {1}), 400,
       "expected a base64-encoded image file"},
      {"bad base64", "spatial-pizza", bytes_with({"not base64!!"}, {1}), 400,
       "element 0: not valid base64"},
      {"not an image", "spatial-pizza",
       bytes_with({absl::Base64Escape("hello, pizza")}, {1}), 400,
       "element 0:"},
      {"truncated jpeg", "standard-pizza",
       bytes_with({absl::Base64Escape(jpeg),
                   absl::Base64Escape(jpeg.substr(0, jpeg.size() / 2))},
                  {2}),
       400, "element 1:"},
      {"image over the pixel limit", "standard-pizza",
       bytes_with({absl::Base64Escape(wide_png)}, {1}), 413, "element 0:"},
      {"bytes datatype on an FP32 input", "standard-pizza",
       Json{{"inputs",
             {{{"name", "image"},
               {"datatype", "BYTES"},
               {"shape", {1}},
               {"data", {absl::Base64Escape(jpeg)}}}}}}
           .dump(),
       400, "datatype 'BYTES'; expected FP32"},
      {"unknown output", "standard-pizza",
       [&] {
         Json j = Json::parse(BytesRequest({jpeg}).dump());
         j["outputs"] = {{{"name", "logits"}}};
         return j.dump();
       }(),
       400, "unknown output 'logits'"},
      {"unknown model", "calzone", good.dump(), 404, "not served"},
  };
  for (const auto& c : cases) {
    Answer a = Call(api, "POST", "/v2/models/" + c.model + "/infer", c.body);
    EXPECT_EQ(a.response.status, c.status)
        << c.name << ": " << a.response.body.substr(0, 300);
    ASSERT_TRUE(a.json.is_object()) << c.name << ": " << a.response.body;
    std::string error = a.json.value("error", "");
    EXPECT_NE(error.find(c.says), std::string::npos) << c.name << ": " << error;
  }
  // Still serving.
  EXPECT_EQ(Call(api, "POST", "/v2/models/spatial-pizza/infer", good.dump())
                .response.status,
            200);
}

// When the model's queue is full the request is refused as a whole with 503
// and Retry-After (what was queued finishes; nothing is answered twice).
TEST_F(OipTest, FullQueueAnswers503WithRetryAfter) {
  Batcher::Options o;
  o.workers = 1;
  o.max_batch = 8;
  o.queue_capacity = 1;
  // The worker waits this long for a batch to fill with the first job still
  // queued, so the second Submit of the request finds the queue full.
  o.max_queue_delay = std::chrono::milliseconds(300);
  auto small = Load("standard-pizza-v1", o);
  ASSERT_TRUE(small.ok()) << small.status();
  std::vector<std::shared_ptr<ServedModel>> models = {*small};
  OipApi api([models] { return models; }, [] { return true; }, {});
  Answer a = Call(api, "POST", "/v2/models/standard-pizza/infer",
                  BytesRequest({Jpeg(0), Jpeg(1), Jpeg(2)}).dump());
  EXPECT_EQ(a.response.status, 503) << a.response.body;
  EXPECT_NE(a.json.value("error", "").find("queue is full"), std::string::npos)
      << a.response.body;
  bool retry_after = false;
  for (const auto& [k, v] : a.response.headers)
    retry_after |= k == "Retry-After" && v == "1";
  EXPECT_TRUE(retry_after);
  // One at a time fits.
  EXPECT_EQ(Call(api, "POST", "/v2/models/standard-pizza/infer",
                 BytesRequest({Jpeg(0)}).dump())
                .response.status,
            200);
}

}  // namespace
}  // namespace spatial::serving::oip_test
