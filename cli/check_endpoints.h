// The "endpoints" category of `spatial check`: envtest's API tests (every
// endpoint, response schemas, the bad inputs) against a server this command
// starts with the bundles being checked, or against `--server`.
#ifndef SPATIAL_CLI_CHECK_ENDPOINTS_H_
#define SPATIAL_CLI_CHECK_ENDPOINTS_H_

#include <string>
#include <vector>

#include "src/checks/check_report.h"
#include "src/registry/model_version.h"

namespace spatial::cli {

// `server`: "" to start one, else http://127.0.0.1:PORT (loopback only).
void CheckEndpoints(const std::string& server, const registry::Environment& env,
                    const std::vector<std::string>& model_dirs,
                    checks::CheckReport* report);

}  // namespace spatial::cli

#endif  // SPATIAL_CLI_CHECK_ENDPOINTS_H_
