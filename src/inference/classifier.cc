#include "src/inference/classifier.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "src/base/status_macros.h"
#include "src/inference/onnx_info.h"

namespace spatial::inference {
namespace {

// The graph must take exactly the manifest's inputs with [N, C, H, W] shapes
// and produce its output.
absl::Status CheckGraph(const Manifest& m, const nlohmann::json& info,
                        const std::string& path) {
  auto mismatch = [&](const std::string& what) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " does not match its manifest: ", what));
  };
  if (info["inputs"].size() != m.inputs.size()) {
    return mismatch(absl::StrCat("the graph has ", info["inputs"].size(),
                                 " inputs, the manifest ", m.inputs.size()));
  }
  for (const auto& spec : m.inputs) {
    const nlohmann::json* found = nullptr;
    for (const auto& in : info["inputs"]) {
      if (in["name"] == spec.name) found = &in;
    }
    if (found == nullptr)
      return mismatch(absl::StrCat("no graph input named '", spec.name, "'"));
    const auto& shape = (*found)["shape"];
    if (shape.size() != 4)
      return mismatch(absl::StrCat("input '", spec.name, "' is not NCHW"));
    for (int i = 0; i < 3; ++i) {
      int64_t d = shape[i + 1].get<int64_t>();
      if (d != -1 && d != spec.shape[i]) {
        return mismatch(absl::StrCat("input '", spec.name, "' dimension ",
                                     i + 1, " is ", d, ", the manifest says ",
                                     spec.shape[i]));
      }
    }
  }
  for (const auto& out : info["outputs"]) {
    if (out["name"] == m.output) return absl::OkStatus();
  }
  return mismatch(absl::StrCat("no graph output named '", m.output, "'"));
}

}  // namespace

std::vector<float> Softmax(const float* logits, int n) {
  std::vector<float> p(logits, logits + n);
  float mx = *std::max_element(p.begin(), p.end());
  float sum = 0;
  for (float& v : p) sum += (v = std::exp(v - mx));
  for (float& v : p) v /= sum;
  return p;
}

absl::StatusOr<std::unique_ptr<Classifier>> Classifier::Open(
    const std::string& bundle_dir) {
  ASSIGN_OR_RETURN(Manifest m, LoadManifest(bundle_dir));
  std::string onnx = bundle_dir + "/model.onnx";
  ASSIGN_OR_RETURN(nlohmann::json info, InspectOnnx(onnx));
  RETURN_IF_ERROR(CheckGraph(m, info, onnx));
  ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, OpenOpenCvEngine(onnx));
  return std::unique_ptr<Classifier>(
      new Classifier(std::move(m), std::move(engine)));
}

PreparedInput PrepareInput(const Manifest& m, const cv::Mat& bgr) {
  PreparedInput p;
  const int vs = m.visual_size;
  // Both encoders usually take the same size: the image is resized once.
  const cv::Mat visual_in = vision::ResizeSquare(bgr, vs);
  p.visual.resize(3ull * vs * vs);
  vision::VisualTensor(visual_in, vs, m.normalization, p.visual.data());
  if (m.has_spatial()) {
    const int ss = m.spatial_size;
    p.spatial.resize(4ull * ss * ss);
    const vision::SpatialMaps maps =
        vision::SpatialTensor(ss == vs ? visual_in : bgr, ss, p.spatial.data());
    p.features = vision::ComputeSpatialFeatures(maps);
  }
  return p;
}

PreparedInput Classifier::Prepare(const cv::Mat& bgr) const {
  return PrepareInput(manifest_, bgr);
}

absl::StatusOr<Tensor> Classifier::RunLogits(
    const std::vector<NamedInput>& inputs) {
  return engine_->Run(inputs, manifest_.output);
}

absl::StatusOr<std::vector<Prediction>> Classifier::Classify(
    const std::vector<const PreparedInput*>& batch) {
  if (batch.empty()) return std::vector<Prediction>();
  const int n = static_cast<int>(batch.size());
  std::vector<Tensor> tensors;
  tensors.reserve(manifest_.inputs.size());
  std::vector<NamedInput> named;
  for (const auto& spec : manifest_.inputs) {
    Tensor t;
    t.shape = {n, spec.shape[0], spec.shape[1], spec.shape[2]};
    const size_t per =
        static_cast<size_t>(spec.shape[0]) * spec.shape[1] * spec.shape[2];
    t.data.reserve(per * n);
    for (const PreparedInput* in : batch) {
      const auto& src =
          spec.kind == InputKind::kVisual ? in->visual : in->spatial;
      if (src.size() != per) {
        return absl::InvalidArgumentError(
            absl::StrCat("input '", spec.name, "' has ", src.size(),
                         " values, expected ", per));
      }
      t.data.insert(t.data.end(), src.begin(), src.end());
    }
    tensors.push_back(std::move(t));
  }
  for (size_t i = 0; i < manifest_.inputs.size(); ++i) {
    named.push_back({manifest_.inputs[i].name, &tensors[i]});
  }
  ASSIGN_OR_RETURN(Tensor logits, engine_->Run(named, manifest_.output));
  const int k = static_cast<int>(manifest_.classes.size());
  if (logits.shape.size() != 2 || logits.shape[0] != n ||
      logits.shape[1] != k) {
    return absl::InternalError(
        absl::StrCat("the model returned logits of an unexpected shape (",
                     logits.shape.size(), " dims) for ", k, " classes"));
  }
  std::vector<Prediction> out(n);
  for (int i = 0; i < n; ++i) {
    out[i].probabilities = Softmax(&logits.data[static_cast<size_t>(i) * k], k);
    auto best = std::max_element(out[i].probabilities.begin(),
                                 out[i].probabilities.end());
    out[i].label = static_cast<int>(best - out[i].probabilities.begin());
    out[i].confidence = *best;
  }
  return out;
}

}  // namespace spatial::inference
