// The validation rules of an environment, as a pure function of a version, the
// environment, the host, the artifact check and what was measured by running
// the version on the environment's evaluation set. No I/O; thread-safe.
#ifndef SPATIAL_REGISTRY_RULES_H_
#define SPATIAL_REGISTRY_RULES_H_

#include <optional>
#include <string>
#include <vector>

#include "src/registry/measurement.h"
#include "src/registry/model_version.h"

namespace spatial::registry {

// What validation knows of the host it runs on.
struct HostFacts {
  int gpu_count = 0;
  double gpu_memory_gb = 0;  // largest GPU's memory
  bool cuda_available = false;
};

enum class RuleOutcome { kPass, kWarn, kFail, kOverridden };
absl::string_view ToString(RuleOutcome o);

struct RuleResult {
  std::string rule;  // "artifact", "architecture", "memory", "measurement",
                     // "accuracy", "declared", "latency", "gpu",
                     // "signature" (where required)
  RuleOutcome outcome = RuleOutcome::kPass;
  std::string message;
  Json measured;  // null when unknown
  Json required;  // null when the environment sets no requirement
  Json declared;  // what the version declares (manifest, --metric); null if
                  // nothing
};

struct ValidationInput {
  const ModelVersion* version = nullptr;
  const Environment* environment = nullptr;
  HostFacts host;
  // Outcome of checking the stored artifact (present, checksum matches); an
  // error message when it failed.
  std::optional<std::string> artifact_error;
  // Non-empty: the operator accepts a CPU-only host where a GPU is required.
  std::string cpu_override_reason;
  // Where the environment requires a signature: the outcome of checking the
  // version's signatures against its trusted keys and files, an error message
  // when it failed. Unused where no signature is required.
  std::optional<std::string> signature_error;
  // The run of the version on the environment's evaluation set, or why there
  // was none.
  MeasureResult measure;
};

struct ValidationOutcome {
  bool valid = false;
  std::vector<RuleResult> rules;
  Json ToJson() const;
};

// Applies every rule. Accuracy and latency are judged on the measured values
// when there are any. Where measurement is required (MeasurementRequired:
// staging, production) a version that was not measured fails, and a declared
// accuracy further than DeclaredAccuracyTolerance from the measured one
// fails; in development the latter is a warning, and a version that cannot be
// run (not a bundle) is judged on its declared values with a warning. A
// bundle that could not be measured fails everywhere.
ValidationOutcome ApplyRules(const ValidationInput& in);

// environment.evaluation.required, else !validation_config.skip_heavy_tests.
bool MeasurementRequired(const Environment& env);
// environment.evaluation.declared_tolerance.accuracy, else 0.05: how far a
// declared accuracy may lie from the measured one (either way).
double DeclaredAccuracyTolerance(const Environment& env);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_RULES_H_
