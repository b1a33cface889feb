// k6-style pass/fail criteria on a load level, e.g. "p95<1500ms",
// "p99<=20ms", "error_rate<0.01", "rps>100", "max<2s". Pure.
//
// Metrics: p50 (med), p90, p95, p99, p99.9, max, min, mean (avg); k6's
// "p(95)" spelling is accepted too. Latency limits take a unit (ns, us, ms, s,
// m); a bare number is milliseconds, as in k6. error_rate is a fraction (0.01)
// or a percentage (1%); rps is answers per second. Operators: < <= > >=.
#ifndef SPATIAL_LOADTEST_THRESHOLD_H_
#define SPATIAL_LOADTEST_THRESHOLD_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "src/loadtest/result.h"

namespace spatial::loadtest {

enum class Metric { kQuantile, kMax, kMin, kMean, kErrorRate, kRps };
enum class Comparison { kLess, kLessEqual, kGreater, kGreaterEqual };

struct Threshold {
  std::string expression;  // as written, trimmed
  Metric metric = Metric::kQuantile;
  double quantile = 0;  // kQuantile: 0.95 for p95
  Comparison op = Comparison::kLess;
  double limit = 0;  // latency metrics: nanoseconds; else as written
};

// InvalidArgument naming the expression, what is wrong and a valid example.
absl::StatusOr<Threshold> ParseThreshold(absl::string_view expression);

struct ThresholdOutcome {
  std::string expression;
  int level = 0;        // index into the report's levels
  double observed = 0;  // in the threshold's unit (ns for latencies)
  double limit = 0;
  bool passed = false;
  bool latency = false;  // observed/limit are nanoseconds
};

// Checks `t` against one level. Latency thresholds on a level without any
// answer fail (there is nothing that could satisfy them).
ThresholdOutcome Evaluate(const Threshold& t, const LevelResult& level,
                          int level_index);

// Every threshold against every level, thresholds-major.
std::vector<ThresholdOutcome> EvaluateAll(
    const std::vector<Threshold>& thresholds,
    const std::vector<LevelResult>& levels);

}  // namespace spatial::loadtest

#endif  // SPATIAL_LOADTEST_THRESHOLD_H_
