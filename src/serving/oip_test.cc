// OipApi over the real shipped bundles, each on its own Batcher as `spatial
// serve` loads them: metadata, versions, readiness, infer with FP32 tensors
// and with image files, and every bad input.
#include "src/serving/oip.h"

#include "src/serving/oip_test_util.h"

namespace spatial::serving::oip_test {
namespace {

TEST_F(OipTest, ServerMetadataAndHealth) {
  bool ready = true;
  OipApi api = Api(&ready);
  Answer a = Call(api, "GET", "/v2");
  ASSERT_EQ(a.response.status, 200) << a.response.body;
  EXPECT_EQ(a.json["name"], "pizza-api-spatial");
  EXPECT_EQ(a.json["version"], "9.9.9");
  EXPECT_EQ(a.json["extensions"], Json::array());
  EXPECT_EQ(Call(api, "GET", "/v2/health/live").response.status, 200);
  Answer r = Call(api, "GET", "/v2/health/ready");
  EXPECT_EQ(r.response.status, 200);
  EXPECT_EQ(r.json["ready"], true);
  ready = false;  // the protocol: a 4xx status means "not ready"
  r = Call(api, "GET", "/v2/health/ready");
  EXPECT_EQ(r.response.status, 400);
  EXPECT_EQ(r.json["ready"], false);
  EXPECT_EQ(Call(api, "GET", "/v2/health/live").response.status, 200);
  OipApi empty([] { return std::vector<std::shared_ptr<ServedModel>>(); },
               [] { return true; }, {});
  EXPECT_EQ(Call(empty, "GET", "/v2/health/ready").response.status, 400);
}

TEST_F(OipTest, ModelMetadataDescribesTheManifest) {
  OipApi api = Api();
  Answer a = Call(api, "GET", "/v2/models/spatial-pizza");
  ASSERT_EQ(a.response.status, 200) << a.response.body;
  EXPECT_EQ(a.json["name"], "spatial-pizza");
  EXPECT_EQ(a.json["versions"], Json({"spatial-pizza-v1"}));
  EXPECT_EQ(a.json["platform"], "onnx");
  Json inputs = a.json["inputs"];
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[0], Json({{"name", "visual"},
                             {"datatype", "FP32"},
                             {"shape", {-1, 3, 64, 64}}}));
  EXPECT_EQ(inputs[1]["name"], "spatial");
  EXPECT_EQ(inputs[1]["shape"], Json({-1, 4, 64, 64}));
  EXPECT_EQ(inputs[2]["name"], "image_bytes");
  EXPECT_EQ(inputs[2]["datatype"], "BYTES");
  EXPECT_EQ(a.json["outputs"][0]["shape"], Json({-1, 6}));
  EXPECT_EQ(a.json["outputs"][1]["name"], "predicted_class");
  EXPECT_EQ(a.json["parameters"]["classes"][1], "burnt");

  Answer s =
      Call(api, "GET", "/v2/models/standard-pizza/versions/standard-pizza-v1");
  ASSERT_EQ(s.response.status, 200) << s.response.body;
  EXPECT_EQ(s.json["inputs"][0]["name"], "image");
  EXPECT_EQ(s.json["inputs"][0]["shape"], Json({-1, 3, 48, 48}));
  EXPECT_EQ(s.json["inputs"].size(), 2u);

  Answer v = Call(api, "GET", "/v2/models/spatial-pizza/versions/7");
  EXPECT_EQ(v.response.status, 404);
  EXPECT_NE(v.json.value("error", "").find("spatial-pizza-v1"),
            std::string::npos)
      << v.response.body;
  // A name that is not UTF-8 is quoted in the message without throwing.
  Answer x = Call(api, "GET", "/v2/models/pizza\xff\xfe");
  EXPECT_EQ(x.response.status, 404);
  EXPECT_TRUE(x.json.is_object()) << x.response.body;
  Answer u = Call(api, "GET", "/v2/models/pepperoni");
  EXPECT_EQ(u.response.status, 404);
  EXPECT_NE(u.json.value("error", "").find("spatial-pizza, standard-pizza"),
            std::string::npos)
      << u.response.body;
}

TEST_F(OipTest, ModelReadiness) {
  bool ready = true;
  OipApi api = Api(&ready);
  Answer a = Call(api, "GET", "/v2/models/spatial-pizza/ready");
  EXPECT_EQ(a.response.status, 200);
  EXPECT_EQ(a.json, Json({{"name", "spatial-pizza"}, {"ready", true}}));
  EXPECT_EQ(Call(api, "GET",
                 "/v2/models/standard-pizza/versions/standard-pizza-v1/ready")
                .response.status,
            200);
  EXPECT_EQ(Call(api, "GET", "/v2/models/standard-pizza/versions/2/ready")
                .response.status,
            404);
  EXPECT_EQ(Call(api, "GET", "/v2/models/nope/ready").response.status, 404);
  ready = false;
  EXPECT_EQ(Call(api, "GET", "/v2/models/spatial-pizza/ready").response.status,
            400);
  Answer i = Call(api, "POST", "/v2/models/spatial-pizza/infer",
                  BytesRequest({Jpeg(1)}).dump());
  EXPECT_EQ(i.response.status, 503);
}

TEST_F(OipTest, RoutesOnlyItsOwnPathsAndMethods) {
  OipApi api = Api();
  for (const char* p : {"/classify", "/v2/models", "/v2/models/",
                        "/v2/models/spatial-pizza/explain",
                        "/v2/models/spatial-pizza/versions/",
                        "/v2/models/spatial-pizza/ready/x", "/v2x"}) {
    EXPECT_FALSE(Call(api, "GET", p).handled) << p;
    EXPECT_EQ(OipApi::EndpointLabel(p), "") << p;
  }
  EXPECT_EQ(Call(api, "GET", "/v2/models/spatial-pizza/infer").response.status,
            405);
  EXPECT_EQ(Call(api, "POST", "/v2/models/spatial-pizza").response.status, 405);
  EXPECT_EQ(Call(api, "DELETE", "/v2/health/live").response.status, 405);
  EXPECT_EQ(OipApi::EndpointLabel("/v2/models/anything/versions/x/infer"),
            "/v2/models/infer");
  EXPECT_EQ(OipApi::EndpointLabel("/v2/models/random-name-123"),
            "/v2/models/metadata");
  EXPECT_EQ(OipApi::EndpointLabel("/v2/models/m/ready"), "/v2/models/ready");
  EXPECT_EQ(OipApi::EndpointLabel("/v2/health/ready"), "/v2/health/ready");
}

// For both models: image files through BYTES give the same probabilities as
// the classifier on the same image, and the FP32 tensors of that image (flat
// or nested) give the same probabilities again.
TEST_F(OipTest, InferBytesAndTensorsAgreeWithTheModel) {
  OipApi api = Api();
  for (const auto& model : models_) {
    const auto& m = model->manifest();
    SCOPED_TRACE(m.name);
    std::vector<std::string> files = {Jpeg(1, 0), Jpeg(4, 1), Jpeg(5, 2)};
    auto reference = inference::Classifier::Open(model->bundle_dir);
    ASSERT_TRUE(reference.ok());
    std::vector<inference::PreparedInput> prepared;
    for (const auto& f : files)
      prepared.push_back(inference::PrepareInput(m, *vision::DecodeImage(f)));
    std::vector<const inference::PreparedInput*> ptrs;
    for (const auto& p : prepared) ptrs.push_back(&p);
    auto expected = (*reference)->Classify(ptrs);
    ASSERT_TRUE(expected.ok());

    Json bytes_req = BytesRequest(files);
    bytes_req["id"] = "req-42";
    Answer b =
        Call(api, "POST", "/v2/models/" + m.name + "/infer", bytes_req.dump());
    ASSERT_EQ(b.response.status, 200) << b.response.body;
    EXPECT_EQ(b.json["model_name"], m.name);
    EXPECT_EQ(b.json["model_version"], model->version);
    EXPECT_EQ(b.json["id"], "req-42");
    EXPECT_EQ(b.json["outputs"][0]["shape"], Json({3, 6}));
    EXPECT_EQ(b.json["outputs"][1]["shape"], Json({3}));
    std::vector<float> from_bytes = Probabilities(b);
    ASSERT_EQ(from_bytes.size(), 18u);
    for (size_t i = 0; i < files.size(); ++i) {
      EXPECT_EQ(b.json["outputs"][1]["data"][i],
                m.classes[(*expected)[i].label]);
      for (size_t k = 0; k < 6; ++k) {
        EXPECT_NEAR(from_bytes[i * 6 + k], (*expected)[i].probabilities[k],
                    1e-5);
      }
    }
    Json tensors = TensorRequest(m, files);
    Answer t =
        Call(api, "POST",
             "/v2/models/" + m.name + "/versions/" + model->version + "/infer",
             tensors.dump());
    ASSERT_EQ(t.response.status, 200) << t.response.body.substr(0, 300);
    EXPECT_FALSE(t.json.contains("id"));
    std::vector<float> from_tensors = Probabilities(t);
    ASSERT_EQ(from_tensors.size(), from_bytes.size());
    for (size_t i = 0; i < from_bytes.size(); ++i)
      EXPECT_NEAR(from_tensors[i], from_bytes[i], 1e-5) << i;
    // The same data nested as [N][C][H*W] instead of flat.
    for (auto& in : tensors["inputs"]) {
      const auto& sh = in["shape"];
      const size_t c = sh[1], hw = sh[2].get<size_t>() * sh[3].get<size_t>();
      Json nested = Json::array();
      for (size_t i = 0; i < files.size(); ++i) {
        Json item = Json::array();
        for (size_t ch = 0; ch < c; ++ch) {
          Json row = Json::array();
          for (size_t x = 0; x < hw; ++x)
            row.push_back(in["data"][(i * c + ch) * hw + x]);
          item.push_back(row);
        }
        nested.push_back(item);
      }
      in["data"] = nested;
    }
    Answer n =
        Call(api, "POST", "/v2/models/" + m.name + "/infer", tensors.dump());
    ASSERT_EQ(n.response.status, 200) << n.response.body.substr(0, 300);
    std::vector<float> from_nested = Probabilities(n);
    for (size_t i = 0; i < from_bytes.size(); ++i)
      EXPECT_NEAR(from_nested[i], from_bytes[i], 1e-5) << i;
  }
}

TEST_F(OipTest, OutputsFilter) {
  OipApi api = Api();
  Json req = BytesRequest({Jpeg(2)});
  req["outputs"] = {{{"name", "predicted_class"}}};
  Answer a = Call(api, "POST", "/v2/models/spatial-pizza/infer", req.dump());
  ASSERT_EQ(a.response.status, 200) << a.response.body;
  ASSERT_EQ(a.json["outputs"].size(), 1u);
  EXPECT_EQ(a.json["outputs"][0]["name"], "predicted_class");
  EXPECT_EQ(a.json["outputs"][0]["datatype"], "BYTES");
  req["outputs"] = {{{"name", "logits"}}};
  a = Call(api, "POST", "/v2/models/spatial-pizza/infer", req.dump());
  EXPECT_EQ(a.response.status, 400);
  EXPECT_NE(a.json.value("error", "").find("unknown output 'logits'"),
            std::string::npos)
      << a.response.body;
}

}  // namespace
}  // namespace spatial::serving::oip_test
