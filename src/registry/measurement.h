// What `spatial model validate` measured by running a version on its
// environment's evaluation set (src/validation makes it; the registry only
// stores it inside the validation's result and judges it,
// src/registry/rules.h). A plain value; thread-safe to share read-only.
#ifndef SPATIAL_REGISTRY_MEASUREMENT_H_
#define SPATIAL_REGISTRY_MEASUREMENT_H_

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "src/registry/model_version.h"

namespace spatial::registry {

struct Measurement {
  std::string set;  // what the set is: "render seed=3001 ..." or a folder
  std::string set_digest;  // sha256 over its labels and image digests
  int n = 0;               // images
  std::string host;        // hostname, CPU model, cores
  std::string engine;      // e.g. "OpenCV DNN 4.6.0 (CPU, 1 thread)"
  double accuracy = 0;
  std::map<std::string, double> per_class_recall;
  // Decode + preprocess + inference of one image at batch 1, as a request
  // costs the server, after one warm-up image.
  double latency_p50_ms = 0;
  double latency_p95_ms = 0;
  double seconds = 0;  // wall time of the whole measurement (set included)

  Json ToJson() const;
  // InvalidArgument naming the field for a malformed object.
  static absl::StatusOr<Measurement> FromJson(const Json& j);
};

// Where a validation stands on measurement, as stored in its result JSON
// ("measurement": {"status": "measured", ...}).
enum class MeasureStatus {
  kMeasured,     // the numbers above were measured here
  kNotRunnable,  // not a bundle the server can run (a single file, ...)
  kFailed,       // a bundle that could not be run (or the set not built)
  kNotMeasured,  // older validations, imported ones: nothing recorded
};
absl::string_view ToString(MeasureStatus s);

// What validation learned about measuring one version: the measurement, or
// why there is none.
struct MeasureResult {
  MeasureStatus status = MeasureStatus::kNotMeasured;
  std::optional<Measurement> measurement;  // set when kMeasured
  std::string why;                         // when not measured
  Json ToJson() const;
};

// The "measurement" of a stored validation result (kNotMeasured when absent
// or unreadable).
MeasureResult MeasureResultOf(const Json& validation_result);

// True when a validation result was brought in by `spatial model import`
// (result.imported): history, never a validation this registry ran.
bool IsImportedValidation(const Json& validation_result);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_MEASUREMENT_H_
