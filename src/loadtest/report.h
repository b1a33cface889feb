// Report: everything a `spatial bench` run measured, and its three renderings:
// JSON (complete), CSV (one row per level, perf_analyzer's column names where
// they apply, latencies in microseconds as perf_analyzer writes them) and a
// table for people. Pure; the renderings never fail.
#ifndef SPATIAL_LOADTEST_REPORT_H_
#define SPATIAL_LOADTEST_REPORT_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/loadtest/result.h"
#include "src/loadtest/threshold.h"

namespace spatial::loadtest {

struct Report {
  std::string url;
  std::string method;  // GET or POST
  std::string
      payload;  // e.g. "none", "raw body.bin (512 B)", "multipart 60 images"
  int threads = 0;
  double warmup_seconds = 0;
  std::vector<LevelResult> levels;
  std::vector<ThresholdOutcome> thresholds;

  // True when every threshold passed (or there are none).
  bool passed() const;
};

// "c=16" for a closed-loop level, "500/s poisson" for an open-loop one.
std::string LevelName(const LevelResult& level);

nlohmann::json ReportToJson(const Report& report);
std::string ReportToCsv(const Report& report);
std::string ReportToTable(const Report& report);

}  // namespace spatial::loadtest

#endif  // SPATIAL_LOADTEST_REPORT_H_
