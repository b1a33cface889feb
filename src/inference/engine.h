// Engine: runs a model graph on batches of float tensors. Implementations are
// NOT required to be thread-safe (OpenCV's Net::forward is not): give each
// worker thread its own Engine.
#ifndef SPATIAL_INFERENCE_ENGINE_H_
#define SPATIAL_INFERENCE_ENGINE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace spatial::inference {

// A dense float32 tensor in row-major (NCHW) order.
struct Tensor {
  std::vector<int> shape;
  std::vector<float> data;
};

struct NamedInput {
  std::string name;
  const Tensor* tensor = nullptr;
};

class Engine {
 public:
  virtual ~Engine() = default;
  // Runs the graph; returns the output named `output` ([N, K] for a
  // classifier).
  virtual absl::StatusOr<Tensor> Run(const std::vector<NamedInput>& inputs,
                                     const std::string& output) = 0;
};

// Opens an ONNX file with OpenCV's DNN module (CPU, one thread per call).
// InvalidArgument when OpenCV cannot import the graph.
absl::StatusOr<std::unique_ptr<Engine>> OpenOpenCvEngine(
    const std::string& onnx_path);

}  // namespace spatial::inference

#endif  // SPATIAL_INFERENCE_ENGINE_H_
