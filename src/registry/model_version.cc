#include "src/registry/model_version.h"

#include "absl/strings/str_cat.h"

namespace spatial::registry {

absl::string_view ToString(ValidationStatus s) {
  switch (s) {
    case ValidationStatus::kPending:
      return "pending";
    case ValidationStatus::kValidated:
      return "validated";
    case ValidationStatus::kFailed:
      return "failed";
  }
  return "pending";
}

absl::StatusOr<ValidationStatus> ParseValidationStatus(absl::string_view s) {
  if (s == "pending") return ValidationStatus::kPending;
  if (s == "validated") return ValidationStatus::kValidated;
  if (s == "failed") return ValidationStatus::kFailed;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown validation_status '", s,
                   "' (expected pending, validated or failed)"));
}

absl::string_view ToString(DeploymentKind k) {
  return k == DeploymentKind::kRollback ? "rollback" : "promote";
}

}  // namespace spatial::registry
