// What an environment asks of a deployment, as envtest checks it: the
// accuracy floor and latency limit of performance_requirements, and the load
// profile (our "load_profile" key of config/environments.json, kept in
// Environment::extra so that the registry's files round-trip it).
#ifndef SPATIAL_ENVTEST_TARGETS_H_
#define SPATIAL_ENVTEST_TARGETS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "src/registry/model_version.h"

namespace spatial::envtest {

// "load_profile": {"rate": 40, "duration_s": 3, "warmup_s": 0.5,
//   "concurrency": 8, "max_error_rate": 0.05, "availability": 0.95}
struct LoadProfile {
  double rate = 0;        // requests per second, open loop (> 0)
  double duration_s = 0;  // measured seconds (> 0)
  double warmup_s = 0;    // excluded from the figures
  int concurrency = 8;    // connections the open loop may use
  double max_error_rate = 0;
  double availability = 1;  // successful / sent must reach this
};

struct Targets {
  std::string environment;
  std::optional<double> min_accuracy;
  std::optional<double> max_latency_ms;
  std::optional<LoadProfile> load;  // absent: the performance tests error
};

// InvalidArgument naming the field when load_profile is malformed.
absl::StatusOr<Targets> TargetsFor(const registry::Environment& env);

}  // namespace spatial::envtest

#endif  // SPATIAL_ENVTEST_TARGETS_H_
