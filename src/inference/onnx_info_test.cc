#include "src/inference/onnx_info.h"

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "src/base/files.h"

namespace spatial::inference {
namespace {

void AddInput(onnx::GraphProto* g, const std::string& name,
              std::vector<int64_t> dims) {
  auto* in = g->add_input();
  in->set_name(name);
  auto* t = in->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  for (size_t i = 0; i < dims.size(); ++i) {
    auto* d = t->mutable_shape()->add_dim();
    if (dims[i] < 0) {
      d->set_dim_param("N");
    } else {
      d->set_dim_value(dims[i]);
    }
  }
}

// Writes a graph with the given image inputs, a 6-way output and 2 weights.
std::string WriteModel(const std::string& name, int image_inputs) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("pytorch");
  m.set_producer_version("1.13.1");
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  AddInput(g, "visual", {-1, 3, 64, 64});
  if (image_inputs == 2) AddInput(g, "spatial", {-1, 4, 64, 64});
  auto* w = g->add_initializer();
  w->set_name("conv.weight");
  w->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : {8, 3, 3, 3}) w->add_dims(d);
  auto* b = g->add_initializer();
  b->set_name("fc.bias");
  b->set_data_type(onnx::TensorProto::FLOAT);
  b->add_dims(6);
  AddInput(g, "fc.bias", {6});  // old exporters list weights as inputs too
  auto* out = g->add_output();
  out->set_name("logits");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto::FLOAT);
  std::string path = ::testing::TempDir() + "/" + name + ".onnx";
  std::ofstream f(path, std::ios::binary);
  m.SerializeToOstream(&f);
  return path;
}

// A two-image-input graph is a dual encoder with its weights counted.
TEST(OnnxInfoTest, ReadsDualEncoderInterface) {
  auto info = InspectOnnx(WriteModel("dual", 2));
  ASSERT_TRUE(info.ok()) << info.status();
  const auto& j = *info;
  EXPECT_TRUE(j["dual_encoder"].get<bool>());
  ASSERT_EQ(j["inputs"].size(),
            2u);  // the weight listed as input is not an input
  EXPECT_EQ(j["inputs"][0]["name"], "visual");
  EXPECT_EQ(j["inputs"][0]["shape"], nlohmann::json({-1, 3, 64, 64}));
  EXPECT_EQ(j["inputs"][1]["dtype"], "FP32");
  EXPECT_EQ(j["outputs"][0]["name"], "logits");
  EXPECT_EQ(j["parameter_count"], 8 * 3 * 3 * 3 + 6);
  EXPECT_EQ(j["parameter_bytes"], (8 * 3 * 3 * 3 + 6) * 4);
  EXPECT_EQ(j["opset"], 13);
  const double sample = (3 + 4) * 64 * 64 * 4.0;
  const double expected =
      (2 * (8 * 3 * 3 * 3 + 6) * 4.0 + 64 * sample + 32 * 1048576.0) /
      (1024.0 * 1024.0 * 1024.0);
  EXPECT_DOUBLE_EQ(j["memory_estimate_gb"].get<double>(), expected);
}

TEST(OnnxInfoTest, SingleInputIsNotDual) {
  auto info = InspectOnnx(WriteModel("single", 1));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_FALSE((*info)["dual_encoder"].get<bool>());
}

// Missing, empty, truncated and foreign files get specific errors, not crashes.
TEST(OnnxInfoTest, RejectsWhatIsNotAModel) {
  std::string dir = ::testing::TempDir();
  EXPECT_EQ(InspectOnnx(dir + "/does-not-exist.onnx").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/empty.onnx", "").ok());
  EXPECT_EQ(InspectOnnx(dir + "/empty.onnx").status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/text.onnx",
                                    "this is plain text, not protobuf")
                  .ok());
  EXPECT_EQ(InspectOnnx(dir + "/text.onnx").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto whole = base::ReadFile(WriteModel("cut", 2));
  ASSERT_TRUE(whole.ok());
  ASSERT_TRUE(base::WriteFileAtomic(dir + "/cut.onnx",
                                    whole->substr(0, whole->size() - 7))
                  .ok());
  EXPECT_EQ(InspectOnnx(dir + "/cut.onnx").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spatial::inference
