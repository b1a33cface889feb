// Measures a model bundle on an evaluation set the way the server runs it:
// the same Classifier (OpenCV DNN, one thread), decoding and preprocessing,
// one image per inference. What `spatial model validate` records
// (src/registry/measurement.h). Not thread-safe: run one measurement at a
// time (it sets OpenCV to one thread, as the server does).
#ifndef SPATIAL_VALIDATION_MEASURE_H_
#define SPATIAL_VALIDATION_MEASURE_H_

#include <string>

#include "absl/status/statusor.h"
#include "src/registry/artifact_store.h"
#include "src/registry/measurement.h"
#include "src/validation/evaluation_set.h"

namespace spatial::validation {

// Runs every image of `set` through the bundle in `bundle_dir`. Accuracy and
// per-class recall over the set; latency p50/p95 of decode + preprocess +
// inference per image at batch 1 after one warm-up image. FailedPrecondition
// when the bundle cannot be opened or its classes are not the set's.
absl::StatusOr<registry::Measurement> MeasureBundle(
    const std::string& bundle_dir, const EvaluationSet& set);

// The RegistryService::Options::measure of the CLI: builds the environment's
// set (SpecOf, BuildSet), unpacks the version's verified files from the store
// into a private temporary directory (removed afterwards) and measures them.
absl::StatusOr<registry::Measurement> MeasureVersion(
    const registry::ArtifactStore& store, const registry::ModelVersion& v,
    const registry::Environment& env);

// "HOSTNAME, CPU MODEL, N cores".
std::string DescribeHost();

}  // namespace spatial::validation

#endif  // SPATIAL_VALIDATION_MEASURE_H_
