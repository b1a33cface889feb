// The outcome of envtest's checks: one TestResult per check, grouped per
// environment. Plain data; the report writers read it.
#ifndef SPATIAL_ENVTEST_RESULT_H_
#define SPATIAL_ENVTEST_RESULT_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace spatial::envtest {

enum class TestStatus { kPassed, kFailed, kError };
// "passed", "failed", "error".
const char* StatusName(TestStatus s);

struct TestResult {
  std::string category;  // "api", "classification", "performance"
  std::string name;      // e.g. "GET /health", "accuracy", "p95_latency"
  TestStatus status = TestStatus::kPassed;
  std::string reason;  // why it failed or erred; what was checked if passed
  nlohmann::json measured = nullptr;
  nlohmann::json threshold = nullptr;
  nlohmann::json details = nullptr;  // e.g. the confusion matrix
  double seconds = 0;

  bool ok() const { return status == TestStatus::kPassed; }
};

struct EnvironmentResult {
  std::string environment;
  int port = 0;
  int pid = 0;
  std::string setup_error;  // the server did not start: every test is an error
  std::vector<TestResult> tests;

  int failures() const;  // failed + error
};

struct RunResult {
  std::vector<EnvironmentResult> environments;
  std::string started_at;  // ISO 8601
  double seconds = 0;
  bool interrupted = false;

  int failures() const;
  int tests() const;
};

}  // namespace spatial::envtest

#endif  // SPATIAL_ENVTEST_RESULT_H_
