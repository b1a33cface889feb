// The validation rules of an environment, as a pure function of a version, the
// environment, the host and the artifact check. No I/O; thread-safe.
#ifndef SPATIAL_REGISTRY_RULES_H_
#define SPATIAL_REGISTRY_RULES_H_

#include <optional>
#include <string>
#include <vector>

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
  std::string rule;  // "artifact", "architecture", "memory", "accuracy",
                     // "latency", "gpu", "signature" (where required)
  RuleOutcome outcome = RuleOutcome::kPass;
  std::string message;
  Json measured;  // null when unknown
  Json required;  // null when the environment sets no requirement
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
};

struct ValidationOutcome {
  bool valid = false;
  std::vector<RuleResult> rules;
  Json ToJson() const;
};

// Applies every rule. A rule whose measurement is missing fails where the
// environment does not skip heavy tests (staging, production) and warns
// where it does (development).
ValidationOutcome ApplyRules(const ValidationInput& in);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_RULES_H_
