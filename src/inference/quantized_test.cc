// The shipped int8 variant (models/spatial-pizza-v1-int8, made by
// training/quantize.py) loads in the C++ engine, reproduces the logits its
// export computed with OpenCV, and agrees with its fp32 parent on held-out
// renders (seed 1000, never used for training or calibration).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "src/base/npy.h"
#include "src/base/sha256.h"
#include "src/inference/classifier.h"
#include "src/vision/decode.h"
#include "src/vision/renderer.h"
#include "tests/test_paths.h"

namespace spatial::inference {
namespace {

std::string Bundle(const std::string& name) {
  return spatial::testing::SourceDir() + "/models/" + name;
}

std::unique_ptr<Classifier> OpenOrDie(const std::string& name) {
  auto c = Classifier::Open(Bundle(name));
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

TEST(QuantizedModelTest, Int8GraphRunsAndMatchesItsReferenceOutputs) {
  auto c = OpenOrDie("spatial-pizza-v1-int8");
  ASSERT_NE(c, nullptr);
  std::vector<Tensor> tensors;
  for (const auto& spec : c->manifest().inputs) {
    auto a = base::ReadNpy(Bundle("spatial-pizza-v1-int8") + "/reference/" +
                           spec.name + ".npy");
    ASSERT_TRUE(a.ok()) << a.status();
    tensors.push_back({{a->shape.begin(), a->shape.end()}, a->f32});
  }
  std::vector<NamedInput> named;
  for (size_t i = 0; i < tensors.size(); ++i)
    named.push_back({c->manifest().inputs[i].name, &tensors[i]});
  auto logits = c->RunLogits(named);
  ASSERT_TRUE(logits.ok()) << logits.status();
  auto want =
      base::ReadNpy(Bundle("spatial-pizza-v1-int8") + "/reference/logits.npy");
  ASSERT_TRUE(want.ok()) << want.status();
  ASSERT_EQ(logits->data.size(), want->f32.size());
  float worst = 0;
  for (size_t i = 0; i < want->f32.size(); ++i)
    worst = std::max(worst, std::abs(logits->data[i] - want->f32[i]));
  EXPECT_LT(worst, 1e-4f) << "largest logit difference";
}

// The manifest names the graph it was derived from: the parent's model.onnx.
TEST(QuantizedModelTest, ManifestNamesTheParentGraph) {
  std::ifstream in(Bundle("spatial-pizza-v1-int8") + "/manifest.json");
  auto m = nlohmann::json::parse(in);
  EXPECT_EQ(m["parent"]["bundle"], "spatial-pizza-v1");
  auto digest = base::Sha256File(Bundle("spatial-pizza-v1") + "/model.onnx");
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(m["parent"]["onnx_sha256"], *digest);
}

// On 60 held-out renders per class (360 images) the int8 variant predicts
// the fp32 parent's class for at least 99% of them (it agreed on 600/600 of
// the seed-1000 evaluation set when shipped), and is not less accurate than
// the parent by more than one image in a hundred.
TEST(QuantizedModelTest, AgreesWithTheFp32ParentOnHeldOutRenders) {
  auto fp32 = OpenOrDie("spatial-pizza-v1");
  auto int8 = OpenOrDie("spatial-pizza-v1-int8");
  ASSERT_NE(fp32, nullptr);
  ASSERT_NE(int8, nullptr);
  int n = 0, agree = 0, right_fp32 = 0, right_int8 = 0;
  for (int label = 0; label < vision::kNumClasses; ++label) {
    for (int i = 0; i < 60; i += 4) {
      std::vector<PreparedInput> a, b;
      for (int j = i; j < i + 4; ++j) {
        auto bgr =
            vision::DecodeImage(vision::RenderPizza(label, 1000, j, 128).jpeg);
        ASSERT_TRUE(bgr.ok()) << bgr.status();
        a.push_back(fp32->Prepare(*bgr));
        b.push_back(int8->Prepare(*bgr));
      }
      std::vector<const PreparedInput*> pa, pb;
      for (size_t k = 0; k < a.size(); ++k) {
        pa.push_back(&a[k]);
        pb.push_back(&b[k]);
      }
      auto ra = fp32->Classify(pa);
      auto rb = int8->Classify(pb);
      ASSERT_TRUE(ra.ok()) << ra.status();
      ASSERT_TRUE(rb.ok()) << rb.status();
      for (size_t k = 0; k < ra->size(); ++k, ++n) {
        agree += (*ra)[k].label == (*rb)[k].label;
        right_fp32 += (*ra)[k].label == label;
        right_int8 += (*rb)[k].label == label;
      }
    }
  }
  ASSERT_EQ(n, 360);
  EXPECT_GE(agree, n * 99 / 100) << agree << "/" << n << " agree";
  EXPECT_GE(right_int8, right_fp32 - n / 100)
      << "fp32 " << right_fp32 << ", int8 " << right_int8 << " of " << n;
}

}  // namespace
}  // namespace spatial::inference
