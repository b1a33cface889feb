// The pipeline's engine: stages with names and explicit dependencies, run in
// dependency order. A stage whose dependency failed (or was skipped because of
// a failure further up) is skipped with that reason; independent stages still
// run; the run's exit code is non-zero when anything failed. Progress goes to
// a stream, one line per stage.
#ifndef SPATIAL_PIPELINE_RUNNER_H_
#define SPATIAL_PIPELINE_RUNNER_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "src/pipeline/subprocess.h"

namespace spatial::pipeline {

enum class StageStatus { kPassed, kFailed, kSkipped, kError };
const char* StatusName(StageStatus s);

struct StageResult {
  StageStatus status = StageStatus::kError;
  std::string reason;       // why it failed, erred or was skipped
  std::string log_path;     // "" when the stage wrote no log
  std::string report_path;  // "" when the stage wrote no report
  double seconds = 0;       // filled in by the Runner
  // What the stage found, for the run's reports (e.g. model-validation's
  // measurement beside the declared values); null when nothing.
  nlohmann::json details;

  static StageResult Passed(std::string reason = "");
  static StageResult Failed(std::string reason);
  static StageResult Skipped(std::string reason);
  static StageResult Error(std::string reason);
};

struct Stage {
  std::string name;               // unique, e.g. "model-validation"
  std::vector<std::string> deps;  // names of stages that must pass first
  std::function<StageResult()> run;
  // Non-empty: not run, recorded as skipped for this reason (e.g. not
  // selected by --stages); such a skip does not block dependants.
  std::string skip_reason;
};

struct StageOutcome {
  std::string name;
  int position = 0;  // 1-based, in run order
  StageResult result;
  // Failed, erred, or skipped because a dependency was blocked: dependants
  // are then skipped too.
  bool blocked = false;
};

class Runner {
 public:
  explicit Runner(std::ostream* progress) : progress_(progress) {}

  // InvalidArgument for an empty or duplicate name or a missing run function.
  absl::Status Add(Stage stage);

  // Runs every stage in dependency order (insertion order among the ready).
  // InvalidArgument for an unknown dependency or a cycle, before running
  // anything. A dependency that was not run (skip_reason) does not block.
  absl::StatusOr<std::vector<StageOutcome>> Run();

 private:
  std::ostream* progress_;
  std::vector<Stage> stages_;
};

// 0 when every outcome passed or was skipped without a failure behind it;
// 130 when interrupted; 1 otherwise.
int ExitCodeFor(const std::vector<StageOutcome>& outcomes);

// A stage result from a finished command: passed on exit 0, failed on
// another exit code, error when it could not run or timed out.
StageResult FromCommand(const absl::StatusOr<CommandResult>& r,
                        const std::string& what, const std::string& log_path);

}  // namespace spatial::pipeline

#endif  // SPATIAL_PIPELINE_RUNNER_H_
