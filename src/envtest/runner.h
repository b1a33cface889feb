// RunSuite: envtest's selected check groups against the running server of
// each environment, in order, stopping early (the rest unrun) when `cancel`
// is set. Talks to the servers over HTTP only.
#ifndef SPATIAL_ENVTEST_RUNNER_H_
#define SPATIAL_ENVTEST_RUNNER_H_

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "src/envtest/checks.h"
#include "src/envtest/fleet.h"
#include "src/envtest/result.h"
#include "src/envtest/targets.h"

namespace spatial::envtest {

struct SuiteOptions {
  bool api = true;
  bool classification = true;
  bool performance = true;
  ClassificationOptions classification_options;
  std::function<void(const std::string&)> log;  // progress lines; may be null
};

// `servers` holds one running server per target, matched by environment name;
// a target without a ready one gets a setup error (the reason from
// `setup_errors` when given). Fills every field of RunResult except
// started_at and seconds.
RunResult RunSuite(const std::vector<Targets>& targets,
                   const std::vector<ServerRecord>& servers,
                   const std::map<std::string, std::string>& setup_errors,
                   const SuiteOptions& options,
                   const std::atomic<bool>& cancel);

}  // namespace spatial::envtest

#endif  // SPATIAL_ENVTEST_RUNNER_H_
