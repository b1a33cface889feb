// Text renderings of registry objects for `spatial model` (tables and
// summaries a person reads); JSON output uses legacy_json directly.
#ifndef SPATIAL_CLI_MODEL_OUTPUT_H_
#define SPATIAL_CLI_MODEL_OUTPUT_H_

#include <map>
#include <string>
#include <vector>

#include "src/registry/model_version.h"
#include "src/registry/registry_service.h"

namespace spatial::cli {

// Left-aligned columns separated by two spaces; every cell escaped for the
// terminal (base::EscapeForTerminal).
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// `active` maps environment -> active version id.
std::string FormatVersionList(
    const std::vector<registry::ModelVersion>& versions,
    const std::map<std::string, std::string>& active);
std::string FormatVersionInfo(
    const registry::ModelVersion& v,
    const std::vector<registry::ValidationRecord>& validations);
std::string FormatHistory(const std::vector<registry::DeploymentEvent>& events);
std::string FormatRollbackPlan(const registry::RollbackPlan& plan);
registry::Json EventToJson(const registry::DeploymentEvent& e);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_MODEL_OUTPUT_H_
