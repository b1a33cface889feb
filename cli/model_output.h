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
std::string FormatTable(std::vector<std::vector<std::string>> rows);

// `active` maps environment -> active version id; `imported` version id ->
// the environments of its imported validations (shown as such).
std::string FormatVersionList(
    const std::vector<registry::ModelVersion>& versions,
    const std::map<std::string, std::string>& active,
    const std::map<std::string, std::vector<std::string>>& imported = {});
std::string FormatVersionInfo(
    const registry::ModelVersion& v,
    const std::vector<registry::ValidationRecord>& validations);
// The lines under one validation in `model info`: what was measured (beside
// what the version declares), or where an imported one came from.
std::string FormatValidationDetail(const registry::ModelVersion& v,
                                   const registry::ValidationRecord& r);
std::string FormatHistory(const std::vector<registry::DeploymentEvent>& events);
std::string FormatRollbackPlan(const registry::RollbackPlan& plan);
registry::Json EventToJson(const registry::DeploymentEvent& e);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_MODEL_OUTPUT_H_
