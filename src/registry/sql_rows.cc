#include "src/registry/sql_rows.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "src/base/text.h"
#include "src/registry/legacy_json.h"

namespace spatial::registry::sql {

Json ParseStored(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? Json(nullptr) : j;
}

VersionColumns ToColumns(const ModelVersion& v) {
  Json metrics = Json::object();
  for (const auto& [k, val] : v.performance_metrics) metrics[k] = val;
  VersionColumns c;
  c.id = v.version_id;
  c.model_type = v.model_type;
  c.architecture = v.architecture;
  c.file_path = v.file_path;
  c.creation_date = v.creation_date;
  c.checksum = v.checksum;
  c.size_bytes = static_cast<int64_t>(v.size_bytes);
  c.metrics = metrics.dump();
  c.compatibility = v.compatibility_info.dump();
  c.training_config = v.training_config.dump();
  c.tags = Json(v.tags).dump();
  c.validation_status = std::string{ToString(v.validation_status)};
  c.actor = v.actor;
  c.is_directory = v.is_directory;
  return c;
}

ModelVersion FromColumns(VersionColumns c) {
  ModelVersion v;
  v.version_id = std::move(c.id);
  v.model_type = std::move(c.model_type);
  v.architecture = std::move(c.architecture);
  v.file_path = std::move(c.file_path);
  v.creation_date = std::move(c.creation_date);
  v.checksum = std::move(c.checksum);
  v.size_bytes = static_cast<uint64_t>(c.size_bytes);
  Json metrics = ParseStored(c.metrics);
  if (metrics.is_object()) {
    for (const auto& [k, val] : metrics.items()) {
      if (val.is_number()) v.performance_metrics[k] = val.get<double>();
    }
  }
  v.compatibility_info = ParseStored(c.compatibility);
  v.training_config = ParseStored(c.training_config);
  Json tags = ParseStored(c.tags);
  if (tags.is_array()) {
    for (const auto& t : tags) {
      if (t.is_string()) v.tags.push_back(t.get<std::string>());
    }
  }
  v.validation_status = ParseValidationStatus(c.validation_status)
                            .value_or(ValidationStatus::kPending);
  v.actor = std::move(c.actor);
  v.is_directory = c.is_directory;
  return v;
}

absl::Status UnknownVersion(absl::string_view id,
                            const std::vector<std::string>& known) {
  return absl::NotFoundError(absl::StrCat("unknown version id '", id, "'",
                                          base::DidYouMean(id, known)));
}

absl::Status UnknownEnvironment(absl::string_view name,
                                const std::vector<std::string>& known) {
  return absl::NotFoundError(
      absl::StrCat("unknown environment '", name,
                   "' (known: ", absl::StrJoin(known, ", "), ")"));
}

absl::Status AlreadyRegistered(absl::string_view id,
                               absl::string_view existing_checksum,
                               absl::string_view checksum) {
  return absl::AlreadyExistsError(absl::StrCat(
      "version '", id, "' is already registered",
      existing_checksum == checksum
          ? " with the same checksum"
          : absl::StrCat(" with another checksum (", existing_checksum,
                         "); choose a new version id")));
}

absl::Status NotValidated(absl::string_view id, absl::string_view environment,
                          bool last_validation_failed) {
  return absl::FailedPreconditionError(absl::StrCat(
      "version '", id, "' is not validated for ", environment,
      last_validation_failed ? " (its last validation failed)" : "",
      "; run: spatial model validate ", id, " --environment ", environment));
}

absl::Status AlreadyActive(absl::string_view id,
                           absl::string_view environment) {
  return absl::FailedPreconditionError(
      absl::StrCat("version '", id, "' is already active in ", environment));
}

absl::Status ActiveChanged(const DeploymentEvent& e, absl::string_view active) {
  auto name = [](absl::string_view id) {
    return id.empty() ? std::string("nothing") : absl::StrCat("'", id, "'");
  };
  return absl::AbortedError(absl::StrCat(
      "the active version of ", e.environment, " changed meanwhile: expected ",
      name(e.expect_active.value_or("")), ", it is now ", name(active),
      "; did not make '", e.version_id, "' active"));
}

absl::Status ImportChecksumConflict(absl::string_view id,
                                    absl::string_view existing_checksum,
                                    absl::string_view checksum) {
  return absl::AlreadyExistsError(
      absl::StrCat("import refused: version '", id, "' exists with checksum ",
                   existing_checksum, ", the import has ", checksum,
                   "; nothing was imported"));
}

absl::Status ImportHistoryBreaksChain(const DeploymentEvent& e,
                                      absl::string_view active) {
  return absl::FailedPreconditionError(absl::StrCat(
      "import refused: the deployment of '", e.version_id, "' to ",
      e.environment, " follows '", e.previous_version_id, "' but '", active,
      "' is active there; nothing was imported"));
}

absl::Status ImportDeploymentRefused(const DeploymentEvent& e,
                                     absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat("import refused: deployment of '", e.version_id, "' to '",
                   e.environment, "': ", why, "; nothing was imported"));
}

absl::Status ImportValidationRefused(const ValidationRecord& r,
                                     absl::string_view why) {
  return absl::FailedPreconditionError(
      absl::StrCat("import refused: validation of '", r.version_id, "' for '",
                   r.environment, "': ", why, "; nothing was imported"));
}

AuditNote RegisterNote(const ModelVersion& v) {
  return {v.actor,
          "register",
          v.version_id,
          {{"checksum", v.checksum},
           {"files", v.files.size()},
           {"size_bytes", v.size_bytes}}};
}

AuditNote PutEnvironmentNote(const Environment& e) {
  return {"", "environment.put", e.name, {{"spec", EnvironmentToJson(e)}}};
}

AuditNote ValidateNote(const ValidationRecord& r) {
  return {r.actor,
          "validate",
          r.version_id,
          {{"environment", r.environment},
           {"valid", r.valid},
           {"override_reason", r.override_reason}}};
}

AuditNote ActivateNote(const DeploymentEvent& e) {
  return {e.actor,
          std::string(ToString(e.kind)),
          e.version_id,
          {{"environment", e.environment},
           {"previous_version_id", e.previous_version_id},
           {"reason", e.reason}}};
}

AuditNote ImportNote(const RegistrySnapshot& snapshot,
                     const std::vector<std::string>& versions_added) {
  Json envs = Json::array();
  for (const auto& e : snapshot.environments) envs.push_back(e.name);
  return {snapshot.actor,
          "import",
          "",
          {{"environments", envs},
           {"versions_added", versions_added},
           {"validations", snapshot.validations.size()},
           {"deployments", snapshot.deployments.size()},
           {"signatures", snapshot.signatures.size()}}};
}

AuditNote SignNote(const StoredSignature& s) {
  return {s.actor, "sign", s.version_id, {{"key_id", s.key_id}}};
}

}  // namespace spatial::registry::sql
