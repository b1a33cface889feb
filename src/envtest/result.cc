#include "src/envtest/result.h"

namespace spatial::envtest {

const char* StatusName(TestStatus s) {
  switch (s) {
    case TestStatus::kPassed:
      return "passed";
    case TestStatus::kFailed:
      return "failed";
    case TestStatus::kError:
      return "error";
  }
  return "error";
}

int EnvironmentResult::failures() const {
  int n = 0;
  for (const TestResult& t : tests) n += !t.ok();
  return n;
}

int RunResult::failures() const {
  int n = 0;
  for (const EnvironmentResult& e : environments) n += e.failures();
  return n;
}

int RunResult::tests() const {
  int n = 0;
  for (const EnvironmentResult& e : environments)
    n += static_cast<int>(e.tests.size());
  return n;
}

}  // namespace spatial::envtest
