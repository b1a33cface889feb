// The run's reports: reports/pipeline_report.json, reports/pipeline_junit.xml
// and reports/index.html (one self-contained page: inline CSS and SVG, no
// script, no network).
#ifndef SPATIAL_PIPELINE_REPORT_H_
#define SPATIAL_PIPELINE_REPORT_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "src/pipeline/runner.h"
#include "src/pipeline/stages.h"

namespace spatial::pipeline {

nlohmann::json PipelineReportJson(const PipelineConfig& c,
                                  const PipelineState& s,
                                  const std::vector<StageOutcome>& outcomes,
                                  double seconds, int exit_code);

// One testsuite, a testcase per stage (failure / error / skipped elements).
std::string PipelineJUnit(const std::vector<StageOutcome>& outcomes,
                          double seconds);

// The HTML page from the report JSON and the stage reports it names (bench,
// envtest, deployment canary, checks), read from disk.
std::string PipelineHtml(const nlohmann::json& report);

// Writes all three into <run>/reports/; the path of index.html.
absl::StatusOr<std::string> WriteReports(
    const PipelineConfig& c, const PipelineState& s,
    const std::vector<StageOutcome>& outcomes, double seconds, int exit_code);

}  // namespace spatial::pipeline

#endif  // SPATIAL_PIPELINE_REPORT_H_
