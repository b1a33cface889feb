// Reads an ONNX graph's interface without running it: inputs, outputs, opset,
// parameter count and a memory estimate. Used by the registry to fill
// compatibility_info at register time. Pure function of the file; thread-safe.
#ifndef SPATIAL_INFERENCE_ONNX_INFO_H_
#define SPATIAL_INFERENCE_ONNX_INFO_H_

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace spatial::inference {

// Compatibility info of the graph at `path`:
//   {inputs: [{name, dtype, shape}], outputs: [...], ir_version, opset,
//    producer, parameter_count, parameter_bytes, memory_estimate_gb,
//    memory_estimate_basis, dual_encoder}
// A tensor dimension without a fixed size is -1. `dual_encoder` is true when
// the graph takes two image inputs (rank-4 tensors).
// NotFound for a missing file; InvalidArgument when the file is not an ONNX
// model (unparsable, or a graph without inputs or outputs).
absl::StatusOr<nlohmann::json> InspectOnnx(const std::string& path);

}  // namespace spatial::inference

#endif  // SPATIAL_INFERENCE_ONNX_INFO_H_
