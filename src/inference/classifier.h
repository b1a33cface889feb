// Classifier: one model bundle (manifest + ONNX) with its own Engine.
// Prepare() runs the preprocessing the manifest names; Classify() runs a
// batch and returns softmax probabilities. Prepare() is thread-safe;
// Classify() is not (one Engine): give each worker its own Classifier.
#ifndef SPATIAL_INFERENCE_CLASSIFIER_H_
#define SPATIAL_INFERENCE_CLASSIFIER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "opencv2/core.hpp"
#include "src/inference/engine.h"
#include "src/inference/manifest.h"
#include "src/vision/preprocess.h"

namespace spatial::inference {

// One image's model inputs (and, for a spatial model, its features). It
// waits in the batcher's queue, so it holds nothing twice: the depth and
// normal maps are the spatial tensor's planes (SpatialTensor).
struct PreparedInput {
  std::vector<float> visual;  // 3 x S x S
  // depth, nx, ny, nz planes of S x S; empty without a spatial input
  std::vector<float> spatial;
  vision::SpatialFeatures features;
};

struct Prediction {
  int label = 0;
  float confidence = 0;
  std::vector<float> probabilities;
};

class Classifier {
 public:
  // Loads DIR/manifest.json and DIR/model.onnx, checks that the graph's
  // inputs and output match the manifest (FailedPrecondition naming the
  // mismatch), and opens an OpenCV engine.
  static absl::StatusOr<std::unique_ptr<Classifier>> Open(
      const std::string& bundle_dir);

  const Manifest& manifest() const { return manifest_; }
  PreparedInput Prepare(const cv::Mat& bgr) const;
  absl::StatusOr<std::vector<Prediction>> Classify(
      const std::vector<const PreparedInput*>& batch);
  // Runs raw tensors (the reference inputs of the parity test): logits.
  absl::StatusOr<Tensor> RunLogits(const std::vector<NamedInput>& inputs);

 private:
  Classifier(Manifest manifest, std::unique_ptr<Engine> engine)
      : manifest_(std::move(manifest)), engine_(std::move(engine)) {}
  Manifest manifest_;
  std::unique_ptr<Engine> engine_;
};

// The preprocessing a manifest names, for one decoded BGR image. Thread-safe.
PreparedInput PrepareInput(const Manifest& manifest, const cv::Mat& bgr);

// Numerically stable softmax of one row.
std::vector<float> Softmax(const float* logits, int n);

}  // namespace spatial::inference

#endif  // SPATIAL_INFERENCE_CLASSIFIER_H_
