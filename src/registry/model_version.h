// The registry's domain types: a model version, a deployment environment, a
// validation record and a deployment event. Plain values, no I/O; copyable and
// safe to share read-only between threads.
#ifndef SPATIAL_REGISTRY_MODEL_VERSION_H_
#define SPATIAL_REGISTRY_MODEL_VERSION_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace spatial::registry {

using Json = nlohmann::json;

enum class ValidationStatus { kPending, kValidated, kFailed };
absl::string_view ToString(ValidationStatus s);
absl::StatusOr<ValidationStatus> ParseValidationStatus(absl::string_view s);

// One file of an artifact as stored: its path relative to the artifact root
// (the file name for a single-file artifact), its sha256 and size.
struct ArtifactFile {
  std::string path;
  std::string sha256;
  uint64_t size = 0;
  bool operator==(const ArtifactFile&) const = default;
};

// A registered model version (the original `ModelVersion` dataclass plus the
// per-file digests and who registered it).
struct ModelVersion {
  std::string version_id;
  std::string model_type;  // "spatial-mllm" | "standard-cnn"
  std::string
      architecture;  // "dual-encoder" | "visual-encoder" | "spatial-encoder"
  std::string file_path;      // where it was registered from
  std::string creation_date;  // ISO 8601, UTC
  std::string
      checksum;  // sha256 hex of the file, or of the directory's file digests
  uint64_t size_bytes = 0;
  std::map<std::string, double> performance_metrics;
  Json compatibility_info = Json::object();  // "status": "known"|"unknown", ...
  std::vector<std::string> deployment_environments;  // validated for, sorted
  Json training_config = Json::object();
  ValidationStatus validation_status = ValidationStatus::kPending;
  std::vector<std::string> tags;
  std::string actor;
  bool is_directory =
      false;  // a directory artifact (model.onnx + manifest.json ...)
  std::vector<ArtifactFile>
      files;  // sorted by path; one entry for a file artifact

  double size_mb() const {
    return static_cast<double>(size_bytes) / (1024.0 * 1024.0);
  }
};

// A deployment environment with its rules, in the original JSON's terms.
struct Environment {
  std::string name;
  std::vector<std::string> supported_architectures;
  double memory_requirements_gb = 0;
  double min_gpu_memory_gb = 0;
  bool cuda_compatible = false;
  std::optional<double> min_accuracy;  // performance_requirements.accuracy
  std::optional<double>
      max_inference_time_ms;  // performance_requirements.inference_time_ms
  bool skip_heavy_tests = false;
  bool allow_cpu_only = false;
  Json extra = Json::object();  // fields of ours beyond the original format

  // A GPU is required when the environment does not allow CPU-only hosts.
  bool gpu_required() const { return !allow_cpu_only; }
  // extra.require_signature: validation, promotion and serving need a valid
  // signature by one of extra.trusted_keys (src/security/policy.h).
  bool requires_signature() const {
    auto it = extra.find("require_signature");
    return it != extra.end() && it->is_boolean() && it->get<bool>();
  }
};

// The file of a bundle directory that holds its signature (a DSSE envelope);
// it is not part of the model's files.
inline constexpr const char* kSignatureFile = "model.sig";

// A signature of a registered version: the DSSE envelope JSON as signed, by
// which key, who stored it and when. One per (version, key).
struct StoredSignature {
  std::string version_id;
  std::string key_id;
  std::string envelope;  // DSSE JSON (src/security/dsse.h)
  std::string actor;
  std::string signed_at;  // ISO 8601, when it was stored
  bool operator==(const StoredSignature&) const = default;
};

// The stored outcome of `validate` for one (version, environment).
struct ValidationRecord {
  std::string version_id;
  std::string environment;
  bool valid = false;
  Json result = Json::object();  // every rule's outcome
  std::string override_reason;   // --allow-cpu-override, "" if none
  std::string actor;
  std::string validated_at;  // ISO 8601
};

enum class DeploymentKind { kPromote, kRollback };
absl::string_view ToString(DeploymentKind k);

// One change of the active version of an environment.
struct DeploymentEvent {
  int64_t seq = 0;  // commit order, assigned by the registry
  std::string environment;
  std::string version_id;
  std::string previous_version_id;  // "" when nothing was active
  DeploymentKind kind = DeploymentKind::kPromote;
  std::string actor;
  std::string reason;
  std::string created_at;  // ISO 8601
  // Activate only: when set, the version that must be active ("" for none)
  // for the change to be made. Not stored; empty in what is read back.
  std::optional<std::string> expect_active;
};

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_MODEL_VERSION_H_
