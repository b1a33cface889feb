#include "src/inference/onnx_info.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "src/base/files.h"

namespace spatial::inference {
namespace {

using Json = nlohmann::json;

const char* DtypeName(int t) {
  switch (t) {
    case onnx::TensorProto::FLOAT:
      return "FP32";
    case onnx::TensorProto::UINT8:
      return "UINT8";
    case onnx::TensorProto::INT8:
      return "INT8";
    case onnx::TensorProto::INT32:
      return "INT32";
    case onnx::TensorProto::INT64:
      return "INT64";
    case onnx::TensorProto::FLOAT16:
      return "FP16";
    case onnx::TensorProto::DOUBLE:
      return "FP64";
    case onnx::TensorProto::STRING:
      return "BYTES";
    case onnx::TensorProto::BOOL:
      return "BOOL";
    default:
      return "OTHER";
  }
}

size_t DtypeBytes(int t) {
  switch (t) {
    case onnx::TensorProto::DOUBLE:
    case onnx::TensorProto::INT64:
      return 8;
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
      return 2;
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::BOOL:
      return 1;
    default:
      return 4;
  }
}

Json TensorInfo(const onnx::ValueInfoProto& v) {
  Json shape = Json::array();
  int elem = 0;
  if (v.type().has_tensor_type()) {
    elem = v.type().tensor_type().elem_type();
    for (const auto& d : v.type().tensor_type().shape().dim()) {
      shape.push_back(d.has_dim_value() ? d.dim_value() : -1);
    }
  }
  return {{"name", v.name()}, {"dtype", DtypeName(elem)}, {"shape", shape}};
}

// Bytes of one sample of an input: the product of its fixed dimensions
// after the batch dimension.
double SampleBytes(const onnx::ValueInfoProto& v) {
  if (!v.type().has_tensor_type()) return 0;
  double n = DtypeBytes(v.type().tensor_type().elem_type());
  const auto& dims = v.type().tensor_type().shape().dim();
  for (int i = 1; i < dims.size(); ++i) {
    if (dims[i].has_dim_value() && dims[i].dim_value() > 0)
      n *= static_cast<double>(dims[i].dim_value());
  }
  return n;
}

}  // namespace

absl::StatusOr<Json> InspectOnnx(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::ErrnoStatus(errno, absl::StrCat("cannot open ", path));
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     " is not an ONNX model (protobuf parse failed; truncated "
                     "or another format?)"));
  }
  const onnx::GraphProto& g = model.graph();
  // Initializers may also be listed as graph inputs (older exporters).
  std::set<std::string> initializer_names;
  uint64_t params = 0;
  double param_bytes = 0;
  for (const auto& t : g.initializer()) {
    initializer_names.insert(t.name());
    uint64_t n = 1;
    for (auto d : t.dims()) n *= static_cast<uint64_t>(std::max<int64_t>(d, 0));
    params += n;
    param_bytes += static_cast<double>(n * DtypeBytes(t.data_type()));
  }
  Json inputs = Json::array();
  int image_inputs = 0;
  double sample_bytes = 0;
  for (const auto& v : g.input()) {
    if (initializer_names.count(v.name())) continue;
    inputs.push_back(TensorInfo(v));
    if (inputs.back()["shape"].size() == 4) ++image_inputs;
    sample_bytes += SampleBytes(v);
  }
  Json outputs = Json::array();
  for (const auto& v : g.output()) outputs.push_back(TensorInfo(v));
  if (model.ir_version() <= 0 || inputs.empty() || outputs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     " is not an ONNX model (no ir_version, inputs or outputs "
                     "in its graph)"));
  }
  int64_t opset = 0;
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  }
  // Weights twice (file buffer + runtime copy), activations of a batch of 8
  // (the server's default max batch) at 8x the input size, and a fixed
  // runtime base of 32 MiB (OpenCV DNN measured ~20 MB RSS for our models).
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  double estimate =
      (2 * param_bytes + 8 * 8 * sample_bytes + 32 * 1024.0 * 1024.0) / kGiB;
  return Json{
      {"inputs", inputs},
      {"outputs", outputs},
      {"ir_version", model.ir_version()},
      {"opset", opset},
      {"producer",
       absl::StrCat(model.producer_name(), " ", model.producer_version())},
      {"parameter_count", params},
      {"parameter_bytes", static_cast<uint64_t>(param_bytes)},
      {"memory_estimate_gb", estimate},
      {"memory_estimate_basis",
       "2 x weights + 8-sample batch x 8 x input bytes + 32 MiB runtime"},
      {"dual_encoder", image_inputs == 2}};
}

}  // namespace spatial::inference
