// The manifest.json of a model bundle (a directory with model.onnx and
// manifest.json): classes, inputs, preprocessing and measured metrics, as
// training/train.py writes it. Plain values; thread-safe to share.
#ifndef SPATIAL_INFERENCE_MANIFEST_H_
#define SPATIAL_INFERENCE_MANIFEST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "src/vision/preprocess.h"

namespace spatial::inference {

enum class InputKind { kVisual, kSpatial };

struct InputSpec {
  std::string name;  // the ONNX input name
  InputKind kind = InputKind::kVisual;
  std::vector<int> shape;  // C, H, W (no batch)
};

struct Manifest {
  std::string name;
  std::string version;
  std::string model_type;    // spatial-mllm | standard-cnn
  std::string architecture;  // dual-encoder | visual-encoder
  std::vector<std::string> classes;
  std::vector<InputSpec> inputs;
  std::string output;  // the ONNX output name (logits)
  vision::Normalization normalization{};
  int visual_size = 0;
  int spatial_size = 0;  // 0 when the model has no spatial input
  nlohmann::json metrics = nlohmann::json::object();
  nlohmann::json raw;  // the whole file, for fields this struct does not name

  bool has_spatial() const { return spatial_size > 0; }
};

// Parses and checks a manifest: InvalidArgument naming the field.
absl::StatusOr<Manifest> ParseManifest(const nlohmann::json& j,
                                       const std::string& where);
// Reads DIR/manifest.json.
absl::StatusOr<Manifest> LoadManifest(const std::string& dir);

}  // namespace spatial::inference

#endif  // SPATIAL_INFERENCE_MANIFEST_H_
