// envtest's reports: the JSON report (per environment, per test: status,
// reason, measured value, threshold), JUnit XML (a testsuite per environment,
// a testcase per test, <failure> for failures and errors alike) and the table
// a person reads. Pure.
#ifndef SPATIAL_ENVTEST_REPORT_H_
#define SPATIAL_ENVTEST_REPORT_H_

#include <string>

#include "nlohmann/json.hpp"
#include "src/envtest/result.h"

namespace spatial::envtest {

nlohmann::json ReportJson(const RunResult& run);
std::string JunitXml(const RunResult& run);
std::string SummaryTable(const RunResult& run);

// Escapes text for an XML attribute or element.
std::string XmlEscape(const std::string& text);

}  // namespace spatial::envtest

#endif  // SPATIAL_ENVTEST_REPORT_H_
