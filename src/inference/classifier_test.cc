#include "src/inference/classifier.h"

#include <cstdlib>
#include <filesystem>

#include "gtest/gtest.h"
#include "src/base/files.h"
#include "src/base/npy.h"
#include "src/vision/decode.h"
#include "src/vision/renderer.h"
#include "tests/test_paths.h"

namespace spatial::inference {
namespace {
namespace fs = std::filesystem;

std::string ModelsDir() { return spatial::testing::SourceDir() + "/models"; }

class ShippedModelTest : public ::testing::TestWithParam<std::string> {};

// The C++ path (OpenCV DNN on the ONNX export) reproduces the logits PyTorch
// computed at export for the saved reference inputs, to 1e-4.
TEST_P(ShippedModelTest, MatchesPyTorchReferenceOutputs) {
  std::string dir = ModelsDir() + "/" + GetParam();
  auto c = Classifier::Open(dir);
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<base::NpyArray> arrays;
  std::vector<Tensor> tensors;
  for (const auto& spec : (*c)->manifest().inputs) {
    auto a = base::ReadNpy(dir + "/reference/" + spec.name + ".npy");
    ASSERT_TRUE(a.ok()) << a.status();
    Tensor t;
    t.shape.assign(a->shape.begin(), a->shape.end());
    t.data = a->f32;
    tensors.push_back(std::move(t));
  }
  std::vector<NamedInput> named;
  for (size_t i = 0; i < tensors.size(); ++i) {
    named.push_back({(*c)->manifest().inputs[i].name, &tensors[i]});
  }
  auto logits = (*c)->RunLogits(named);
  ASSERT_TRUE(logits.ok()) << logits.status();
  auto want = base::ReadNpy(dir + "/reference/logits.npy");
  ASSERT_TRUE(want.ok()) << want.status();
  ASSERT_EQ(logits->data.size(), want->f32.size());
  ASSERT_GE(want->f32.size(), 6u * 4);
  float worst = 0;
  for (size_t i = 0; i < want->f32.size(); ++i) {
    worst = std::max(worst, std::abs(logits->data[i] - want->f32[i]));
  }
  EXPECT_LT(worst, 1e-4f) << "largest logit difference";
}

// A rendered pizza classifies with probabilities that sum to one; batching
// gives the same answer as one at a time.
TEST_P(ShippedModelTest, BatchedEqualsSingleAndProbabilitiesSumToOne) {
  auto c = Classifier::Open(ModelsDir() + "/" + GetParam());
  ASSERT_TRUE(c.ok()) << c.status();
  std::vector<PreparedInput> prepared;
  for (int label = 0; label < vision::kNumClasses; ++label) {
    auto img =
        vision::DecodeImage(vision::RenderPizza(label, 777, 0, 128).jpeg);
    ASSERT_TRUE(img.ok());
    prepared.push_back((*c)->Prepare(*img));
  }
  std::vector<const PreparedInput*> all;
  for (const auto& p : prepared) all.push_back(&p);
  auto batch = (*c)->Classify(all);
  ASSERT_TRUE(batch.ok()) << batch.status();
  for (size_t i = 0; i < prepared.size(); ++i) {
    auto one = (*c)->Classify({&prepared[i]});
    ASSERT_TRUE(one.ok());
    float sum = 0;
    for (size_t k = 0; k < (*one)[0].probabilities.size(); ++k) {
      sum += (*one)[0].probabilities[k];
      EXPECT_NEAR((*one)[0].probabilities[k], (*batch)[i].probabilities[k],
                  1e-5);
    }
    EXPECT_NEAR(sum, 1.0f, 1e-5);
    EXPECT_EQ((*one)[0].label, (*batch)[i].label);
  }
}

INSTANTIATE_TEST_SUITE_P(Shipped, ShippedModelTest,
                         ::testing::Values("spatial-pizza-v1",
                                           "standard-pizza-v1"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& ch : n) ch = ch == '-' ? '_' : ch;
                           return n;
                         });

// A bundle whose manifest names an input the graph lacks is refused.
TEST(ClassifierTest, RefusesManifestThatDoesNotMatchTheGraph) {
  std::string dir = ::testing::TempDir() + "/mismatch_bundle";
  fs::remove_all(dir);
  fs::create_directories(dir);
  fs::copy_file(ModelsDir() + "/spatial-pizza-v1/model.onnx",
                dir + "/model.onnx");
  auto text = base::ReadFile(ModelsDir() + "/spatial-pizza-v1/manifest.json");
  ASSERT_TRUE(text.ok());
  auto j = nlohmann::json::parse(*text);
  j["inputs"][1]["name"] = "depth";
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/manifest.json", j.dump()).ok());
  auto c = Classifier::Open(dir);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(std::string(c.status().message()).find("'depth'"),
            std::string::npos);
}

// A corrupt, truncated or empty model file is refused, never a crash.
TEST(ClassifierTest, RefusesDamagedModelFiles) {
  auto onnx = base::ReadFile(ModelsDir() + "/spatial-pizza-v1/model.onnx");
  ASSERT_TRUE(onnx.ok());
  const std::string variants[] = {"", onnx->substr(0, onnx->size() / 3),
                                  "not a model"};
  int i = 0;
  for (const auto& bytes : variants) {
    std::string dir =
        ::testing::TempDir() + "/damaged_bundle_" + std::to_string(i++);
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::copy_file(ModelsDir() + "/spatial-pizza-v1/manifest.json",
                  dir + "/manifest.json");
    ASSERT_TRUE(base::WriteFileAtomic(dir + "/model.onnx", bytes).ok());
    auto c = Classifier::Open(dir);
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument)
        << c.status();
  }
  EXPECT_EQ(
      Classifier::Open(::testing::TempDir() + "/nothing-here").status().code(),
      absl::StatusCode::kNotFound);
}

TEST(ClassifierTest, SoftmaxIsStableForLargeLogits) {
  float logits[3] = {1000, 1000, -1000};
  auto p = Softmax(logits, 3);
  EXPECT_FLOAT_EQ(p[0], 0.5f);
  EXPECT_FLOAT_EQ(p[2], 0.0f);
}

}  // namespace
}  // namespace spatial::inference
