// The body of an Open Inference Protocol v2 infer request (POST
// /v2/models/{name}/infer), checked against one model's manifest and turned
// into model inputs. Two ways in:
//   - FP32 tensors named like the manifest's inputs, shape [N, C, H, W], data
//     flat or nested in row-major order; every tensor input of the model,
//     all with the same N;
//   - one BYTES tensor `kImageBytesInput`, shape [N], each element a
//     base64-encoded JPEG, PNG or WebP file, handed on as bytes: PredictCore
//     decodes them with limits and preprocesses them as the manifest says
//     (the same path as /classify).
// Every error is InvalidArgument naming the input and what was expected
// (an image that does not decode, or is over the size limits, is PredictCore's
// error: InvalidArgument or OutOfRange -> 413, naming the element). Pure
// functions; thread-safe.
#ifndef SPATIAL_SERVING_OIP_REQUEST_H_
#define SPATIAL_SERVING_OIP_REQUEST_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/inference/classifier.h"
#include "src/serving/predict_core.h"
#include "src/vision/decode.h"

namespace spatial::serving {

// The BYTES input that carries image files. Not "image": the standard model's
// FP32 input is already called that.
inline constexpr char kImageBytesInput[] = "image_bytes";
// The outputs every model answers with.
inline constexpr char kProbabilitiesOutput[] = "probabilities";
inline constexpr char kPredictedClassOutput[] = "predicted_class";

struct OipLimits {
  int max_batch = 64;           // N at most per request
  vision::DecodeLimits decode;  // for PredictCore
};

struct OipInferRequest {
  std::optional<std::string> id;     // echoed in the response
  std::vector<PredictInput> inputs;  // N, all images or all tensors
  bool want_probabilities = true;
  bool want_predicted_class = true;
};

absl::StatusOr<OipInferRequest> ParseOipInferRequest(
    const inference::Manifest& manifest, absl::string_view body,
    const OipLimits& limits = {});

}  // namespace spatial::serving

#endif  // SPATIAL_SERVING_OIP_REQUEST_H_
