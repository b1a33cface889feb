#include "src/registry/migrate.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "src/base/status_macros.h"
#include "src/registry/legacy_json.h"

namespace spatial::registry {
namespace {

// Everything a record holds, seq aside (the target numbers its own history).
Json ToComparable(const ValidationRecord& r) {
  return {{"version_id", r.version_id},
          {"environment", r.environment},
          {"valid", r.valid},
          {"result", r.result},
          {"override_reason", r.override_reason},
          {"actor", r.actor},
          {"validated_at", r.validated_at}};
}

Json ToComparable(const DeploymentEvent& e) {
  return {{"environment", e.environment},
          {"version_id", e.version_id},
          {"previous_version_id", e.previous_version_id},
          {"kind", ToString(e.kind)},
          {"actor", e.actor},
          {"reason", e.reason},
          {"created_at", e.created_at}};
}

template <typename T, typename ToJson>
absl::Status CompareLists(absl::string_view what, const std::vector<T>& want,
                          const std::vector<T>& got, ToJson to_json) {
  if (want.size() != got.size()) {
    return absl::DataLossError(absl::StrCat(
        "the copy has ", got.size(), " ", what, ", the source ", want.size()));
  }
  for (size_t i = 0; i < want.size(); ++i) {
    Json w = to_json(want[i]);
    Json g = to_json(got[i]);
    if (w != g) {
      return absl::DataLossError(absl::StrCat(what, " #", i + 1,
                                              " differs: source ", w.dump(),
                                              ", copy ", g.dump()));
    }
  }
  return absl::OkStatus();
}

absl::Status Verify(const RegistrySnapshot& want, Registry& to) {
  ASSIGN_OR_RETURN(auto envs, to.ListEnvironments());
  std::map<std::string, Json> got_envs;
  for (const auto& e : envs) got_envs[e.name] = EnvironmentToJson(e);
  for (const auto& e : want.environments) {
    auto it = got_envs.find(e.name);
    if (it == got_envs.end() || it->second != EnvironmentToJson(e)) {
      return absl::DataLossError(
          absl::StrCat("environment ", e.name, " did not copy as it was"));
    }
  }
  ASSIGN_OR_RETURN(auto versions, to.ListVersions());
  RETURN_IF_ERROR(
      CompareLists("versions", want.versions, versions,
                   [](const ModelVersion& v) { return VersionToJson(v); }));
  ASSIGN_OR_RETURN(auto validations, to.ListValidations(""));
  RETURN_IF_ERROR(
      CompareLists("validations", want.validations, validations,
                   [](const ValidationRecord& r) { return ToComparable(r); }));
  ASSIGN_OR_RETURN(auto history, to.History(""));
  RETURN_IF_ERROR(
      CompareLists("deployments", want.deployments, history,
                   [](const DeploymentEvent& e) { return ToComparable(e); }));
  std::vector<StoredSignature> signatures;
  for (const auto& v : want.versions) {
    ASSIGN_OR_RETURN(auto sigs, to.ListSignatures(v.version_id));
    signatures.insert(signatures.end(), sigs.begin(), sigs.end());
  }
  return CompareLists("signatures", want.signatures, signatures,
                      [](const StoredSignature& s) {
                        return Json{{"version_id", s.version_id},
                                    {"key_id", s.key_id},
                                    {"envelope", s.envelope},
                                    {"actor", s.actor},
                                    {"signed_at", s.signed_at}};
                      });
}

}  // namespace

absl::StatusOr<MigrationSummary> MigrateRegistry(Registry& from, Registry& to) {
  ASSIGN_OR_RETURN(auto existing, to.ListVersionIds());
  ASSIGN_OR_RETURN(auto existing_history, to.History(""));
  if (!existing.empty() || !existing_history.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        to.Describe(), " already holds ", existing.size(), " version(s) and ",
        existing_history.size(),
        " deployment(s); migrate copies into an empty registry only"));
  }
  RegistrySnapshot snap;
  ASSIGN_OR_RETURN(snap.environments, from.ListEnvironments());
  ASSIGN_OR_RETURN(snap.versions, from.ListVersions());
  ASSIGN_OR_RETURN(snap.validations, from.ListValidations(""));
  ASSIGN_OR_RETURN(snap.deployments, from.History(""));
  for (const auto& v : snap.versions) {
    ASSIGN_OR_RETURN(auto sigs, from.ListSignatures(v.version_id));
    snap.signatures.insert(snap.signatures.end(), sigs.begin(), sigs.end());
  }
  snap.actor = "migrate";
  RETURN_IF_ERROR(to.Import(snap));
  absl::Status check = Verify(snap, to);
  if (!check.ok()) {
    return absl::DataLossError(absl::StrCat(
        "the copy in ", to.Describe(), " does not match ", from.Describe(),
        ": ", check.message(),
        " (the copy was written; inspect it or drop it and retry)"));
  }
  return MigrationSummary{static_cast<int>(snap.environments.size()),
                          static_cast<int>(snap.versions.size()),
                          static_cast<int>(snap.validations.size()),
                          static_cast<int>(snap.deployments.size())};
}

}  // namespace spatial::registry
