// The OIP v2 infer request body (src/serving/oip_request.h) against the
// shipped spatial model's manifest (two FP32 inputs, or image_bytes).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "nlohmann/json.hpp"
#include "src/base/files.h"
#include "src/inference/manifest.h"
#include "src/serving/oip_request.h"

namespace {

const spatial::inference::Manifest* manifest = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string dir = SPATIAL_SOURCE_DIR "/models/spatial-pizza-v1";
  auto m = spatial::inference::LoadManifest(dir);
  if (!m.ok()) abort();
  manifest = new spatial::inference::Manifest(*std::move(m));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view body(reinterpret_cast<const char*>(data), size);
  spatial::serving::OipLimits limits;
  limits.max_batch = 4;
  auto r = spatial::serving::ParseOipInferRequest(*manifest, body, limits);
  if (r.ok() && (r->inputs.empty() ||
                 r->inputs.size() > static_cast<size_t>(limits.max_batch)))
    abort();  // a request the limits should have refused
  return 0;
}
