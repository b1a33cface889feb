// Conversion between our types and the original project's two JSON files,
// models/model_versions.json and models/deployment_environments.json. The
// parsers are strict: a file of another shape is refused with a message that
// names the entry and field. Pure functions, thread-safe.
#ifndef SPATIAL_REGISTRY_LEGACY_JSON_H_
#define SPATIAL_REGISTRY_LEGACY_JSON_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/registry/model_version.h"

namespace spatial::registry {

Json EnvironmentToJson(const Environment& e);
// `where` names the source in error messages (e.g. a file name).
absl::StatusOr<Environment> EnvironmentFromJson(const Json& j,
                                                absl::string_view where);

// name -> environment, the shape of deployment_environments.json and of
// config/environments.json.
Json EnvironmentsToJson(const std::vector<Environment>& envs);
absl::StatusOr<std::vector<Environment>> EnvironmentsFromJson(
    const Json& j, absl::string_view where);

// One entry of model_versions.json. Our extra fields (files, actor) live under
// "spatial_deploy" so that the original dataclass still loads the entry.
Json VersionToJson(const ModelVersion& v);
absl::StatusOr<ModelVersion> VersionFromJson(const Json& j,
                                             absl::string_view where);

Json VersionsToJson(const std::vector<ModelVersion>& versions);
absl::StatusOr<std::vector<ModelVersion>> VersionsFromJson(
    const Json& j, absl::string_view where);

// Parses text as JSON; InvalidArgument naming `where` and the byte offset.
absl::StatusOr<Json> ParseJson(absl::string_view text, absl::string_view where);

}  // namespace spatial::registry

#endif  // SPATIAL_REGISTRY_LEGACY_JSON_H_
