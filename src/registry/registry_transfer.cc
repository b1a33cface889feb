// RegistryService's transfer of the original tooling's two JSON files:
// Export writes them; Import reads them, checks every artifact before any is
// stored (src/registry/import_artifacts.h) and keeps the file's validations
// as history only.
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "src/base/files.h"
#include "src/base/status_macros.h"
#include "src/base/text.h"
#include "src/registry/import_artifacts.h"
#include "src/registry/legacy_json.h"
#include "src/registry/registry_service.h"

namespace spatial::registry {
namespace fs = std::filesystem;
namespace {

constexpr const char* kVersionsFile = "model_versions.json";
constexpr const char* kEnvironmentsFile = "deployment_environments.json";

}  // namespace

absl::Status RegistryService::Export(const std::string& dir) {
  ASSIGN_OR_RETURN(auto versions, options_.registry->ListVersions());
  ASSIGN_OR_RETURN(auto envs, options_.registry->ListEnvironments());
  RETURN_IF_ERROR(base::MakeDirs(dir));
  RETURN_IF_ERROR(
      base::WriteFileAtomic(absl::StrCat(dir, "/", kVersionsFile),
                            VersionsToJson(versions).dump(2) + "\n"));
  return base::WriteFileAtomic(absl::StrCat(dir, "/", kEnvironmentsFile),
                               EnvironmentsToJson(envs).dump(2) + "\n");
}

absl::StatusOr<ImportSummary> RegistryService::Import(
    const std::string& dir, const std::string& actor,
    const ImportOptions& options) {
  std::string versions_path = absl::StrCat(dir, "/", kVersionsFile);
  std::string envs_path = absl::StrCat(dir, "/", kEnvironmentsFile);
  RegistrySnapshot snapshot;
  snapshot.actor = actor;
  ImportSummary summary;
  // Parse everything before touching the registry: a bad file changes nothing.
  if (fs::exists(envs_path)) {
    ASSIGN_OR_RETURN(std::string text, base::ReadFile(envs_path));
    ASSIGN_OR_RETURN(Json j, ParseJson(text, envs_path));
    ASSIGN_OR_RETURN(snapshot.environments, EnvironmentsFromJson(j, envs_path));
  }
  auto versions_text = base::ReadFile(versions_path);
  if (!versions_text.ok()) {
    return absl::NotFoundError(absl::StrCat("cannot import from ", dir, ": ",
                                            versions_text.status().message()));
  }
  // An import never changes who an environment trusts or whether it requires
  // signatures: that is `spatial keys trust/untrust`, audited on its own.
  for (auto& e : snapshot.environments) {
    auto existing = options_.registry->GetEnvironment(e.name);
    if (!existing.ok()) continue;
    for (const char* key : {"require_signature", "trusted_keys"}) {
      if (existing->extra.contains(key)) {
        e.extra[key] = existing->extra[key];
      } else {
        e.extra.erase(key);
      }
    }
  }
  ASSIGN_OR_RETURN(Json vj, ParseJson(*versions_text, versions_path));
  ASSIGN_OR_RETURN(snapshot.versions, VersionsFromJson(vj, versions_path));
  summary.environments = static_cast<int>(snapshot.environments.size());
  // Every conflict is found before any artifact is copied into the store.
  std::set<std::string> already_there;
  for (const auto& v : snapshot.versions) {
    auto existing = options_.registry->GetVersion(v.version_id);
    if (!existing.ok()) continue;
    if (existing->checksum != v.checksum) {
      return absl::AlreadyExistsError(absl::StrCat(
          "import refused: version '", v.version_id, "' exists with checksum ",
          existing->checksum, ", the import has ", v.checksum,
          "; nothing was imported"));
    }
    already_there.insert(v.version_id);
  }
  // Every artifact is checked (hashed, nothing written) before any is copied,
  // and what is copied is removed again when the registry refuses the import.
  std::vector<ModelVersion> fresh;
  for (const auto& v : snapshot.versions) {
    if (!already_there.count(v.version_id)) fresh.push_back(v);
  }
  ASSIGN_OR_RETURN(ImportedArtifacts artifacts,
                   ImportedArtifacts::Check(store_, dir, options, fresh));
  RETURN_IF_ERROR(artifacts.Store(snapshot.versions));
  summary.missing_artifacts = artifacts.missing();
  for (auto& v : snapshot.versions) {
    if (already_there.count(v.version_id)) {
      ++summary.versions_unchanged;
      continue;
    }
    ++summary.versions_added;
    // What the file says was validated is kept as history: marked imported,
    // not valid here (it counts for no promotion, rollback or `latest`),
    // recorded as imported by this actor now, with the claim beside it.
    const std::string now = base::FormatIso8601(absl::Now());
    for (const auto& env : v.deployment_environments) {
      ValidationRecord r;
      r.version_id = v.version_id;
      r.environment = env;
      r.valid = false;
      r.result = {{"valid", false},
                  {"imported", true},
                  {"imported_from", versions_path},
                  {"claimed",
                   {{"valid", true},
                    {"validated_for", env},
                    {"actor", v.actor},
                    {"at", v.creation_date}}},
                  {"measurement",
                   MeasureResult{.why = "imported: never run by this registry"}
                       .ToJson()}};
      r.actor = actor;
      r.validated_at = now;
      snapshot.validations.push_back(std::move(r));
    }
    v.deployment_environments.clear();
    if (v.validation_status == ValidationStatus::kValidated)
      v.validation_status = ValidationStatus::kPending;
  }
  if (absl::Status s = options_.registry->Import(snapshot); !s.ok()) {
    artifacts.Undo();
    return s;
  }
  return summary;
}

}  // namespace spatial::registry
