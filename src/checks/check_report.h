// CheckReport: the results of `spatial check`, by category and test, in the
// seed's report shape: {timestamp, duration, environment{...}, results{
// category{test: {status, value, threshold, reason}}}, summary{total, passed,
// failed, errors, skipped, deployment_ready}}. An error, or a skip of a
// required test, is never counted as a pass. Not thread-safe.
#ifndef SPATIAL_CHECKS_CHECK_REPORT_H_
#define SPATIAL_CHECKS_CHECK_REPORT_H_

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace spatial::checks {

enum class CheckStatus { kPassed, kFailed, kError, kSkipped };
const char* StatusName(CheckStatus s);  // "passed", "failed", ...

struct CheckResult {
  CheckStatus status = CheckStatus::kPassed;
  nlohmann::json value = nullptr;      // what was measured
  nlohmann::json threshold = nullptr;  // what it was held against
  std::string reason;                  // why, in words
  bool required = true;  // a skipped required test blocks deployment
};

// Shorthands for the common cases.
CheckResult Passed(nlohmann::json value, nlohmann::json threshold,
                   std::string reason);
CheckResult Failed(nlohmann::json value, nlohmann::json threshold,
                   std::string reason);
CheckResult Error(std::string reason);
CheckResult Skipped(std::string reason, bool required);
// Passed when `ok`, else Failed, with the same value/threshold/reason.
CheckResult Judge(bool ok, nlohmann::json value, nlohmann::json threshold,
                  std::string reason);

class CheckReport {
 public:
  void Add(const std::string& category, const std::string& test,
           CheckResult result);

  struct Summary {
    int total = 0, passed = 0, failed = 0, errors = 0, skipped = 0;
    int required_skipped = 0;
    bool deployment_ready() const {
      return failed == 0 && errors == 0 && required_skipped == 0 && total > 0;
    }
  };
  Summary summary() const;

  nlohmann::json ToJson(const std::string& timestamp, double duration_seconds,
                        const nlohmann::json& environment) const;
  // One line per test, grouped by category, then the summary.
  std::string ToText() const;

 private:
  // Insertion order, so that the report reads in the order tests ran.
  std::vector<
      std::pair<std::string, std::vector<std::pair<std::string, CheckResult>>>>
      categories_;
};

}  // namespace spatial::checks

#endif  // SPATIAL_CHECKS_CHECK_REPORT_H_
